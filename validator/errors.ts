// Typed refusals: every stage of the pipeline throws one of these, never a bare Error.
// Each carries its HTTP status, a stable machine code (the `reason` in logs, metrics and
// the X-Auth-Reason header) and, for 401/403, a ready RFC 6750 WWW-Authenticate value.

/** Stable reason codes. Adding one is fine; renaming one breaks dashboards and alerts. */
export type ReasonCode =
  | 'token_missing'
  | 'token_malformed'
  | 'token_too_large'
  | 'signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'algorithm_not_allowed'
  | 'header_not_allowed'
  | 'claim_missing'
  | 'claim_invalid'
  | 'token_type_invalid'
  | 'client_not_allowed'
  | 'key_not_found'
  | 'keys_unavailable'
  | 'anonymous_user'
  | 'email_unconfirmed'
  | 'email_unverified'
  | 'scope_missing'
  | 'max_ticks_invalid'
  | 'quota_exhausted'
  | 'quota_unavailable'
  | 'store_unavailable'
  | 'request_invalid'
  | 'path_ambiguous'
  | 'internal_error';

/** RFC 6750 §3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

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
  /** RFC 6750 error attribute; omitted for a request that carried no credentials at all (§3). */
  bearerError?: BearerErrorCode;
  /** Scopes that would have been enough (RFC 6750 §3 `scope` attribute, insufficient_scope only). */
  scope?: string[];
  /** Extra response headers (Retry-After, RateLimit-*). */
  headers?: Record<string, string>;
  /** The underlying library error code (e.g. jose's ERR_JWT_EXPIRED), kept for the log line. */
  cause?: string;
}

/** Base class of every refusal. `status` is what /api/auth/validate answers. */
export class AuthError extends Error {
  readonly status: number;
  readonly code: ReasonCode;
  readonly bearerError?: BearerErrorCode;
  readonly scope?: string[];
  readonly headers: Record<string, string>;
  readonly causeCode?: string;

  constructor(status: number, code: ReasonCode, message: string, opts: AuthErrorOptions = {}) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
    this.bearerError = opts.bearerError;
    this.scope = opts.scope;
    this.headers = opts.headers ?? {};
    this.causeCode = opts.cause;
  }

  /** The RFC 6750 WWW-Authenticate value for 401/403, undefined for other statuses. */
  get wwwAuthenticate(): string | undefined {
    if (this.status !== 401 && this.status !== 403) return undefined;
    let v = `Bearer realm=${quote(REALM)}`;
    if (this.bearerError) {
      v += `, error=${quote(this.bearerError)}, error_description=${quote(this.message)}`;
      if (this.scope?.length) v += `, scope=${quote(this.scope.join(' '))}`;
    }
    return v;
  }
}

/** 401 without an error attribute: no credentials were sent (RFC 6750 §3). */
export const missingToken = (): AuthError =>
  new AuthError(401, 'token_missing', 'no bearer token in the Authorization header');

/** 401 invalid_token: anything wrong with the token itself. */
export const invalidToken = (code: ReasonCode, message: string, cause?: string): AuthError =>
  new AuthError(401, code, message, { bearerError: 'invalid_token', cause });

/** 400 invalid_request: the request (not the token) is malformed. */
export const invalidRequest = (code: ReasonCode, message: string): AuthError =>
  new AuthError(400, code, message, { bearerError: 'invalid_request' });

/** 403 insufficient_scope. */
export const insufficientScope = (required: string[], message: string): AuthError =>
  new AuthError(403, 'scope_missing', message, { bearerError: 'insufficient_scope', scope: required });

/** 403 for a valid token whose subject may not pass (email unconfirmed, anonymous user, client not allowed). */
export const forbidden = (code: ReasonCode, message: string): AuthError => new AuthError(403, code, message);

/** 503: a dependency we need for this decision is down. Fails closed. */
export const unavailable = (code: ReasonCode, message: string, retryAfterS = 5): AuthError =>
  new AuthError(503, code, message, { headers: { 'Retry-After': String(retryAfterS) } });

/** A configuration error: start-up stops with this message, which names the variable and the fix. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}
