// The few logger methods the quota store needs, so pino (or a test spy) can be passed in.

/** A pino-compatible subset: structured object first, then the message. */
export interface QuotaLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Default when no logger is given: silent, because a library must not write to stdout. */
export const silentLogger: QuotaLogger = { info() {}, warn() {}, error() {} };
