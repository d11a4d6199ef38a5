// The configuration table's rows for RFC 7662 introspection and DPoP (RFC 9449): part of the one
// table in schema.ts, which spreads them in place (same order in the generated docs).
import { ASYMMETRIC_ALGORITHMS } from '../lib/algorithms';
import { algorithmAdvice } from './issuer-entries';
import { DPOP_POLICIES } from './dpop';
import { bool, httpUrl, int, list, oneOf, text } from './parsers';
import type { VariableDef } from './schema';

const v = <T>(d: VariableDef<T>): VariableDef<T> => Object.freeze(d);

/** AUTH_INTROSPECTION_*: the shorthand issuer's RFC 7662 introspection. */
export const INTROSPECTION_VARIABLES = {
  AUTH_INTROSPECTION_URL: v({
    group: 'introspection',
    parse: httpUrl,
    optional: true,
    doc: 'RFC 7662 introspection endpoint of the `AUTH_ISSUER` issuer (Keycloak: `<issuer>/protocol/openid-connect/token/introspect`). Set: every token of that issuer is also introspected (answers cached for `AUTH_INTROSPECTION_CACHE_TTL_S`), so a token revoked at the IdP (RFC 7009) is refused within that time; the IdP unreachable fails closed (503 `introspection_unavailable`). `AUTH_ISSUERS` entries say it with `introspection`.',
  }),
  AUTH_INTROSPECTION_CLIENT_ID: v({
    group: 'introspection',
    parse: text,
    optional: true,
    doc: 'Client id tollgate authenticates with at the introspection endpoint (HTTP Basic, RFC 7662 §2.1). Required with `AUTH_INTROSPECTION_URL`.',
  }),
  AUTH_INTROSPECTION_CLIENT_SECRET: v({
    group: 'introspection',
    parse: text,
    secret: true,
    optional: true,
    doc: "That client's secret. Required with `AUTH_INTROSPECTION_URL`.",
  }),
  AUTH_INTROSPECTION_CACHE_TTL_S: v({
    group: 'introspection',
    parse: int(0, 60),
    optional: true,
    doc: 'How long an introspection answer is reused, at most 60 s: a revoked token passes at most this long; 0 asks on every request (seconds, default 10). Also caps the NGINX edge decision cache for that issuer.',
  }),
  AUTH_INTROSPECTION_OPAQUE: v({
    group: 'introspection',
    parse: bool,
    optional: true,
    doc: '`true`: also accept opaque (non-JWT) bearer tokens, known only through introspection, as tokens of the `AUTH_ISSUER` issuer (at most one issuer may). Default `false`: only JWTs, each introspected after its signature verifies.',
  }),
  AUTH_INTROSPECTION_TIMEOUT_MS: v({
    group: 'introspection',
    parse: int(100, 30000),
    optional: true,
    doc: 'Timeout of one introspection request (ms, default 2000); past it the decision is 503 `introspection_unavailable`.',
  }),
  AUTH_INTROSPECTION_CACHE_MAX: v({
    group: 'introspection',
    parse: int(1, 1_000_000),
    default: '10000',
    doc: 'Entries in the introspection answer cache, all issuers together (LRU).',
  }),
};

/** AUTH_DPOP*, AUTH_PUBLIC_ORIGIN: sender-constrained tokens (RFC 9449). */
export const DPOP_VARIABLES = {
  AUTH_DPOP: v({
    group: 'dpop',
    parse: oneOf(DPOP_POLICIES, { fold: true }),
    optional: true,
    doc: 'DPoP (RFC 9449) for the `AUTH_ISSUER` issuer (an `AUTH_ISSUERS` entry says `"dpop"`): `allowed`: a DPoP-bound token (`cnf.jkt`) must come as `Authorization: DPoP` with a valid `DPoP` proof, other tokens pass as bearer tokens; `required`: every token must be DPoP-bound; `off` (unset): no proof is checked, and a DPoP-bound token is refused (never taken for a bearer token). See docs/DPOP.md.',
  }),
  AUTH_PUBLIC_ORIGIN: v({
    group: 'dpop',
    parse: text,
    required: 'when an issuer has DPoP on',
    doc: "The origin clients call, e.g. `https://api.example.com` (scheme, host, port; no path): a proof's `htu` must be it plus the original path, without query and fragment. Never taken from `Host`, which the client chooses. https:// in production.",
  }),
  AUTH_DPOP_ALGORITHMS: v({
    group: 'dpop',
    parse: list(oneOf(ASYMMETRIC_ALGORITHMS, { refuse: (a) => `${JSON.stringify(a)} is not allowed: ${algorithmAdvice([a])}` })),
    default: ASYMMETRIC_ALGORITHMS.join(','),
    doc: "Algorithms a DPoP proof may be signed with (the client's key, not the IdP's: so not the issuer's `AUTH_ALGORITHMS`); sent as the challenge's `algs`. Asymmetric only (RFC 9449 §4.3).",
  }),
  AUTH_DPOP_IAT_WINDOW_S: v({
    group: 'dpop',
    parse: int(1, 600),
    default: '60',
    doc: "A proof's `iat` may be this far in the past or the future, plus `AUTH_CLOCK_TOLERANCE_S` (seconds). Its `jti` is remembered as long, so a replay within the window is refused.",
  }),
  AUTH_DPOP_NONCE: v({
    group: 'dpop',
    parse: bool,
    default: 'false',
    doc: '`true`: proofs must carry a server nonce (RFC 9449 §9): a proof without a current one is answered 401 `dpop_nonce_required` (a `use_dpop_nonce` challenge) with a `DPoP-Nonce` to use; grants carry the next one. Nonces are HMAC-derived from `AUTH_DPOP_NONCE_SECRET` and the time window, so every instance issues and accepts the same ones without shared state.',
  }),
  AUTH_DPOP_NONCE_SECRET: v({
    group: 'dpop',
    parse: text,
    secret: true,
    optional: true,
    doc: "The nonces' HMAC key, at least 32 bytes, the same on every instance. Required with `AUTH_DPOP_NONCE=true`.",
  }),
  AUTH_DPOP_REPLAY_CACHE_MAX: v({
    group: 'dpop',
    parse: int(1, 10_000_000),
    default: '100000',
    doc: 'Entries of the per-instance `jti` cache (LRU), used only when the validator runs without a store; with one, seen proofs are kept in Postgres and shared by every instance on it.',
  }),
};
