// Every reason code tollgate answers with, once: its HTTP status, its RFC 6750 error, who emits it
// and what it means. AuthError, the decision metrics, docs/REASONS.md and the gateway configs'
// own codes all derive from or are checked against this table (test/unit/reasons.test.ts).
import { GATEWAY_REASONS } from './reasons-gateway';

/** RFC 6750 §3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** RFC 9449 §7.1 and §9 error codes of a `DPoP` challenge. */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce';

/**
 * Who answers with a code: the validator, the gateway in front of it (nginx/templates, nginx/njs,
 * deploy/caddy: refusals made before or instead of asking the validator), or both.
 */
export type Emitter = 'validator' | 'gateway' | 'both';

export interface ReasonDef {
  /** The HTTP status of every refusal with this code. */
  readonly status: number;
  /** RFC 6750 §3.1 error, sent in the WWW-Authenticate challenge (401, 403) and the validator's JSON body. */
  readonly bearerError?: BearerErrorCode;
  /** RFC 9449 error: the refusal's challenge is `DPoP` (with `algs`) instead of `Bearer`. */
  readonly dpopError?: DpopErrorCode;
  readonly emitter: Emitter;
  /** One line for docs/REASONS.md: when this code is answered. */
  readonly doc: string;
}

/**
 * The table. Adding a code is fine; renaming one breaks dashboards, alerts and clients that switch
 * on it. The `reason` label of tollgate_decisions_total, the `reason` log field, the X-Auth-Reason
 * header and the gateways' `{"error":"…"}` bodies all carry these codes.
 */
