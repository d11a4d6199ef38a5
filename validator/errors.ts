// Typed refusals: every stage of the pipeline throws one of these, never a bare Error.
// Each carries a stable reason code; its HTTP status and RFC 6750 error come from the reason table
// (reasons.ts), and for 401/403 a ready RFC 6750 WWW-Authenticate value.
import { REASONS, type BearerErrorCode, type DpopErrorCode, type ReasonWhere, type ValidatorReason } from './reasons';

export type { BearerErrorCode, DpopErrorCode, ReasonCode, ValidatorReason } from './reasons';

export const REALM = 'api';

/**
 * Quote a value for an auth-param. RFC 6750 §3 limits error_description and scope to
 * %x20-21 / %x23-5B / %x5D-7E: no `"`, no `\`, no control or non-ASCII characters, so those are
 * replaced rather than escaped (which also rules out header injection).
 */
function quote(value: string): string {
  return '"' + value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'") + '"';
}

export interface AuthErrorOptions {
  /** Scopes that would have been enough (RFC 6750 §3 `scope` attribute, insufficient_scope only). */
  scope?: string[];
  /** Extra response headers (Retry-After, RateLimit-*). */
  headers?: Record<string, string>;
  /** The underlying library error code (e.g. jose's ERR_JWT_EXPIRED), kept for the log line. */
  cause?: string;
  /** A DPoP refusal's `algs` (RFC 9449 §7.1): the proof algorithms accepted. */
  algs?: readonly string[];
}

/** Base class of every refusal. `status` is what /api/auth/validate answers: the code's, from the table. */
export class AuthError extends Error {
  readonly status: number;
  readonly code: ValidatorReason;
  /** The code's RFC 6750 error; none for a request that carried no credentials (§3) or for a non-token refusal. */
  readonly bearerError?: BearerErrorCode;
  /** The code's RFC 9449 error: the challenge is then `DPoP`, not `Bearer`. */
  readonly dpopError?: DpopErrorCode;
  readonly scope?: string[];
  readonly algs?: readonly string[];
  readonly headers: Record<string, string>;
  readonly causeCode?: string;

  constructor(code: ValidatorReason, message: string, opts: AuthErrorOptions = {}) {
    // A refusal is an expected outcome, not a fault: no stack trace. Capturing one cost several µs
    // per refusal, which a flood of forged tokens makes every request pay. `stack` is then just
    // the first line; faults (plain Errors) keep theirs.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'AuthError';
    const reason: { status: number; bearerError?: BearerErrorCode; dpopError?: DpopErrorCode } = REASONS[code];
    this.status = reason.status;
    this.code = code;
    this.bearerError = reason.bearerError;
    this.dpopError = reason.dpopError;
    this.scope = opts.scope;
    this.algs = opts.algs;
    this.headers = opts.headers ?? {};
    this.causeCode = opts.cause;
  }

  /** The RFC 6750 (or, for a DPoP refusal, RFC 9449 §7.1) WWW-Authenticate value for 401/403, undefined for other statuses. */
  get wwwAuthenticate(): string | undefined {
    if (this.status !== 401 && this.status !== 403) return undefined;
    if (this.dpopError) {
      const algs = this.algs?.length ? `, algs=${quote(this.algs.join(' '))}` : '';
      return `DPoP realm=${quote(REALM)}, error=${quote(this.dpopError)}, error_description=${quote(this.message)}${algs}`;
    }
    let v = `Bearer realm=${quote(REALM)}`;
    if (this.bearerError) {
      v += `, error=${quote(this.bearerError)}, error_description=${quote(this.message)}`;
      if (this.scope?.length) v += `, scope=${quote(this.scope.join(' '))}`;
    }
    return v;
  }
}

/** 401 without an error attribute: no credentials were sent (RFC 6750 §3). */
export const missingToken = (message = 'no bearer token in the Authorization header'): AuthError => new AuthError('token_missing', message);

/** 401 invalid_token: anything wrong with the token itself. `cause`: the library's code (jose's ERR_…). */
export const invalidToken = (code: ReasonWhere<'bearerError', 'invalid_token'>, message: string, cause?: string): AuthError =>
  new AuthError(code, message, { cause });

/** 400 invalid_request: the request (not the token) is malformed. */
export const invalidRequest = (code: ReasonWhere<'bearerError', 'invalid_request'>, message: string): AuthError => new AuthError(code, message);

/** 403 insufficient_scope. */
export const insufficientScope = (required: string[], message: string): AuthError => new AuthError('scope_missing', message, { scope: required });

/** 403 for a valid token whose subject may not pass (email unconfirmed, anonymous user, client not allowed). */
export const forbidden = (code: Exclude<ReasonWhere<'status', 403>, ReasonWhere<'emitter', 'gateway'> | 'scope_missing'>, message: string): AuthError =>
  new AuthError(code, message);

/** 503: a dependency we need for this decision is down. Fails closed. */
export const unavailable = (code: ReasonWhere<'status', 503>, message: string, retryAfterS = 5): AuthError =>
  new AuthError(code, message, { headers: { 'Retry-After': String(retryAfterS) } });

/** A configuration error: start-up stops with this message, which names the variable and the fix. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}
