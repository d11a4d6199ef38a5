// The JWS algorithms tollgate verifies with published keys, and the key each one needs: one table for
// the configuration (what may be listed) and the JWKS store (which published key fits a token).

/**
 * Asymmetric JWS algorithms (RFC 7518 §3.3–3.5, RFC 8037 §3.1). An HMAC secret is never accepted
 * where these are (RFC 8725 §2.1: a public key used as an HMAC secret forges any token).
 */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** RFC 7518 §6.1 `kty` of the key each algorithm verifies with. */
export const KTY_FOR_ALG: Readonly<Record<string, string>> = Object.freeze({
  RS256: 'RSA',
  RS384: 'RSA',
  RS512: 'RSA',
  PS256: 'RSA',
  PS384: 'RSA',
  PS512: 'RSA',
  ES256: 'EC',
  ES384: 'EC',
  ES512: 'EC',
  EdDSA: 'OKP',
});

/**
 * The curve each algorithm is bound to. RFC 7518 §3.4: ES512 is P-521 (not P-512). EdDSA is Ed25519
 * only: jose verifies EdDSA with WebCrypto's Ed25519, so an Ed448 key could never verify anyway.
 */
export const CRV_FOR_ALG: Readonly<Record<string, string>> = Object.freeze({ ES256: 'P-256', ES384: 'P-384', ES512: 'P-521', EdDSA: 'Ed25519' });

/** The default of an issuer that lists none: what most IdPs sign with (Keycloak RS256, Supabase ES256). */
export const DEFAULT_ALGORITHMS: readonly AsymmetricAlgorithm[] = Object.freeze(['RS256', 'ES256']);
