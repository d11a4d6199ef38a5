// mTLS-bound access tokens (RFC 8705 §3): the certificate of the client's TLS connection must be
// the one the token was issued to. The validator never sees that connection: the front computes the
// certificate's SHA-256 thumbprint (nginx/njs/tollgate.js) and sends it on the auth subrequest.
import { timingSafeEqual } from 'node:crypto';
import { invalidToken } from '../errors';
import { S256 } from './binding';

// Caddy's {http.request.tls.client.fingerprint}: the same SHA-256, as 64 hex digits.
const HEX_S256 = /^[0-9a-fA-F]{64}$/;

/**
 * The thumbprint as the front sent it, when it has one of the shapes a front can send: 43
 * base64url characters (base64url of SHA-256 over the DER certificate, RFC 8705 §3.1: our NGINX's
 * njs), or the same digest as 64 hex digits (Caddy), returned as base64url. Anything else (another
 * encoding, two joined values, empty) is no certificate, so a bound token fails closed.
 */
export function readThumbprint(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (S256.test(value)) return value;
  return HEX_S256.test(value) ? Buffer.from(value, 'hex').toString('base64url') : undefined;
}

/**
 * Passes when `presented` (the front's thumbprint of the client certificate) equals `bound`
 * (the token's cnf x5t#S256), compared in constant time; otherwise 401 invalid_token, as RFC 8705
 * §3 asks of a protected resource. `trusted` false (AUTH_MTLS_TRUST_HEADER unset) means no
 * certificate can be known here: the header could have been written by the client, who can read
 * the thumbprint out of the token itself.
 */
export function checkCertificateBinding(bound: string, presented: string | undefined, trusted: boolean): void {
  if (!trusted || presented === undefined) {
    throw invalidToken('client_certificate_missing', 'the token is bound to a client certificate, and the request presented none');
  }
  // Both are 43 ASCII characters here (S256), so the buffers have the same length.
  if (!timingSafeEqual(Buffer.from(bound, 'latin1'), Buffer.from(presented, 'latin1'))) {
    throw invalidToken('mtls_binding_mismatch', 'the token is bound to another client certificate');
  }
}
