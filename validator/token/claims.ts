// Stage 3b: issuer-specific claim rules on a verified token, and the Principal that later stages use.
import type { Config } from '../config';
import { forbidden, invalidToken } from '../errors';
import { claimAt, type ClaimPath } from '../lib/claim-mapping';
import { SCOPE_TOKEN } from '../lib/scopes';
import { isAcceptableSubject, MAX_SUBJECT_BYTES } from '../lib/subject';
import type { VerifiedToken } from './verify';

/** Who is calling, derived from a verified token. */
export interface Principal {
  /** The subject as the issuer wrote it (what Supabase's auth.users is keyed by). */
  readonly sub: string;
  /** The issuer's subjectPrefix + sub: X-User-Id and the quota key (config/subjects.ts). */
  readonly userId: string;
  readonly clientId?: string;
  readonly email?: string;
  readonly scopes: readonly string[];
  /** Roles, groups or permissions from the issuer's claim mapping (`claims.roles`: `roles`, or the preset's). */
  readonly roles: readonly string[];
  /** The verified payload (or introspection answer), deeply frozen: route rules' `claims` read it. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** A person (Supabase user, or a token that carries an email) rather than a machine client. */
  readonly isPerson: boolean;
  readonly supabase: boolean;
  /** `email_verified` claim as sent (only meaningful for IdPs that control it). */
  readonly emailVerifiedClaim?: boolean;
  readonly issuer: string;
}

// A token scope outside SCOPE_TOKEN (a comma, say) is dropped from the principal: it is never
// forwarded and never satisfies a rule, by itself or by its parts.

const SCOPE_CLAIMS: readonly ClaimPath[] = [['scope'], ['scp']];

/**
 * The token's scopes, read from each of `paths` (default `scope` and `scp`, the issuer's claim
 * mapping otherwise): a string (RFC 9068 / Keycloak / Supabase `scope`, Entra's `scp`) split on
 * spaces only (RFC 6749 §3.3: scope-tokens separated by %x20), and each element of an array (Okta's
 * `scp`, Auth0's `permissions`) taken whole. A scope outside the scope-token set (a comma, tab or
 * other whitespace, a control, `"`, `\`, non-ASCII) is dropped, not split further.
 */
export function scopesOf(payload: Readonly<Record<string, unknown>>, paths: readonly ClaimPath[] = SCOPE_CLAIMS): string[] {
  const out = new Set<string>();
  const add = (s: string) => {
    if (SCOPE_TOKEN.test(s)) out.add(s);
  };
  for (const path of paths) {
    const v = claimAt(payload, path);
    if (typeof v === 'string') for (const s of v.split(' ')) add(s);
    else if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') add(s);
  }
  return [...out];
}

// A role is matched whole, never forwarded: any non-empty name up to 256 characters without controls.
const ROLE = /^[^\u0000-\u001f\u007f]{1,256}$/;

/** The token's roles, read from each of `paths`: a string is one role, an array one role per string item. */
export function rolesOf(payload: Readonly<Record<string, unknown>>, paths: readonly ClaimPath[]): string[] {
  const out = new Set<string>();
  const add = (r: unknown) => {
    if (typeof r === 'string' && ROLE.test(r)) out.add(r);
  };
  for (const path of paths) {
    const v = claimAt(payload, path);
    if (Array.isArray(v)) v.forEach(add);
    else add(v);
  }
  return [...out];
}

/** The first of `paths` that holds a non-empty string. */
function firstString(payload: Readonly<Record<string, unknown>>, paths: readonly ClaimPath[]): string | undefined {
  for (const path of paths) {
    const v = claimAt(payload, path);
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/**
 * Payload `typ` of an access token (Keycloak): `Bearer`, or `DPoP` for one bound to a DPoP key
 * (Keycloak since 23: keycloak/keycloak#21919); ID (`ID`) and refresh (`Refresh`) tokens are not.
 */
const ACCESS_TYPS = new Set(['bearer', 'dpop']);
const dpopBound = (p: Readonly<Record<string, unknown>>): boolean => {
  const cnf = p.cnf as Record<string, unknown> | null | undefined;
  return typeof cnf === 'object' && cnf !== null && typeof cnf.jkt === 'string';
};

/**
 * Checks the claims that depend on the kind of issuer and returns the Principal. Subject, scopes,
 * roles, e-mail and client id come from the issuer's claim mapping (preset and overrides).
 * - subject: a non-empty string of at most MAX_SUBJECT_BYTES UTF-8 bytes (401 claim_invalid).
 * - payload `typ` (Keycloak): `Bearer`, or `DPoP` with cnf.jkt; ID (`ID`) and refresh (`Refresh`) tokens are refused.
 * - AUTH_ALLOWED_CLIENTS restricts the client id (`azp` / `client_id` unless mapped otherwise).
 * - Supabase: role must be `authenticated`; anonymous users need SUPABASE_ALLOW_ANONYMOUS.
 */
export function checkClaims(v: VerifiedToken, config: Config): Principal {
  const p = v.payload;
  const map = v.issuer.claims;
  const sub = claimAt(p, map.subject);
  // A subject the quota store cannot hold is the token's fault (401), on every route, before any
  // store call: never an outage (503), and never uncharged work under QUOTA_FAIL_OPEN.
  if (!isAcceptableSubject(sub)) {
    throw invalidToken('claim_invalid', `subject (${map.subject.join('.')}) must be a non-empty string of at most ${MAX_SUBJECT_BYTES} UTF-8 bytes`);
  }
  const prefix = v.issuer.subjectPrefix;
  const userId = prefix ? prefix + sub : sub;
  if (prefix && !isAcceptableSubject(userId)) {
    throw invalidToken('claim_invalid', `subject (${map.subject.join('.')}) with the issuer's subjectPrefix must be at most ${MAX_SUBJECT_BYTES} UTF-8 bytes`);
  }
  if (p.typ !== undefined && (typeof p.typ !== 'string' || !ACCESS_TYPS.has(p.typ.toLowerCase()) || (p.typ.toLowerCase() === 'dpop' && !dpopBound(p)))) {
    throw invalidToken('token_type_invalid', 'only access tokens (typ Bearer, or DPoP for a DPoP-bound one) are accepted');
  }
  const clientId = firstString(p, map.clientId);
  const allowed = config.auth.allowedClients;
  if (allowed && (clientId === undefined || !allowed.includes(clientId))) {
    throw forbidden('client_not_allowed', 'this client is not allowed here');
  }
  const email = firstString(p, [map.email]);
  const supabase = v.issuer.kind === 'supabase';
  if (supabase) {
    if (p.role !== 'authenticated') throw invalidToken('token_type_invalid', 'only authenticated Supabase user tokens are accepted');
    if (p.is_anonymous === true && !config.supabase?.allowAnonymous) throw forbidden('anonymous_user', 'anonymous users are not allowed');
  }
  return Object.freeze({
    sub,
    userId,
    clientId,
    email,
    scopes: Object.freeze(scopesOf(p, map.scopes)),
    roles: Object.freeze(rolesOf(p, map.roles)),
    claims: p,
    isPerson: supabase ? p.is_anonymous !== true : email !== undefined,
    supabase,
    emailVerifiedClaim: typeof p.email_verified === 'boolean' ? p.email_verified : undefined,
    issuer: v.issuer.issuer,
  });
}
