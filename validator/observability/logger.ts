// JSON logs via pino. Tokens and secrets never reach a log line: the HTTP serializers log method,
// URL and id only (no headers), and redaction is a second line of defence.
import pino, { type Logger } from 'pino';

/**
 * JSON lines at `level` to `destination`, by default standard output written synchronously: one
 * write(2) per line, and per event-loop turn for the decision lines (decision-line.ts batches them).
 * pino's own default writes asynchronously on libuv's pool, which costs a thread hand-off and a
 * loop wake-up per write (docs/PERFORMANCE.md, "The decision log line"), and lets lines pile up in
 * memory without bound when the reader of standard output stops; written synchronously, a stopped
 * reader stops the validator instead, and NGINX refuses the requests it cannot decide.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', 'token', 'secret', '*.authorization', '*.token', '*.secret', 'req.headers', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: process.stdout.fd ?? 1, sync: true }),
  );
}