export const REASONS = {
  // --- the token itself: 401 invalid_token (RFC 6750 §3.1) ---
  token_missing: {
    status: 401,
    emitter: 'validator',
    doc: 'No bearer token: no `Authorization` header, or a scheme other than `Bearer`. The challenge has no `error` attribute (RFC 6750 §3).',
  },
  token_malformed: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: "The `Authorization` header is not exactly one `Bearer <compact JWS>`, or the token's header or payload is not base64url JSON.",
  },
  token_too_large: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: 'The token is longer than `AUTH_MAX_TOKEN_BYTES`.',
  },
  signature_invalid: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: "The signature does not verify with the issuer's key.",
  },
  token_expired: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: '`exp` has passed (with `AUTH_CLOCK_TOLERANCE_S` of leeway).',
  },
  token_not_yet_valid: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: '`nbf` is still in the future (with `AUTH_CLOCK_TOLERANCE_S` of leeway).',
  },
  issuer_mismatch: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: '`iss` is not a configured issuer.',
  },
  audience_mismatch: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: "`aud` names none of the issuer's accepted audiences (`AUTH_AUDIENCE`).",
  },
  algorithm_not_allowed: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: '`alg` is `none`, unsupported, or not allowed for the issuer (`AUTH_ALGORITHMS`).',
  },
  header_not_allowed: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: 'The token header carries `crit` or a key of its own (`jku`, `x5u`, `jwk`, `x5c`): keys come from configuration only.',
  },
  claim_missing: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: 'A required claim (`exp`, `sub`) is missing.',
  },
  claim_invalid: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: 'A claim has the wrong type or value: `iat` in the future, a `sub` that is empty or over 255 UTF-8 bytes, a time claim that is not a number.',
  },
  token_type_invalid: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: 'Not an access token: header `typ`, payload `typ` (ID and refresh tokens), or a Supabase `role` other than `authenticated`.',
  },
  key_not_found: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: "No published key matches the token's `kid` and algorithm (or a token without `kid` meets several keys), or the key cannot be imported.",
  },
  token_revoked: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: "A JWT whose signature and claims verify, but whose issuer's RFC 7662 introspection says `active: false`: revoked at the IdP (RFC 7009).",
  },
  token_inactive: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: "An opaque token that the issuer's RFC 7662 introspection says is not active (unknown, expired or revoked), or whose answer tollgate cannot accept.",
  },
  // --- sender-constrained tokens (token/binding.ts): the proof the token's `cnf` asks for ---
  client_certificate_missing: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: 'A token bound to a client certificate (`cnf` `x5t#S256`, RFC 8705) came without one: no certificate on the TLS connection, or no front trusted to pass its thumbprint (`AUTH_MTLS_TRUST_HEADER`).',
  },
  mtls_binding_mismatch: {
    status: 401,
    bearerError: 'invalid_token',
    emitter: 'validator',
    doc: 'A token bound to a client certificate (`cnf` `x5t#S256`, RFC 8705 §3) came over a TLS connection with another certificate.',
  },
  dpop_proof_missing: {
    status: 401,
    dpopError: 'invalid_dpop_proof',
    emitter: 'validator',
    doc: 'A DPoP-bound token (`cnf.jkt`, RFC 9449), or any token of an issuer that requires DPoP, came without `Authorization: DPoP` and a `DPoP` proof header: presented as `Bearer` (a downgrade), or with no proof.',
  },
  dpop_proof_invalid: {
    status: 401,
    dpopError: 'invalid_dpop_proof',
    emitter: 'validator',
    doc: "The `DPoP` proof fails a check of RFC 9449 §4.3: several headers, not a JWT, `typ`, `alg` (not in `AUTH_DPOP_ALGORITHMS`), `jwk` (missing, private, not the alg's key), signature, `htm`, `htu` (`AUTH_PUBLIC_ORIGIN` + the original path), `iat` (outside `AUTH_DPOP_IAT_WINDOW_S`), `ath`, `jti`.",
  },
  dpop_replayed: {
    status: 401,
    dpopError: 'invalid_dpop_proof',
    emitter: 'validator',
    doc: "The proof's `jti` was already used within its `iat` window: a replayed proof (across every instance on the same database).",
  },
  dpop_binding_mismatch: {
    status: 401,
    dpopError: 'invalid_dpop_proof',
    emitter: 'validator',
    doc: "The proof's key is not the one the token is bound to (its RFC 7638 thumbprint is not `cnf.jkt`); or `Authorization: DPoP` with a token that is not DPoP-bound; or a DPoP-bound token of an issuer with DPoP `off`.",
  },
  dpop_nonce_required: {
    status: 401,
    dpopError: 'use_dpop_nonce',
    emitter: 'validator',
    doc: 'With `AUTH_DPOP_NONCE`, the proof has no nonce or a stale one (RFC 9449 §9); `DPoP-Nonce` carries the one to use.',
  },
  // --- who may pass: 403 ---
  client_not_allowed: {
    status: 403,
    emitter: 'validator',
    doc: "The token's client (`azp` or `client_id`) is not in `AUTH_ALLOWED_CLIENTS`.",
  },
  anonymous_user: {
    status: 403,
    emitter: 'validator',
    doc: 'A Supabase anonymous user while `SUPABASE_ALLOW_ANONYMOUS` is off.',
  },
  email_unconfirmed: {
    status: 403,
    emitter: 'validator',
    doc: 'A Supabase user confirmed neither by e-mail nor by phone in `auth.users` (`email_confirmed_at`, `phone_confirmed_at`), or unknown there.',
  },
  email_unverified: {
    status: 403,
    emitter: 'validator',
    doc: "With `AUTH_REQUIRE_EMAIL_VERIFIED`, a person's token (it carries `email`) without `email_verified: true`.",
  },
  scope_missing: {
    status: 403,
    bearerError: 'insufficient_scope',
    emitter: 'validator',
    doc: "The route rule (`AUTH_ROUTE_RULES`) needs a scope the token lacks; the challenge's `scope` names what would do.",
  },
  role_missing: {
    status: 403,
    bearerError: 'insufficient_scope',
    emitter: 'validator',
    doc: 'The route rule (`AUTH_ROUTE_RULES`) needs a role the token lacks (RFC 6750: the request requires higher privileges than the token provides).',
  },
  claim_mismatch: {
    status: 403,
    bearerError: 'insufficient_scope',
    emitter: 'validator',
    doc: 'The route rule (`AUTH_ROUTE_RULES`) needs a claim value the token does not have (e.g. `aal` = `aal2`, a group); the description names the claim.',
  },
  route_not_allowed: {
    status: 403,
    emitter: 'validator',
    doc: 'With `AUTH_DEFAULT_POLICY=deny`, no `AUTH_ROUTE_RULES` rule matches the original method and path (a HEAD needs its GET rule).',
  },
  // --- the request: 400 invalid_request ---
  request_invalid: {
    status: 400,
    bearerError: 'invalid_request',
    emitter: 'validator',
    doc: 'No original method or URI from the front (`AUTH_FRONT`), a deciding header sent twice, a bad method, or an identity that cannot be sent as headers.',
  },
  path_ambiguous: {
    status: 400,
    bearerError: 'invalid_request',
    emitter: 'both',
    doc: 'Some server could read the original path as another (dot segments, `;params`, encoded separators, `//`, …); the gateway refuses it too.',
  },
  method_override: {
    status: 400,
    bearerError: 'invalid_request',
    emitter: 'validator',
    doc: 'A query parameter some framework takes as the request method (`_method`, `X-HTTP-Method-Override`, in any spelling), or a method override header a front passed on: the method judged would not be the method run.',
  },
  max_ticks_invalid: {
    status: 400,
    bearerError: 'invalid_request',
    emitter: 'validator',
    doc: '`X-Max-Ticks` (or `max_ticks`) is not a positive whole number, is given twice with different values, or exceeds the daily limit.',
  },
  // --- the quota ---
  quota_exhausted: {
    status: 429,
    emitter: 'validator',
    doc: "The user's daily ticks are spent; `Retry-After` and `RateLimit-*` say until when.",
  },
  quota_unavailable: {
    status: 503,
    emitter: 'validator',
    doc: 'The quota database is down: no charge, nor Supabase e-mail confirmation check, nor DPoP replay check, can be made; fails closed (see `QUOTA_FAIL_OPEN`, which covers charges only).',
  },
  keys_unavailable: {
    status: 503,
    emitter: 'validator',
    doc: "The issuer's signing keys cannot be fetched and none are cached. `Retry-After`.",
  },
  introspection_unavailable: {
    status: 503,
    emitter: 'validator',
    doc: "The issuer's RFC 7662 introspection endpoint did not answer in time, or not with a usable answer; fails closed. `Retry-After`.",
  },
  internal_error: {
    status: 500,
    emitter: 'both',
    doc: 'A bug in the validator (its error log says which); at NGINX, a 500 that did not come from the auth subrequest.',
  },
  ...GATEWAY_REASONS,
} as const satisfies Record<string, ReasonDef>;

export type ReasonCode = keyof typeof REASONS;

/** Every code, in table order. */
export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

/** The `reason` of a granted decision (log field and metric label): not a refusal, so not in the table. */
export const GRANTED = 'ok';

type Entry<C extends ReasonCode> = (typeof REASONS)[C];

/** Codes whose table entry has `field` of type V (e.g. `ReasonWhere<'status', 403>`). */
export type ReasonWhere<F extends keyof ReasonDef, V> = { [C in ReasonCode]: Entry<C> extends { readonly [K in F]: V } ? C : never }[ReasonCode];

/** The codes the validator itself answers with. */
export type ValidatorReason = Exclude<ReasonCode, ReasonWhere<'emitter', 'gateway'>>;

export function isReasonCode(s: string): s is ReasonCode {
  return Object.hasOwn(REASONS, s);
}
