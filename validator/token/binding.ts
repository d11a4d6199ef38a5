// Token binding (sender-constrained tokens): which proof a token's `cnf` claim (RFC 7800 §3.1) asks
// for, decided here once for every stage: `jkt` → a DPoP proof (RFC 9449 §6.1), `x5t#S256` → the
// client certificate of the TLS connection (RFC 8705 §3.1). A bound token is a bearer token only
// together with its proof, so the proof is checked on every request (a cached token included),
// and a bound grant is never kept by the edge decision cache (its key holds no proof).
import { invalidToken } from '../errors';
import type { VerifiedToken } from './verified';

/** What the upstream is told in X-Token-Binding: the proofs the request passed. */
export type BindingKind = 'dpop' | 'mtls';

export interface TokenBinding {
  /** cnf.jkt: base64url SHA-256 JWK thumbprint (RFC 7638) of the client's DPoP key. */
  readonly jkt?: string;
  /** cnf["x5t#S256"]: base64url SHA-256 of the DER client certificate (RFC 8705 §3.1). */
  readonly x5tS256?: string;
  /** The kinds, in this order: one of them, or both when the IdP bound the token twice (each is checked). */
  readonly kinds: readonly BindingKind[];
}

/** Response header naming the binding of a granted token (`dpop`, `mtls`, or `dpop,mtls`); absent for a bearer token. */
export const BINDING_HEADER = 'X-Token-Binding';

/** A base64url SHA-256 digest: 32 bytes, 43 characters, no padding (RFC 7515 §2). */
export const S256 = /^[A-Za-z0-9_-]{43}$/;

const UNBOUND = null;
const known = new WeakMap<VerifiedToken, TokenBinding | typeof UNBOUND>();

/**
 * The binding `cnf` asks for, or undefined for a bearer token (no `cnf`). Derived once per verified
 * token (the cache hands out the same frozen object). A `cnf` tollgate cannot enforce is refused,
 * never ignored: a confirmation method we skip would turn a bound token back into a bearer token
 * (RFC 7800 §3: the presenter must prove possession). So are a `cnf` that is not an object, and
 * thumbprints that are not 43 base64url characters.
 */
export function bindingOf(verified: VerifiedToken): TokenBinding | undefined {
  const seen = known.get(verified);
  if (seen !== undefined) return seen ?? undefined;
  const b = readCnf(verified.payload.cnf);
  known.set(verified, b ?? UNBOUND);
  return b;
}

function readCnf(cnf: unknown): TokenBinding | undefined {
  if (cnf === undefined) return undefined;
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) throw invalidToken('claim_invalid', 'the cnf claim is not an object');
  const c = cnf as Record<string, unknown>;
  const jkt = Object.hasOwn(c, 'jkt') ? c.jkt : undefined;
  const x5t = Object.hasOwn(c, 'x5t#S256') ? c['x5t#S256'] : undefined;
  if (jkt !== undefined && (typeof jkt !== 'string' || !S256.test(jkt))) throw invalidToken('claim_invalid', 'cnf.jkt is not a base64url SHA-256 thumbprint');
  if (x5t !== undefined && (typeof x5t !== 'string' || !S256.test(x5t))) {
    throw invalidToken('claim_invalid', 'cnf x5t#S256 is not a base64url SHA-256 thumbprint');
  }
  const kinds: BindingKind[] = [];
  if (jkt !== undefined) kinds.push('dpop');
  if (x5t !== undefined) kinds.push('mtls');
  if (kinds.length === 0) {
    throw invalidToken('claim_invalid', 'the token is bound (cnf) by a method tollgate cannot check: only jkt (DPoP) and x5t#S256 (mTLS)');
  }
  return Object.freeze({ jkt: jkt as string | undefined, x5tS256: x5t as string | undefined, kinds: Object.freeze(kinds) });
}
