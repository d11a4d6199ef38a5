// Errors the quota store throws for bad input or unknown users, with stable codes for the CLI,
// and the one it throws when the database cannot answer (the pipeline maps any store failure on a
// charged route to 503 quota_unavailable).
import { describeError } from '../observability/describe-error';

export type QuotaErrorCode = 'invalid_argument' | 'unknown_user';

export class QuotaStoreError extends Error {
  readonly code: QuotaErrorCode;
  constructor(code: QuotaErrorCode, message: string) {
    super(message);
    this.name = 'QuotaStoreError';
    this.code = code;
  }
}

/**
 * The database did not answer a question the pipeline asked (a charge, an e-mail confirmation, a
 * ping). The message names the database (URL without password, or the data directory) and the
 * underlying cause (`connect ECONNREFUSED 10.0.0.5:5432`, a TLS error, a timeout); `code` is the
 * driver's (ECONNREFUSED, 57014, 42P01…) and `cause` the original error.
 */
export class StoreUnavailableError extends Error {
  readonly code?: string;
  constructor(
    readonly target: string,
    cause: unknown,
  ) {
    super(`${target}: ${describeError(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
    const code = (cause as { code?: unknown })?.code;
    if (typeof code === 'string') this.code = code;
  }
}
