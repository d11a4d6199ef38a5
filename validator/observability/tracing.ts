// Optional OpenTelemetry spans of a decision and its stages. Off by default: then nothing of the SDK
// is loaded, and the hot path tests one `undefined`. On (TOLLGATE_TRACING=otlp), ./otel.ts is
// loaded at start-up and exports with the standard OTEL_* variables, which the SDK reads itself.
import type { Logger } from 'pino';
import type { TraceParent } from './trace-context';

/** Attribute values a span may carry. Never a token, a signature or a secret. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** The span a stage runs in, to add what is learnt while it runs (a status code, an outcome). */
export interface SpanHandle {
  set(attributes: SpanAttributes): void;
}

/** The ids of the decision's span, for the decision's log line (OpenTelemetry's log correlation names). */
export interface SpanIds {
  traceId?: string;
  spanId?: string;
}

export interface Tracing {
  /**
   * Runs `fn` (the decision) in a span that is a child of the caller's `parent` when it came, else a
   * new trace's root; spans of stages started while `fn` runs nest under it. `describe` turns the
   * result into the span's closing attributes. `ids` receives the span's trace and span id.
   */
  decision<T>(parent: TraceParent | undefined, attributes: SpanAttributes, fn: () => Promise<T>, describe: (result: T) => SpanAttributes & { error?: boolean }, ids: SpanIds): Promise<T>;
  /** Runs one stage (a JWKS fetch, a store call) in a child span of the running decision, if any. */
  stage<T>(name: string, attributes: SpanAttributes, fn: (span: SpanHandle) => Promise<T>): Promise<T>;
  /** `fetch` with a span per call (`name`, e.g. tollgate.jwks.fetch): URL without credentials or query, status. */
  tracedFetch(name: string, inner?: typeof fetch): typeof fetch;
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

export type TracingSetting = 'off' | 'otlp';

/**
 * A copy of `target` whose methods run in a span each (`<prefix>.<method>`), except those named in
 * `skip` (plumbing such as a health ping). For an object of async methods: a store's repositories.
 */
export function tracedMethods<T extends object>(target: T, prefix: string, tracing: Tracing, attributes: SpanAttributes, skip: readonly string[]): T {
  const out = { ...target } as Record<string, unknown>;
  for (const [name, f] of Object.entries(target)) {
    if (typeof f !== 'function' || skip.includes(name)) continue;
    const attrs = { ...attributes, 'db.operation.name': name };
    out[name] = (...args: unknown[]) => tracing.stage(`${prefix}.${name}`, attrs, () => Promise.resolve(f.apply(target, args)));
  }
  return out as T;
}

/**
 * The tracer for `setting`, or undefined when off. OTEL_SDK_DISABLED=true (the specification's
 * switch for every signal) also keeps it off. Rejects when the SDK packages cannot be loaded:
 * starting without the tracing that was asked for would hide the problem until it is needed.
 */
export async function startTracing(setting: TracingSetting, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (setting === 'off') return undefined;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') {
    log.warn('TOLLGATE_TRACING=otlp but OTEL_SDK_DISABLED=true: tracing stays off');
    return undefined;
  }
  // require, not a static import: only now may the SDK's modules load (tens of milliseconds, ~20 MB).
  const { createOtelTracing } = require('./otel') as typeof import('./otel');
  return createOtelTracing(log, env);
}
