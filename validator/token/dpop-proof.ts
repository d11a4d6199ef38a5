// One DPoP proof (RFC 9449 §4) checked as §4.3 lists it, synchronously on node:crypto: the JWS read
// once (fast-verify.ts's strict parser), the public key imported from its `jwk` header and kept per
// thumbprint, the signature verified by signature.ts. The replay and nonce checks need state and
// live in dpop.ts; this module only says whether a proof is well-formed, signed, and for this request.
import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { normalizeTyp } from '../config/issuer-entries';
import { AuthError } from '../errors';
import { CRV_FOR_ALG, KTY_FOR_ALG } from '../lib/algorithms';
import { readPath } from '../lib/paths';
import { decodeBase64url, parseJws, type Jws } from './fast-verify';
import { jwsAlgorithm, prepare, signatureMatches } from './signature';

/** What the proof must match: the request as the front described it, and the token it comes with. */
export interface ProofRequest {
  /** The DPoP header's value (the first, when several came). */
  readonly proof: string | undefined;
  /** How many DPoP headers came (RFC 9449 §4.3: not more than one). */
  readonly proofCount: number;
  /** The original method, upper case. */
  readonly method: string;
  /** The original path, canonical (lib/paths.ts readPath): percent-decoded, no query. */
  readonly path: string;
  /** The access token the proof is presented with (its hash is `ath`). */
  readonly accessToken: string;
}

export interface ProofRules {
  readonly algorithms: readonly string[];
  /** AUTH_PUBLIC_ORIGIN, normalised (`new URL(…).origin`). */
  readonly publicOrigin: string;
  /** How far `iat` may be from now, seconds, tolerance included. */
  readonly iatLeewayS: number;
  readonly nowS: number;
}

/** A proof that passed: what the replay and nonce checks need. */
export interface CheckedProof {
  readonly jti: string;
  readonly iat: number;
  /** RFC 7638 thumbprint of the proof's key (base64url SHA-256). */
  readonly thumbprint: string;
  readonly nonce?: string;
}

/** Long enough for an RSA-4096 `jwk` and every claim; a proof is read only after this check. */
export const MAX_PROOF_BYTES = 8192;
/** RFC 9449 §4.2: jti is a unique identifier; 256 characters is ample for any random id. */
const MAX_JTI = 256;
/** RFC 7517 §6.2.2, §6.3.2, §6.4: members that only a private (or symmetric) JWK has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** RFC 7638 §3.2: the required members of each key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] };

/** A 401 invalid_dpop_proof of `code`, with the accepted algorithms as the challenge's `algs`. */
export const proofRefused = (
  code: 'dpop_proof_missing' | 'dpop_proof_invalid' | 'dpop_replayed' | 'dpop_binding_mismatch' | 'dpop_nonce_required',
  message: string,
  algs: readonly string[],
  headers?: Record<string, string>,
): AuthError => new AuthError(code, message, { algs, headers });

/**
 * RFC 7638 thumbprint of a public JWK: SHA-256 of its required members, in order, as JSON without
 * whitespace; undefined when a member is missing or not a string. Synchronous (jose's
 * calculateJwkThumbprint is async and is the reference in the tests).
 */
export function jwkThumbprint(jwk: Record<string, unknown>): string | undefined {
  const members = THUMBPRINT_MEMBERS[jwk.kty as string];
  if (members === undefined) return undefined;
  const parts: string[] = [];
  for (const m of members) {
    const v = jwk[m];
    if (typeof v !== 'string' || v === '') return undefined;
    parts.push(`${JSON.stringify(m)}:${JSON.stringify(v)}`);
  }
  return hash('sha256', `{${parts.join(',')}}`, 'base64url');
}

/** base64url SHA-256 of the access token: the `ath` a proof must carry (RFC 9449 §4.2). */
export const accessTokenHash = (token: string): string => hash('sha256', token, 'base64url');

// Public keys by thumbprint: a client signs every proof with one key, so it is imported once (a
// createPublicKey from a JWK costs tens of µs). Bounded; the oldest goes first.
const KEYS_MAX = 10_000;
const keys = new Map<string, KeyObject>();

function publicKey(thumbprint: string, jwk: Record<string, unknown>): KeyObject | undefined {
  let k = keys.get(thumbprint);
  if (k !== undefined) return k;
  try {
    // Only the members the thumbprint covers: anything else (kid, alg, use, x5c…) has no say in the key.
    const material: Record<string, string> = {};
    for (const m of THUMBPRINT_MEMBERS[jwk.kty as string]!) material[m] = jwk[m] as string;
    k = createPublicKey({ key: material, format: 'jwk' });
  } catch {
    return undefined;
  }
  if (keys.size >= KEYS_MAX) keys.delete(keys.keys().next().value as string);
  keys.set(thumbprint, k);
  return k;
}

