// A DPoP client (RFC 9449) for tests, the bench and the dev IdP's callers: a key pair made with jose,
// its RFC 7638 thumbprint (what a bound token's cnf.jkt holds), and proofs for one request, each
// part overridable so a test can break one §4.3 check at a time.
import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export type DpopAlg = 'ES256' | 'ES384' | 'ES512' | 'PS256' | 'RS256' | 'EdDSA';

export interface ProofOptions {
  method: string;
  /** The `htu`: the URL the client calls, query and fragment dropped by the client as §4.2 says. */
  url: string;
  /** The access token the proof goes with (`ath`); none for a token request. */
  accessToken?: string;
  nonce?: string;
  /** Default: a fresh UUID. */
  jti?: string;
  /** Seconds; default now. */
  iat?: number;
  /** Replaces or adds header members (`undefined` removes one): typ, alg, jwk… */
  header?: Record<string, unknown>;
  /** Replaces or adds claims (`undefined` removes one): htm, htu, ath… */
  claims?: Record<string, unknown>;
  /** Sign with this key instead of the client's (the header's jwk stays the client's unless overridden). */
  signWith?: CryptoKey;
}

export interface DpopClient {
  readonly alg: DpopAlg;
  readonly publicJwk: JWK;
  /** RFC 7638 thumbprint of the public key: what the IdP puts in cnf.jkt. */
  readonly jkt: string;
  readonly privateKey: CryptoKey;
  proof(o: ProofOptions): Promise<string>;
}

/** base64url SHA-256 of an access token: a proof's `ath`. */
export const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');

export async function dpopClient(alg: DpopAlg = 'ES256'): Promise<DpopClient> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const jkt = await calculateJwkThumbprint(publicJwk);
  return {
    alg,
    publicJwk,
    jkt,
    privateKey,
    async proof(o) {
      const u = new URL(o.url);
      const claims: Record<string, unknown> = {
        jti: o.jti ?? randomUUID(),
        htm: o.method,
        htu: `${u.origin}${u.pathname}`,
        iat: o.iat ?? Math.floor(Date.now() / 1000),
        ...(o.accessToken !== undefined ? { ath: ath(o.accessToken) } : {}),
        ...(o.nonce !== undefined ? { nonce: o.nonce } : {}),
        ...o.claims,
      };
      const header: Record<string, unknown> = { typ: 'dpop+jwt', alg, jwk: publicJwk, ...o.header };
      for (const o2 of [claims, header]) for (const k of Object.keys(o2)) if (o2[k] === undefined) delete o2[k];
      return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(o.signWith ?? privateKey);
    },
  };
}
