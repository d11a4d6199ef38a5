// Stage 1: the access token from the Authorization header, failing closed on anything odd: the
// Bearer scheme (RFC 6750 §2.1), and the DPoP scheme (RFC 9449 §7.1) when an issuer checks DPoP proofs.
import { invalidToken, missingToken } from '../errors';

// RFC 6750 b64token, and then the JWS compact shape: exactly three base64url parts.
// Schemes are case-insensitive (RFC 9110 §11.1); one or more spaces separate scheme and token.
const BEARER = /^bearer +(\S+)$/i;
const DPOP = /^dpop +(\S+)$/i;
export const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// RFC 6750 §2.1 b64token: what an opaque token may look like, when an issuer accepts them.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** An access token and the scheme it came with: `dpop` promises a DPoP proof (checked by token/dpop.ts). */
export interface Credentials {
  readonly scheme: 'bearer' | 'dpop';
  readonly token: string;
}

/**
 * The access token of `authorization`, as extractBearer reads it; with `dpop` (some issuer checks
 * DPoP proofs), `DPoP <token>` too (RFC 9449 §7.1: the same token68 syntax). Without `dpop` the
 * DPoP scheme is another scheme, answered as RFC 6750 §3 says.
 */
export function extractCredentials(authorization: string | undefined, count: number, maxBytes: number, opaque = false, dpop = false): Credentials {
  if (dpop && authorization !== undefined && count === 1) {
    const value = authorization.trim();
    if (/^dpop(\s|$)/i.test(value)) {
      if (authorization.length > maxBytes + 16) throw invalidToken('token_too_large', `token longer than ${maxBytes} bytes`);
      const m = DPOP.exec(value);
      if (!m) throw invalidToken('token_malformed', 'DPoP credentials must be exactly one token');
      return { scheme: 'dpop', token: checkToken(m[1]!, maxBytes, opaque) };
    }
  }
  return { scheme: 'bearer', token: extractBearer(authorization, count, maxBytes, opaque) };
}

/**
 * Returns the compact JWS from `authorization`.
 * - no header, or a scheme other than Bearer → 401 without an error code (RFC 6750 §3);
 * - several Authorization headers, a token over `maxBytes`, anything but three base64url parts
 *   (trailing garbage, a comma-joined pair, JWE, padding) → 401 invalid_token.
 * With `opaque` (an issuer accepts opaque tokens through introspection), any RFC 6750 b64token
 * passes too; verify() tells the two apart.
 */
export function extractBearer(authorization: string | undefined, count: number, maxBytes: number, opaque = false): string {
  if (authorization === undefined || authorization.trim() === '') {
    if (count > 1) throw invalidToken('token_malformed', 'several Authorization headers');
    throw missingToken();
  }
  if (count > 1) throw invalidToken('token_malformed', 'several Authorization headers');
  // length check before any regex or decoding: a huge header costs nothing more than this
  if (authorization.length > maxBytes + 16) throw invalidToken('token_too_large', `token longer than ${maxBytes} bytes`);
  const value = authorization.trim();
  const m = BEARER.exec(value);
  if (!m) {
    if (/^bearer(\s|$)/i.test(value)) throw invalidToken('token_malformed', 'Bearer credentials must be exactly one token');
    // another scheme (Basic, Digest…): RFC 6750 §3 says answer with a bare challenge
    throw missingToken('the Authorization scheme is not Bearer');
  }
  return checkToken(m[1]!, maxBytes, opaque);
}

function checkToken(token: string, maxBytes: number, opaque: boolean): string {
  if (token.length > maxBytes) throw invalidToken('token_too_large', `token longer than ${maxBytes} bytes`);
  if (!JWS_COMPACT.test(token) && !(opaque && B64TOKEN.test(token)))
    throw invalidToken('token_malformed', 'token is not a compact JWS (three base64url parts)');
  return token;
}
