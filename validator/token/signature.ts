// Signature verification for one JWS algorithm on node:crypto: jose 6's table of algorithms, its
// rules for which key may verify which algorithm, and a KeyObject per key and algorithm made once.
import { constants, createHmac, createSecretKey, KeyObject, timingSafeEqual, verify } from 'node:crypto';
import { types } from 'node:util';
import type { CryptoKey } from 'jose';

/** A key as jwtVerify takes it: the JWKS store's CryptoKey, an HMAC secret's bytes, or a KeyObject. */
export type VerifyKey = CryptoKey | KeyObject | Uint8Array;

type Kind = 'hmac' | 'rsa' | 'pss' | 'ec' | 'ed';
export interface Alg {
  readonly kind: Kind;
  /** node:crypto digest; null for Ed25519 (the hash is part of the scheme). */
  readonly hash: string | null;
  /** WebCrypto algorithm a CryptoKey must carry to be used with this alg (jose's checkCryptoKey). */
  readonly name: string;
  readonly webHash?: string;
  readonly curve?: string;
  /** RFC 7518 §3.4: an ES signature is R || S, each the curve's byte length. */
  readonly sigBytes?: number;
  /** RFC 7518 §3.5: PSS salt length = hash length. */
  readonly saltLength?: number;
}

const hmac = (bits: number): Alg => ({ kind: 'hmac', hash: `sha${bits}`, name: 'HMAC', webHash: `SHA-${bits}` });
const rsa = (bits: number): Alg => ({ kind: 'rsa', hash: `sha${bits}`, name: 'RSASSA-PKCS1-v1_5', webHash: `SHA-${bits}` });
const pss = (bits: number): Alg => ({ kind: 'pss', hash: `sha${bits}`, name: 'RSA-PSS', webHash: `SHA-${bits}`, saltLength: bits / 8 });
const ec = (bits: number, curve: string, sigBytes: number): Alg => ({ kind: 'ec', hash: `sha${bits}`, name: 'ECDSA', curve, sigBytes });
const ed: Alg = { kind: 'ed', hash: null, name: 'Ed25519', curve: 'Ed25519' };

// jose 6's JWS table (lib/jws_algorithms), less ML-DSA. A Map: a header alg such as `__proto__` or
// `constructor` must not find anything on an object's prototype. jose signs EdDSA with Ed25519 only.
const ALGS = new Map<string, Alg>([
  ['HS256', hmac(256)],
  ['HS384', hmac(384)],
  ['HS512', hmac(512)],
  ['RS256', rsa(256)],
  ['RS384', rsa(384)],
  ['RS512', rsa(512)],
  ['PS256', pss(256)],
  ['PS384', pss(384)],
  ['PS512', pss(512)],
  ['ES256', ec(256, 'P-256', 64)],
  ['ES384', ec(384, 'P-384', 96)],
  ['ES512', ec(512, 'P-521', 132)],
  ['EdDSA', ed],
  ['Ed25519', ed],
]);
// KeyObject names of the curves (OpenSSL's), to bind a KeyObject's curve to the algorithm.
const NODE_CURVE: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
/** RSA keys shorter than this are refused, as jose does (RFC 7518 §3.3: 2048 bits or larger). */
const MIN_RSA_MODULUS_BITS = 2048;

/** A key ready for one algorithm: what crypto.verify takes, built once. */
export interface Prepared {
  readonly alg: Alg;
  readonly key: KeyObject;
  readonly verifyKey: KeyObject | { key: KeyObject; padding: number; saltLength?: number };
}

/** The KeyObject of `key` for `alg`, or undefined when jose would refuse that key for that alg. */
function keyObjectFor(key: VerifyKey, alg: Alg): KeyObject | undefined {
  // util.types, not instanceof: keys may come from another realm (a vm context, a test runner)
  if (types.isUint8Array(key)) {
    // jose imports the bytes as an HMAC key (WebCrypto refuses an empty one) and nothing else
    return alg.kind === 'hmac' && key.byteLength > 0 ? createSecretKey(Buffer.from(key)) : undefined;
  }
  if (types.isKeyObject(key)) {
    if (key.type !== (alg.kind === 'hmac' ? 'secret' : 'public')) return undefined;
    if (alg.kind === 'hmac') return key.symmetricKeySize ? key : undefined;
    const d = key.asymmetricKeyDetails;
    if (alg.kind === 'rsa' || alg.kind === 'pss') return key.asymmetricKeyType === 'rsa' && (d?.modulusLength ?? 0) >= MIN_RSA_MODULUS_BITS ? key : undefined;
    if (alg.kind === 'ec') return key.asymmetricKeyType === 'ec' && NODE_CURVE[d?.namedCurve ?? ''] === alg.curve ? key : undefined;
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  }
  if (!types.isCryptoKey(key)) return undefined;
  // jose's checkCryptoKey and checkModulusLength: the key was imported for this very algorithm
  const k = key as CryptoKey;
  const a = k.algorithm as { name: string; hash?: { name: string }; namedCurve?: string; modulusLength?: number };
  if (k.type !== (alg.kind === 'hmac' ? 'secret' : 'public') || a.name !== alg.name || !k.usages.includes('verify')) return undefined;
  if (alg.webHash !== undefined && a.hash?.name !== alg.webHash) return undefined;
  if (alg.kind === 'ec' && a.namedCurve !== alg.curve) return undefined;
  if ((alg.kind === 'rsa' || alg.kind === 'pss') && !((a.modulusLength ?? 0) >= MIN_RSA_MODULUS_BITS)) return undefined;
  return KeyObject.from(k);
}

