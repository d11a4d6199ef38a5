// Synchronous JWT verification on node:crypto, with the checks, order and verdicts of jose's jwtVerify
// (its reference: test/reliability/fast-verify-differential.test.ts). jose 6 verifies through WebCrypto,
// an async job on the libuv thread pool per signature; here one `crypto.verify` runs inline, with a
// KeyObject made once per key and algorithm (signature.ts). jose still imports the JWKS keys.
import { isUtf8 } from 'node:buffer';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { invalidToken, type AuthError } from '../errors';
import { fromJose } from './jose-errors';
import { jwsAlgorithm, prepare, signatureMatches, type VerifyKey } from './signature';

export type { VerifyKey } from './signature';

/** The jwtVerify options tollgate uses, with jose's meaning and defaults (seconds for times). */
export interface JwtVerifyOptions {
  algorithms?: readonly string[];
  issuer?: string | readonly string[];
  audience?: string | readonly string[];
  subject?: string;
  /** Expected header `typ`, compared as jose does (RFC 7515 §4.1.9: `application/` may be left out). */
  typ?: string;
  requiredClaims?: readonly string[];
  /** Seconds of leeway for exp, nbf and maxTokenAge. Default 0. */
  clockTolerance?: number;
  /** Seconds since iat after which the token is too old (makes iat required). */
  maxTokenAge?: number;
  currentDate?: Date;
}

/** A compact JWS read once: header and payload decoded, the signature left for verifyJwt. */
export interface Jws {
  readonly header: JWTHeaderParameters & Record<string, unknown>;
  readonly payload: JWTPayload & Record<string, unknown>;
  /** `header.payload` as sent: the bytes that were signed (RFC 7515 §5.2). */
  readonly signingInput: string;
  /** The third part, still encoded. */
  readonly signature: string;
}

// jose's error codes, so that the reason and the log line's `cause` stay what they were with jose.
const JWS_INVALID = 'ERR_JWS_INVALID';
const JWT_INVALID = 'ERR_JWT_INVALID';
const fail = (code: string, claim?: string, reason?: string): AuthError => fromJose({ code, claim, reason });
const malformed = (code: string) => fail(code);

