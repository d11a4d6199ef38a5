// Errors the quota store throws for bad input or unknown users, with stable codes for the CLI.
// (A database that cannot be reached surfaces as pg's own error; the pipeline maps any
// store failure on a charged route to 503 quota_unavailable.)

export type QuotaErrorCode = 'invalid_argument' | 'unknown_user';

export class QuotaStoreError extends Error {
  readonly code: QuotaErrorCode;
  constructor(code: QuotaErrorCode, message: string) {
    super(message);
    this.name = 'QuotaStoreError';
    this.code = code;
  }
}
