// DPoP (RFC 9449) settings: each issuer's policy (AUTH_DPOP for the AUTH_ISSUER shorthand, an
// AUTH_ISSUERS entry's `dpop`), the public origin proofs are made for, the iat window, server nonces
// and the per-instance replay cache's bound; checked once here, with every problem reported.
import type { IssuerConfig } from './issuers';
import type { Reading } from './read';

/**
 * What an issuer's tokens may or must do. `off`: tollgate checks no proof, so a DPoP-bound token of
 * that issuer (cnf.jkt) is refused, never taken for a bearer token; `allowed`: a bound token needs
 * its proof, unbound tokens pass as bearer tokens; `required`: every token must be DPoP-bound.
 */
export type DpopPolicy = 'off' | 'allowed' | 'required';
export const DPOP_POLICIES: readonly DpopPolicy[] = ['off', 'allowed', 'required'];

export interface DpopConfig {
  /** Whether any issuer checks proofs (policy allowed or required). */
  readonly enabled: boolean;
  /**
   * AUTH_PUBLIC_ORIGIN as an origin (`https://api.example.com`, no path): a proof's `htu` must be this
   * plus the original path. From configuration only, never from `Host` (a client chooses that).
   */
  readonly publicOrigin?: string;
  /** AUTH_DPOP_ALGORITHMS: what a proof may be signed with (the client's key: RFC 9449 §4.3 wants asymmetric). */
  readonly algorithms: readonly string[];
  /** How far a proof's `iat` may be from now, seconds, before AUTH_CLOCK_TOLERANCE_S is added. */
  readonly iatWindowS: number;
  /** AUTH_DPOP_NONCE: the HMAC key of the server nonces (RFC 9449 §9), or undefined when nonces are off. */
  readonly nonceSecret?: Uint8Array;
  /** Entries of the per-instance replay cache, used only without a store. */
  readonly replayCacheMax: number;
}

/** RFC 2104 §3: an HMAC key shorter than the hash output (32 bytes for SHA-256) weakens it. */
const MIN_NONCE_SECRET_BYTES = 32;

/** An origin: scheme, host and port only (what a proof's `htu` starts with). */
export function parsePublicOrigin(raw: string, production: boolean): { origin?: string; problem?: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { problem: `must be an origin such as https://api.example.com, got ${JSON.stringify(raw)}` };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { problem: 'must be an http(s) origin' };
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) {
    return { problem: `must be an origin only (scheme, host, port), without path, query or credentials: ${u.origin}` };
  }
  // Clients sign the URL they call: a proof for http:// would be made over a connection anyone can read.
  if (production && u.protocol !== 'https:') return { problem: 'must be https:// in production: the proofs would travel in clear' };
  return { origin: u.origin };
}

/**
 * Applies AUTH_DPOP to the AUTH_ISSUER issuer and reads the DPoP settings; problems go to `r`.
 * Returns the issuers with their policy set (unset: off) and the settings.
 */
export function withDpop(r: Reading, issuers: IssuerConfig[]): { issuers: IssuerConfig[]; dpop: DpopConfig } {
  const v = r.values;
  const production = v.NODE_ENV === 'production';
  let out = issuers;
  if (r.isSet('AUTH_DPOP') && v.AUTH_DPOP !== undefined) {
    const target = issuers.find((i) => i.issuer === v.AUTH_ISSUER && i.kind !== 'supabase');
    if (!target) {
      if (!r.refused('AUTH_ISSUER') && !r.refused('AUTH_MODE'))
        r.fail('AUTH_DPOP', 'applies to the AUTH_ISSUER issuer (AUTH_MODE=jwks or hs256); for AUTH_ISSUERS entries write "dpop" in the entry');
    } else {
      out = issuers.map((i) => (i === target ? { ...i, dpop: v.AUTH_DPOP } : i));
    }
  }
  const checking = out.filter((i) => i.dpop === 'allowed' || i.dpop === 'required');
  const enabled = checking.length > 0;
  let publicOrigin: string | undefined;
  if (v.AUTH_PUBLIC_ORIGIN !== undefined) {
    const p = parsePublicOrigin(v.AUTH_PUBLIC_ORIGIN, production);
    if (p.problem) r.fail('AUTH_PUBLIC_ORIGIN', p.problem);
    publicOrigin = p.origin;
  } else if (enabled && !r.refused('AUTH_PUBLIC_ORIGIN')) {
    r.fail(
      'AUTH_PUBLIC_ORIGIN',
      `is required with DPoP (on for ${checking.map((i) => i.issuer).join(', ')}): the public origin clients call, e.g. https://api.example.com; a proof's htu is checked against it, never against Host`,
    );
  }
  let nonceSecret: Uint8Array | undefined;
  if (v.AUTH_DPOP_NONCE) {
    if (!enabled) r.fail('AUTH_DPOP_NONCE', 'has no effect without DPoP: set AUTH_DPOP (or an entry\'s "dpop") to allowed or required');
    const secret = v.AUTH_DPOP_NONCE_SECRET;
    if (secret === undefined) {
      if (!r.refused('AUTH_DPOP_NONCE_SECRET'))
        r.fail(
          'AUTH_DPOP_NONCE_SECRET',
          'is required with AUTH_DPOP_NONCE=on: the same random key (32 bytes or more) on every instance, so that each accepts the nonces the others issue',
        );
    } else {
      nonceSecret = new TextEncoder().encode(secret);
      if (nonceSecret.length < MIN_NONCE_SECRET_BYTES)
        r.fail('AUTH_DPOP_NONCE_SECRET', `is ${nonceSecret.length} bytes; it must be at least ${MIN_NONCE_SECRET_BYTES}`);
    }
  } else if (r.isSet('AUTH_DPOP_NONCE_SECRET')) {
    r.fail('AUTH_DPOP_NONCE_SECRET', 'has no effect without AUTH_DPOP_NONCE=on');
  }
  if (v.AUTH_DPOP_ALGORITHMS?.length === 0) r.fail('AUTH_DPOP_ALGORITHMS', 'must list at least one algorithm');
  const dpop: DpopConfig = {
    enabled,
    publicOrigin,
    algorithms: v.AUTH_DPOP_ALGORITHMS ?? [],
    iatWindowS: v.AUTH_DPOP_IAT_WINDOW_S!,
    nonceSecret,
    replayCacheMax: v.AUTH_DPOP_REPLAY_CACHE_MAX!,
  };
  return { issuers: out, dpop };
}