const B64URL = /^[A-Za-z0-9_-]*$/;
const B64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * base64url without padding in its one canonical spelling (RFC 7515 §2, RFC 4648 §3.5: the unused
 * low bits of the last character are zero), or undefined. Stricter than jose, which accepts set pad
 * bits: one signature would then have several token strings, and anything keyed on the token's hash
 * (the verified-token cache, NGINX's edge cache key, a list of revoked token hashes) could be sidestepped by re-spelling it.
 */
export function decodeBase64url(s: string): Buffer | undefined {
  if (!B64URL.test(s)) return undefined;
  const tail = s.length & 3;
  if (tail === 1) return undefined;
  if (tail !== 0 && B64URL_ALPHABET.indexOf(s[s.length - 1]!) & (tail === 2 ? 0x0f : 0x03)) return undefined;
  return Buffer.from(s, 'base64url');
}

/** JSON object from a base64url part: strict UTF-8 (jose's fatal TextDecoder, which also drops one leading BOM). */
function jsonObject(part: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64url(part);
  if (bytes === undefined || !isUtf8(bytes)) return undefined;
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Reads a compact JWS (RFC 7515 §7.1): exactly three parts, the header and the payload JSON objects.
 * Throws token_malformed. The signature is checked by verifyJwt, which must be given this result.
 */
export function parseJws(token: string): Jws {
  const a = token.indexOf('.');
  const b = a < 0 ? -1 : token.indexOf('.', a + 1);
  if (b < 0 || token.indexOf('.', b + 1) >= 0) throw invalidToken('token_malformed', 'token is not a compact JWS (three parts)', JWS_INVALID);
  const header = jsonObject(token.slice(0, a));
  if (header === undefined) throw invalidToken('token_malformed', 'token header is not a base64url JSON object', JWS_INVALID);
  const payload = jsonObject(token.slice(a + 1, b));
  if (payload === undefined) throw invalidToken('token_malformed', 'token payload is not a base64url JSON object', JWT_INVALID);
  return { header: header as Jws['header'], payload: payload as Jws['payload'], signingInput: token.slice(0, b), signature: token.slice(b + 1) };
}

const normalizeTyp = (v: string) => (v.includes('/') ? v.toLowerCase() : `application/${v.toLowerCase()}`);

function numericDate(p: Record<string, unknown>, claim: string, required: boolean): number | undefined {
  const v = p[claim];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'number') throw fail('ERR_JWT_CLAIM_VALIDATION_FAILED', claim, 'invalid');
  return v;
}

/** jose's validateClaimsSet, in its order (the first failure names the reason). */
function checkClaims(header: Record<string, unknown>, p: Record<string, unknown>, o: JwtVerifyOptions): void {
  const failed = (claim: string, reason = 'check_failed') => fail('ERR_JWT_CLAIM_VALIDATION_FAILED', claim, reason);
  if (o.typ !== undefined && (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(o.typ))) throw failed('typ');
  const present = [...(o.requiredClaims ?? [])];
  if (o.maxTokenAge !== undefined) present.push('iat');
  if (o.audience !== undefined) present.push('aud');
  if (o.subject !== undefined) present.push('sub');
  if (o.issuer !== undefined) present.push('iss');
  for (const claim of new Set(present.reverse())) if (!Object.hasOwn(p, claim)) throw failed(claim, 'missing');
  if (o.issuer !== undefined && !(typeof o.issuer === 'string' ? [o.issuer] : o.issuer).includes(p.iss as string)) throw failed('iss');
  if (o.subject !== undefined && p.sub !== o.subject) throw failed('sub');
  if (o.audience !== undefined) {
    const want = typeof o.audience === 'string' ? [o.audience] : o.audience;
    const aud = p.aud;
    const ok = typeof aud === 'string' ? want.includes(aud) : Array.isArray(aud) && want.some((w) => aud.includes(w));
    if (!ok) throw failed('aud');
  }
  const tolerance = o.clockTolerance ?? 0;
  const now = Math.floor((o.currentDate?.getTime() ?? Date.now()) / 1000);
  const iat = numericDate(p, 'iat', o.maxTokenAge !== undefined);
  const nbf = numericDate(p, 'nbf', false);
  if (nbf !== undefined && nbf > now + tolerance) throw failed('nbf');
  const exp = numericDate(p, 'exp', false);
  if (exp !== undefined && exp <= now - tolerance) throw fail('ERR_JWT_EXPIRED', 'exp', 'check_failed');
  if (o.maxTokenAge !== undefined) {
    const age = now - iat!;
    if (age - tolerance > o.maxTokenAge) throw fail('ERR_JWT_EXPIRED', 'iat', 'check_failed');
    if (age < -tolerance) throw failed('iat');
  }
}

/**
 * jose's jwtVerify(token, key, options), synchronously: the same checks in the same order and the
 * same refusals (AuthErrors as fromJose makes them from jose's errors). Accepts a token or its parseJws().
 * Differs on purpose in one way: a part in a non-canonical base64url spelling is token_malformed.
 */
export function verifyJwt(token: string | Jws, key: VerifyKey, options: JwtVerifyOptions = {}): { payload: Jws['payload']; protectedHeader: Jws['header'] } {
  const jws = typeof token === 'string' ? parseJws(token) : token;
  const { header } = jws;
  // RFC 7515 §4.1.11 crit: jose understands only b64 (RFC 7797), and a JWT must not use b64=false
  let b64 = true;
  if (header.crit !== undefined) {
    const crit = header.crit as unknown;
    if (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== 'string' || c.length === 0)) throw malformed(JWS_INVALID);
    for (const c of crit as string[]) {
      if (c !== 'b64') throw fail('ERR_JOSE_NOT_SUPPORTED');
      if (!Object.hasOwn(header, c) || header[c] === undefined) throw malformed(JWS_INVALID);
    }
    if (crit.includes('b64')) {
      if (typeof header.b64 !== 'boolean') throw malformed(JWS_INVALID);
      b64 = header.b64;
    }
  }
  const name = header.alg;
  if (typeof name !== 'string' || name === '') throw malformed(JWS_INVALID);
  if (options.algorithms !== undefined && !options.algorithms.includes(name)) throw fail('ERR_JOSE_ALG_NOT_ALLOWED');
  const alg = jwsAlgorithm(name);
  if (alg === undefined) throw fail('ERR_JOSE_NOT_SUPPORTED');
  const signature = decodeBase64url(jws.signature);
  if (signature === undefined) throw malformed(JWS_INVALID);
  const p = prepare(key, name, alg);
  // jose throws a TypeError here (no code), which fromJose reads as a malformed token
  if (p === null) throw invalidToken('token_malformed', `the key cannot verify ${name.slice(0, 16)} signatures`);
  if (!signatureMatches(p, jws.signingInput, signature)) throw fail('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  if (!b64) throw malformed(JWT_INVALID);
  checkClaims(header, jws.payload, options);
  return { payload: jws.payload, protectedHeader: header };
}
