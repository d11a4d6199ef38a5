// "Got versus expected" for a refusal: what the token (or request) carried, what the configuration
// expects, and what usually fixes it. Read from the decoded token and the configuration only; the
// verdict itself always comes from the stage that refused.
import type { JWK, JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { Config, IssuerConfig } from '../config';
import type { AuthError } from '../errors';
import type { Principal } from '../token/claims';

export interface Expectation {
  got?: string;
  expected?: string;
  hint?: string;
}

export interface ExpectContext {
  config: Config;
  header?: ProtectedHeaderParameters;
  payload?: JWTPayload & Record<string, unknown>;
  /** The configured issuer the token's `iss` selects, if any. */
  issuer?: IssuerConfig;
  /** Keys the issuer's JWKS published when explain fetched it. */
  published?: JWK[];
  principal?: Principal;
  token: string;
  nowS: number;
}

/** A value as written in explain's output: JSON for anything but a plain string, cut at 120 characters. */
export function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

const list = (xs: readonly unknown[]): string => (xs.length === 1 ? show(xs[0]) : `one of ${xs.map(show).join(', ')}`);

/** `2026-11-28T10:00:00Z (4 min ago)` */
export function when(t: unknown, nowS: number): string {
  if (typeof t !== 'number') return show(t);
  const d = t - nowS;
  const a = Math.abs(d);
  if (a < 1) return `${new Date(t * 1000).toISOString().replace('.000Z', 'Z')} (now)`;
  const span =
    a < 120 ? `${Math.round(a)} s` : a < 7200 ? `${Math.round(a / 60)} min` : a < 172800 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} days`;
  const iso = Number.isFinite(t) && Math.abs(t) < 1e11 ? new Date(t * 1000).toISOString().replace('.000Z', 'Z') : String(t);
  return `${iso} (${d >= 0 ? `in ${span}` : `${span} ago`})`;
}

/** The accepted algorithms of an issuer, HS256 included when it has a secret. */
function algorithms(i: IssuerConfig): string[] {
  return [...i.jwksAlgorithms, ...(i.hmacSecret ? ['HS256'] : [])];
}

/** Keycloak puts only `account` (or nothing) in `aud` until an audience mapper adds the API. */
function keycloakAudienceHint(c: ExpectContext): string | undefined {
  const aud = c.payload?.aud;
  const auds = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
  const keycloak = (c.issuer?.issuer ?? String(c.payload?.iss ?? '')).includes('/realms/') || auds.includes('account');
  return keycloak ? 'Keycloak needs an audience mapper, see docs/KEYCLOAK.md' : undefined;
}

/** Got/expected/hint for refusal `e`, in the context of the token that got it. */
export function expectation(e: AuthError, c: ExpectContext): Expectation {
  const { config, header: h, payload: p, issuer: i, nowS } = c;
  const tol = config.auth.clockToleranceS;
  const issuers = config.auth.issuers.map((x) => x.issuer);
  switch (e.code as string) {
    case 'token_missing':
      return { got: 'no bearer token', expected: 'a JWT (a compact JWS: header.payload.signature)' };
    case 'token_too_large':
      return { got: `${c.token.length} bytes`, expected: `at most ${config.auth.maxTokenBytes} bytes (AUTH_MAX_TOKEN_BYTES)` };
    case 'token_malformed':
      return {
        got: `${c.token.split('.').length} dot-separated part(s) of ${c.token.length} bytes${h ? '' : ', not base64url JSON'}`,
        expected: 'header.payload.signature, each base64url, header and payload JSON objects',
      };
    case 'algorithm_not_allowed':
      return {
        got: `alg ${show(h?.alg)}`,
        expected: i ? `${list(algorithms(i))} (AUTH_ALGORITHMS)` : 'a signed token',
        hint:
          h?.alg === 'HS256' && i && !i.hmacSecret
            ? 'an HMAC-signed token is never accepted for an issuer that publishes keys (RFC 8725 §2.1)'
            : String(h?.alg).toLowerCase() === 'none'
              ? 'unsigned tokens are never accepted'
              : undefined,
      };
    case 'header_not_allowed': {
      const found = ['crit', 'jku', 'x5u', 'jwk', 'x5c'].filter((k) => h && k in h);
      return { got: `header ${found.join(', ')}`, expected: 'none of crit, jku, x5u, jwk, x5c: keys come from the configuration only' };
    }
    case 'token_type_invalid':
      if (i?.kind === 'supabase' && p?.role !== 'authenticated' && p?.role !== undefined)
        return {
          got: `role ${show(p.role)}`,
          expected: '"authenticated" (a signed-in Supabase user)',
        };
      if (p?.typ !== undefined && String(p.typ).toLowerCase() !== 'bearer')
        return {
          got: `payload typ ${show(p.typ)}`,
          expected: '"Bearer": an access token, not an ID or refresh token',
          hint: 'send the access_token of the token response, not the id_token or refresh_token',
        };
      return { got: `header typ ${show(h?.typ)}`, expected: 'an access token type of this issuer (at+jwt or JWT)' };
    case 'issuer_mismatch': {
      const iss = typeof p?.iss === 'string' ? p.iss : undefined;
      const bare = (u: string) => u.replace(/\/+$/, '').toLowerCase();
      const near = iss && issuers.find((x) => bare(x) === bare(iss) || ((safePath(iss) ?? '/') !== '/' && safePath(x) === safePath(iss)));
      return {
        got: `iss ${show(p?.iss)}`,
        expected: `${list(issuers)} (AUTH_ISSUER / SUPABASE_URL)`,
        hint: near
          ? `close to ${near}: the issuer must match exactly (scheme, host, port, path); Keycloak's comes from KC_HOSTNAME (docs/KEYCLOAK.md)`
          : undefined,
      };
    }
    case 'key_not_found': {
      const published = c.published?.map((k) => `kid ${show(k.kid)} (${k.alg ?? k.kty}${k.use ? `, use ${k.use}` : ''})`).join(', ');
      return {
        got: `kid ${show(h?.kid)}, alg ${show(h?.alg)}`,
        expected: published === undefined ? "a key of the issuer's JWKS" : `a published key: ${published || 'the JWKS is empty'}`,
        hint: 'a token from another realm or environment, or a key the IdP no longer publishes (rotated out)',
      };
    }
    case 'keys_unavailable':
      return { got: e.message, expected: "the issuer's JWKS, fetched", hint: 'run `tollgate check`: it names the URL and the cause' };
    case 'signature_invalid':
      return {
        got: h?.alg === 'HS256' ? 'an HS256 signature made with another secret' : `a signature that kid ${show(h?.kid)} does not verify`,
        expected: "a signature by the issuer's key",
        hint: 'a token from another environment that reuses the kid or secret, or one altered after signing',
      };
    case 'audience_mismatch': {
      const claim = (i as { audienceClaim?: string } | undefined)?.audienceClaim ?? 'aud';
      return {
        got: `${claim} ${show(p?.[claim])}`,
        expected: `${list(i?.audiences ?? [])} (AUTH_AUDIENCE)`,
        hint: (i as { audienceHint?: string } | undefined)?.audienceHint ?? keycloakAudienceHint(c),
      };
    }
    case 'token_expired':
      return {
        got: `exp ${when(p?.exp, nowS)}`,
        expected: `exp after now minus ${tol} s (AUTH_CLOCK_TOLERANCE_S)`,
        hint: 'get a fresh token; if fresh ones are refused too, compare the clocks (`tollgate check`)',
      };
    case 'token_not_yet_valid':
      return {
        got: `nbf ${when(p?.nbf, nowS)}`,
        expected: `nbf before now plus ${tol} s (AUTH_CLOCK_TOLERANCE_S)`,
        hint: "the IdP's clock is ahead of this host's: `tollgate check` compares them",
      };
    case 'claim_missing':
      return { got: e.message, expected: 'exp and a non-empty sub' };
    case 'claim_invalid':
      return { got: e.message, expected: `numeric exp/nbf/iat, iat not after now plus ${tol} s, a sub of 1 to 255 UTF-8 bytes` };
    case 'client_not_allowed':
      return {
        got: `client (azp / client_id) ${show(c.principal?.clientId ?? p?.azp ?? p?.client_id)}`,
        expected: `${list(config.auth.allowedClients ?? [])} (AUTH_ALLOWED_CLIENTS)`,
      };
    case 'anonymous_user':
      return { got: 'is_anonymous true', expected: 'a signed-in user, or SUPABASE_ALLOW_ANONYMOUS=true' };
    case 'email_unverified':
      return {
        got: `email_verified ${show(p?.email_verified)}`,
        expected: 'true (AUTH_REQUIRE_EMAIL_VERIFIED)',
        hint: 'the user confirms the address at the IdP, or the client is a machine (no email claim)',
      };
    case 'email_unconfirmed':
      return { got: e.message, expected: 'email_confirmed_at set in auth.users' };
    case 'scope_missing':
      return {
        got: `scopes ${show((c.principal?.scopes ?? []).join(' '))}`,
        expected: `scope ${show((e.scope ?? []).join(' '))} (${e.message})`,
        hint: 'grant the scope to the client at the IdP, or change AUTH_ROUTE_RULES',
      };
    case 'max_ticks_invalid':
      return { got: e.message, expected: 'a positive whole number of ticks, at most the daily limit (X-Max-Ticks, max_ticks or --max-ticks)' };
    case 'quota_exhausted':
      return { got: e.message, expected: 'ticks left today', hint: 'wait for the reset (Retry-After), or `tollgate quota set-limit <user> <n>`' };
    default:
      return { got: e.message };
  }
}

function safePath(u: string): string | undefined {
  try {
    return new URL(u).pathname;
  } catch {
    return undefined;
  }
}
