// Stage 3b: issuer-specific claim rules on a verified token, and the Principal that later stages use.
import type { Config } from '../config';
import { forbidden, invalidToken } from '../errors';
import { SCOPE_TOKEN } from '../lib/scopes';
import { isAcceptableSubject, MAX_SUBJECT_BYTES } from '../lib/subject';
import type { VerifiedToken } from './verify';

/** Who is calling, derived from a verified token. */
export interface Principal {
  readonly sub: string;
  readonly clientId?: string;
  readonly email?: string;
  readonly scopes: readonly string[];
  /** A person (Supabase user, or a token that carries an email) rather than a machine client. */
  readonly isPerson: boolean;
  readonly supabase: boolean;
  /** `email_verified` claim as sent (only meaningful for IdPs that control it). */
  readonly emailVerifiedClaim?: boolean;
  readonly issuer: string;
}

// A token scope outside SCOPE_TOKEN (a comma, say) is dropped from the principal: it is never
// forwarded and never satisfies a rule, by itself or by its parts.

/**
 * The token's scopes: the `scope` string (RFC 9068 / Keycloak / Supabase; Azure AD's `scp` string)
 * split on spaces only (RFC 6749 §3.3: scope-tokens separated by %x20), and each element of a `scp`
 * (Okta) or non-standard `scope` array taken whole. A scope outside the scope-token set (a comma,
 * tab or other whitespace, a control, `"`, `\`, non-ASCII) is dropped, not split further.
 */
export function scopesOf(payload: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const add = (s: string) => {
    if (SCOPE_TOKEN.test(s)) out.add(s);
  };
  const read = (v: unknown) => {
    if (typeof v === 'string') for (const s of v.split(' ')) add(s);
    else if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') add(s);
  };
  read(payload.scope);
  read(payload.scp);
  return [...out];
}

/**
 * Checks the claims that depend on the kind of issuer and returns the Principal.
 * - `sub`: a non-empty string of at most MAX_SUBJECT_BYTES UTF-8 bytes (401 claim_invalid).
 * - payload `typ` (Keycloak): `Bearer` only; ID (`ID`) and refresh (`Refresh`) tokens are refused.
 * - AUTH_ALLOWED_CLIENTS restricts `azp` / `client_id`.
 * - Supabase: role must be `authenticated`; anonymous users need SUPABASE_ALLOW_ANONYMOUS.
 */
export function checkClaims(v: VerifiedToken, config: Config): Principal {
  const p = v.payload;
  // A subject the quota store cannot hold is the token's fault (401), on every route, before any
  // store call: never an outage (503), and never uncharged work under QUOTA_FAIL_OPEN.
  if (!isAcceptableSubject(p.sub)) {
    throw invalidToken('claim_invalid', `subject (sub) must be a non-empty string of at most ${MAX_SUBJECT_BYTES} UTF-8 bytes`);
  }
  if (p.typ !== undefined && (typeof p.typ !== 'string' || p.typ.toLowerCase() !== 'bearer')) {
    throw invalidToken('token_type_invalid', 'only access tokens (typ Bearer) are accepted');
  }
  const clientId = typeof p.azp === 'string' ? p.azp : typeof p.client_id === 'string' ? p.client_id : undefined;
  const allowed = config.auth.allowedClients;
  if (allowed && (clientId === undefined || !allowed.includes(clientId))) {
    throw forbidden('client_not_allowed', 'this client is not allowed here');
  }
  const email = typeof p.email === 'string' && p.email !== '' ? p.email : undefined;
  const supabase = v.issuer.kind === 'supabase';
  if (supabase) {
    if (p.role !== 'authenticated') throw invalidToken('token_type_invalid', 'only authenticated Supabase user tokens are accepted');
    if (p.is_anonymous === true && !config.supabase?.allowAnonymous) throw forbidden('anonymous_user', 'anonymous users are not allowed');
  }
  return Object.freeze({
    sub: p.sub,
    clientId,
    email,
    scopes: Object.freeze(scopesOf(p)),
    isPerson: supabase ? p.is_anonymous !== true : email !== undefined,
    supabase,
    emailVerifiedClaim: typeof p.email_verified === 'boolean' ? p.email_verified : undefined,
    issuer: v.issuer.issuer,
  });
}
