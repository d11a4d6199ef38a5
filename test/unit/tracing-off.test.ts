// Tracing off costs nothing: the OpenTelemetry SDK (validator/observability/otel.ts and the packages
// it imports) is not even loaded unless TOLLGATE_TRACING=otlp, and OTEL_SDK_DISABLED=true keeps it off.
import { createLogger } from '../../validator/observability/logger';
import { startTracing } from '../../validator/observability/start-tracing';

jest.mock('../../validator/observability/otel', () => {
  throw new Error('the OpenTelemetry SDK was loaded');
});

const log = createLogger('silent');

test('off: no SDK module is loaded', async () => {
  expect(await startTracing('off', log)).toBeUndefined();
  expect(await startTracing('otlp', log, { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
});

test('on: the SDK is loaded then, and only then (a load failure stops the start)', async () => {
  await expect(startTracing('otlp', log, {})).rejects.toThrow('the OpenTelemetry SDK was loaded');
});