// Per key and algorithm, made on first use and dropped with the key (the JWKS store replaces its
// CryptoKeys on refresh; an HMAC secret lives as long as the configuration).
const prepared = new WeakMap<object, Map<string, Prepared | null>>();

/** `key` ready to verify `name` signatures, or null when jose would refuse that key for that alg. */
export function prepare(key: VerifyKey, name: string, alg: Alg): Prepared | null {
  let byAlg = prepared.get(key);
  if (byAlg === undefined) prepared.set(key, (byAlg = new Map()));
  let p = byAlg.get(name);
  if (p === undefined) {
    const k = keyObjectFor(key, alg);
    p =
      k === undefined
        ? null
        : {
            alg,
            key: k,
            // A bare KeyObject wherever the defaults do: crypto.verify with an options object measured ~20 µs
            // slower per call. PSS needs its padding and exact salt length (WebCrypto's, so jose's).
            verifyKey: alg.kind === 'pss' ? { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength } : k,
          };
    byAlg.set(name, p);
  }
  return p;
}

/** A DER INTEGER (X.690 §8.3) of the unsigned big-endian bytes src[start, end): minimal, positive. */
function derInteger(src: Buffer, start: number, end: number): Buffer {
  let i = start;
  while (i < end - 1 && src[i] === 0) i++;
  const pad = src[i]! >= 0x80 ? 1 : 0;
  const out = Buffer.alloc(2 + pad + end - i);
  out[0] = 0x02;
  out[1] = pad + end - i; // at most 67 (P-521): short form
  src.copy(out, 2 + pad, i, end);
  return out;
}

/**
 * RFC 7518 §3.4's R || S as the ECDSA-Sig-Value SEQUENCE OpenSSL verifies (RFC 3279 §2.2.3): the
 * conversion Node makes for `{ dsaEncoding: 'ieee-p1363' }`, done here in ~1 µs. Measured on the
 * bench machine (Node 24, OpenSSL 3.5), one ES256 verification: ~125 µs CPU with the option, ~76 µs
 * with this and a bare KeyObject (OpenSSL's own P-256 verify: ~70 µs).
 */
function derSignature(sig: Buffer): Buffer {
  const half = sig.length >> 1;
  const r = derInteger(sig, 0, half);
  const s = derInteger(sig, half, sig.length);
  const body = r.length + s.length; // at most 138 (P-521): one length byte after 0x81
  const head = body < 0x80 ? [0x30, body] : [0x30, 0x81, body];
  return Buffer.concat([Buffer.from(head), r, s]);
}

/** Whether `signature` (decoded) is `p`'s signature of `signingInput`. */
export function signatureMatches(p: Prepared, signingInput: string, signature: Buffer): boolean {
  const data = Buffer.from(signingInput, 'latin1'); // ASCII: the parts passed the base64url check
  if (p.alg.kind === 'hmac') {
    const mac = createHmac(p.alg.hash!, p.key).update(data).digest();
    // timingSafeEqual needs equal lengths; the length of an HMAC is public
    return mac.length === signature.length && timingSafeEqual(mac, signature);
  }
  if (p.alg.sigBytes !== undefined && signature.length !== p.alg.sigBytes) return false;
  try {
    return verify(p.alg.hash, data, p.verifyKey, p.alg.kind === 'ec' ? derSignature(signature) : signature);
  } catch {
    return false; // OpenSSL refusing the input is a failed verification, as WebCrypto's is in jose
  }
}

/** jose's entry for a JWS `alg` name (RFC 7518 §3.1, RFC 8037), or undefined. */
export const jwsAlgorithm = (name: string): Alg | undefined => ALGS.get(name);
