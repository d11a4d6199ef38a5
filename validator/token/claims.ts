// Stage 3b: issuer-specific claim rules on a verified token, and the Principal that later stages use.
import type { Config } from '../config';
import { forbidden, invalidToken } from '../errors';
import { splitScopes } from '../policy/routes';
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

/** `scope` string (RFC 9068 / Keycloak / Supabase) or `scp` array or string (Azure AD, Okta). */
export function scopesOf(payload: Record<string, unknown>): string[] {
  const out: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string') out.push(...splitScopes(v));
    else if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') out.push(...splitScopes(s));
  };
  add(payload.scope);
  add(payload.scp);
  return [...new Set(out)];
}

/**
 * Checks the claims that depend on the kind of issuer and returns the Principal.
 * - payload `typ` (Keycloak): `Bearer` only; ID (`ID`) and refresh (`Refresh`) tokens are refused.
 * - AUTH_ALLOWED_CLIENTS restricts `azp` / `client_id`.
 * - Supabase: role must be `authenticated`; anonymous users need SUPABASE_ALLOW_ANONYMOUS.
 */
export function checkClaims(v: VerifiedToken, config: Config): Principal {
  const p = v.payload;
  if (p.typ !== undefined && (typeof p.typ !== 'string' || p.typ.toLowerCase() !== 'bearer')) {
    throw invalidToken('token_type_invalid', 'only access tokens (typ Bearer) are accepted');
  }
  const clientId = typeof p.azp === 'string' ? p.azp : typeof p.client_id === 'string' ? p.client_id : undefined;
  const allowed = config.auth.allowedClients;
  if (allowed && (clientId === undefined || !allowed.includes(clientId))) {
    throw forbidden('client_not_allowed', 'this client is not allowed here');
  }
  const email = typeof p.email === 'string' && p.email !== '' ? p.email : undefined;
  if (v.issuer.supabase) {
    if (p.role !== 'authenticated') throw invalidToken('token_type_invalid', 'only authenticated Supabase user tokens are accepted');
    if (p.is_anonymous === true && !config.supabase?.allowAnonymous) throw forbidden('anonymous_user', 'anonymous users are not allowed');
  }
  return Object.freeze({
    sub: p.sub as string,
    clientId,
    email,
    scopes: Object.freeze(scopesOf(p)),
    isPerson: v.issuer.supabase ? p.is_anonymous !== true : email !== undefined,
    supabase: v.issuer.supabase,
    emailVerifiedClaim: typeof p.email_verified === 'boolean' ? p.email_verified : undefined,
    issuer: v.issuer.issuer,
  });
}
