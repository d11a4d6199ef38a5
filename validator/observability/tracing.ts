// Optional OpenTelemetry spans of a decision and its stages: the interface the service codes against.
// Off by default: then there is no Tracing and the hot path tests one `undefined`. On
// (TOLLGATE_TRACING=otlp), ./start-tracing.ts loads ./otel.ts, which implements it.
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
  decision<T>(
    parent: TraceParent | undefined,
    attributes: SpanAttributes,
    fn: () => Promise<T>,
    describe: (result: T) => SpanAttributes & { error?: boolean },
    ids: SpanIds,
  ): Promise<T>;
  /** Runs one stage (a JWKS fetch, a store call) in a child span of the running decision, if any. */
  stage<T>(name: string, attributes: SpanAttributes, fn: (span: SpanHandle) => Promise<T>): Promise<T>;
  /** `fetch` with a span per call (`name`, e.g. tollgate.jwks.fetch): URL without credentials or query, status. */
  tracedFetch(name: string, inner?: typeof fetch): typeof fetch;
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

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
