// What the token stage hands on: a token whose signature (or introspection answer) and registered
// claims passed. Its own module because both verify.ts and introspect.ts produce one.
import type { JWTPayload } from 'jose';
import type { IssuerConfig } from '../config';

export interface VerifiedToken {
  readonly issuer: IssuerConfig;
  readonly payload: Readonly<JWTPayload & Record<string, unknown>>;
  readonly alg: string;
  readonly kid?: string;
  /** The JWKS key that verified it: its RFC 7638 thumbprint and kid (keyRefOf); undefined for an HMAC secret. */
  readonly keyId?: string;
}
