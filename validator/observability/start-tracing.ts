// Starts tracing at start-up: nothing when off; on (TOLLGATE_TRACING=otlp), loads ./otel.ts, which
// exports with the standard OTEL_* variables (the SDK reads them itself). Kept apart from
// ./tracing.ts so that the SDK's implementation and the interface it implements import one way.
import type { Logger } from 'pino';
import type { Tracing } from './tracing';

export type TracingSetting = 'off' | 'otlp';

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
