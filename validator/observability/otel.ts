// The OpenTelemetry SDK behind Tracing, loaded only when TOLLGATE_TRACING=otlp (start-tracing.ts requires
// this file then; nothing else imports it). Spans go out over OTLP/HTTP in batches; the exporter
// reads OTEL_EXPORTER_OTLP_* and the resource OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES itself.
// The sampler and batch settings (OTEL_TRACES_SAMPLER[_ARG], OTEL_BSP_*) are read here, because
// this SDK line (sdk-trace 3) no longer reads them from the environment.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { SpanAttributes, Tracing } from './tracing';

/** The running decision's span; `done` once it ended (timers started inside it outlive it). */
interface Active {
  span: Span;
  done: boolean;
}

function clean(a: SpanAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const k in a) if (a[k] !== undefined) out[k] = a[k]!;
  return out;
}

/** The OTEL_TRACES_SAMPLER of the specification (default parentbased_always_on). */
function samplerFrom(env: NodeJS.ProcessEnv, log: Logger): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      log.warn({ sampler: name }, 'OTEL_TRACES_SAMPLER not supported here; using parentbased_always_on');
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** A positive integer OTEL_BSP_* value, else undefined (the processor's default). */
function positive(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const n = Number(env[name]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** A URL as a span may show it: no user name, password, query or fragment. */
function safeUrl(input: unknown): string {
  try {
    const u = new URL(input instanceof Request ? input.url : String(input));
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString();
  } catch {
    return '';
  }
}

/** Error type for a failed stage: a code or class name, never a message (it could quote anything). */
function errorType(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : ((e as Error)?.name ?? 'Error');
}

export function createOtelTracing(log: Logger, env: NodeJS.ProcessEnv): Tracing {
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (service.version, deployment.environment…) win.
  const resource = resourceFromAttributes({ 'service.name': 'tollgate' }).merge(detectResources({ detectors: [envDetector] }));
  const processor = new BatchSpanProcessor({
    exporter: new OTLPTraceExporter(),
    scheduledDelayMillis: positive(env, 'OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: positive(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: positive(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: positive(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  });
  const provider = new TracerProvider({ resource, sampler: samplerFrom(env, log), spanProcessors: [processor] });
  const tracer = provider.getTracer('tollgate');
  // The running decision, without registering a global context manager: only our spans nest.
  const active = new AsyncLocalStorage<Active>();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
  log.info({ endpoint }, 'tracing on: OpenTelemetry spans exported over OTLP/HTTP');

  const stage: Tracing['stage'] = (name, attributes, fn) => {
    const parent = active.getStore();
    const ctx = parent && !parent.done ? trace.setSpan(ROOT_CONTEXT, parent.span) : ROOT_CONTEXT;
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes: clean(attributes) }, ctx);
    const handle = { set: (a: SpanAttributes) => void span.setAttributes(clean(a)) };
    return fn(handle).then(
      (r) => {
        span.end();
        return r;
      },
      (e: unknown) => {
        span.setAttribute('error.type', errorType(e));
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        throw e;
      },
    );
  };

  return {
    decision(parent, attributes, fn, describe, ids) {
      const ctx = parent
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: parent.traceId,
            spanId: parent.parentId,
            traceFlags: parent.flags & 0xff,
            isRemote: true,
            traceState: parent.tracestate ? createTraceState(parent.tracestate) : undefined,
          })
        : ROOT_CONTEXT;
      const span = tracer.startSpan('tollgate.decision', { kind: SpanKind.SERVER, attributes: clean(attributes) }, ctx);
      const sc = span.spanContext();
      ids.traceId = sc.traceId;
      ids.spanId = sc.spanId;
      const state: Active = { span, done: false };
      const end = () => {
        state.done = true;
        span.end();
      };
      return active.run(state, fn).then(
        (r) => {
          const { error, ...a } = describe(r);
          span.setAttributes(clean(a));
          if (error) span.setStatus({ code: SpanStatusCode.ERROR });
          end();
          return r;
        },
        (e: unknown) => {
          span.setAttribute('error.type', errorType(e));
          span.setStatus({ code: SpanStatusCode.ERROR });
          end();
          throw e;
        },
      );
    },
    stage,
    tracedFetch(name, inner = (...a) => fetch(...a)) {
      return (input, init) =>
        stage(name, { 'http.request.method': init?.method ?? 'GET', 'url.full': safeUrl(input) }, async (span) => {
          const res = await inner(input, init);
          span.set({ 'http.response.status_code': res.status });
          return res;
        });
    },
    async shutdown() {
      await provider.shutdown().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'tracing: the last spans could not be exported'));
    },
  };
}