/**
 * Checks `req.proof` as RFC 9449 §4.3 says, except the nonce and the jti's uniqueness (dpop.ts).
 * Throws 401 dpop_proof_missing / dpop_proof_invalid naming the first check that failed.
 */
export function checkProof(req: ProofRequest, rules: ProofRules): CheckedProof {
  const { algorithms: algs } = rules;
  const invalid = (why: string) => proofRefused('dpop_proof_invalid', `DPoP proof ${why}`, algs);
  if (req.proofCount === 0 || req.proof === undefined || req.proof === '')
    throw proofRefused('dpop_proof_missing', 'a DPoP-bound token needs a DPoP proof header', algs);
  if (req.proofCount > 1) throw invalid('header sent more than once');
  if (req.proof.length > MAX_PROOF_BYTES) throw invalid(`longer than ${MAX_PROOF_BYTES} bytes`);
  let jws: Jws;
  try {
    jws = parseJws(req.proof);
  } catch {
    throw invalid('is not a compact JWS with a JSON header and payload');
  }
  const { header: h, payload: p } = jws;
  if (typeof h.typ !== 'string' || normalizeTyp(h.typ) !== 'dpop+jwt') throw invalid('typ is not dpop+jwt');
  const alg = h.alg;
  // Asymmetric only (§4.3 item 5): AUTH_DPOP_ALGORITHMS holds no HMAC and no `none`.
  if (typeof alg !== 'string' || !algs.includes(alg))
    throw invalid(`alg ${typeof alg === 'string' ? JSON.stringify(alg.slice(0, 16)) : 'missing'} is not accepted`);
  if (h.crit !== undefined) throw invalid('has a crit header: no extension is understood');
  const jwk = h.jwk;
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw invalid('has no jwk header');
  const key = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(key, m))) throw invalid('jwk holds a private key');
  if (key.kty !== KTY_FOR_ALG[alg] || (CRV_FOR_ALG[alg] !== undefined && key.crv !== CRV_FOR_ALG[alg])) throw invalid(`jwk is not a key for ${alg}`);
  const thumbprint = jwkThumbprint(key);
  const pub = thumbprint === undefined ? undefined : publicKey(thumbprint, key);
  const prepared = pub === undefined ? null : prepare(pub, alg, jwsAlgorithm(alg)!);
  // null: not a usable public key for alg (an RSA key under 2048 bits, a point off the curve)
  if (prepared === null) throw invalid(`jwk is not a usable ${alg} public key`);
  const signature = decodeBase64url(jws.signature);
  if (signature === undefined || !signatureMatches(prepared, jws.signingInput, signature)) throw invalid('signature does not verify with its jwk');

  if (typeof p.jti !== 'string' || p.jti === '' || p.jti.length > MAX_JTI) throw invalid('has no usable jti');
  if (p.htm !== req.method) throw invalid(`is for another method (htm ${typeof p.htm === 'string' ? JSON.stringify(p.htm.slice(0, 16)) : 'missing'})`);
  checkHtu(p.htu, req.path, rules.publicOrigin, invalid);
  const iat = p.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('has no iat');
  const age = Math.round(rules.nowS - iat);
  if (Math.abs(rules.nowS - iat) > rules.iatLeewayS)
    throw invalid(`iat is ${Math.abs(age)} s in the ${age < 0 ? 'future' : 'past'}, outside the ${rules.iatLeewayS} s window`);
  if (typeof p.ath !== 'string' || p.ath !== accessTokenHash(req.accessToken)) throw invalid('ath is not the hash of this access token');
  if (p.nonce !== undefined && typeof p.nonce !== 'string') throw invalid('nonce is not a string');
  return { jti: p.jti, iat, thumbprint: thumbprint!, nonce: p.nonce as string | undefined };
}

/**
 * §4.3 item 9: `htu` is the request's URI without query and fragment. The origin is compared after
 * the WHATWG URL parser's scheme-based normalisation (case, default port: RFC 3986 §6.2.3) with
 * AUTH_PUBLIC_ORIGIN, never with Host; the path after lib/paths.ts's reading (percent-encoding
 * normalised, RFC 3986 §6.2.2), the same reading the route rules judge.
 */
function checkHtu(htu: unknown, path: string, origin: string, invalid: (why: string) => AuthError): void {
  if (typeof htu !== 'string') throw invalid('has no htu');
  let u: URL;
  try {
    u = new URL(htu);
  } catch {
    throw invalid('htu is not a URL');
  }
  if (u.username !== '' || u.password !== '' || u.origin !== origin) throw invalid(`is for another origin (htu ${JSON.stringify(u.origin.slice(0, 100))})`);
  const read = readPath(u.pathname);
  if (read !== path) throw invalid('is for another path (htu)');
}
