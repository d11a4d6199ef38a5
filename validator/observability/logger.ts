// JSON logs via pino. Tokens and secrets never reach a log line: the HTTP serializers log method,
// URL and id only (no headers), and redaction is a second line of defence.
import pino, { type Logger } from 'pino';

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
    destination,
  );
}
