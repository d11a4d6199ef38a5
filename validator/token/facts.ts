// What a token says about itself, read without verifying it: for the debug decision log line and
// `tollgate explain`, so that a refusal shows what the token carried (iss, aud, alg, kid, typ).
// Never the token, never its signature; every value is cut short, and nothing here decides anything.
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { scopesOf } from './claims';

/** The longest claim value written (characters): a hostile token may carry megabytes in `aud`. */
const MAX_VALUE = 200;

export interface TokenFacts {
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly alg?: string;
  readonly kid?: string;
  /** The header's `typ` (RFC 9068 `at+jwt`), then the payload's (Keycloak's `Bearer`), when present. */
  readonly typ?: string;
  readonly payloadTyp?: string;
  readonly sub?: string;
  readonly client?: string;
  /** The scopes a rule would see (scopesOf: invalid ones dropped). */
  readonly scopes?: string[];
}

/** `v` as a short printable string, or undefined when it is not a string. */
function short(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  return v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}…` : v;
}

/** The decoded header and payload of a compact JWS, or undefined when it does not decode. */
export function decodeUnverified(token: string): { header: ProtectedHeaderParameters; payload: JWTPayload & Record<string, unknown> } | undefined {
  try {
    return { header: decodeProtectedHeader(token), payload: decodeJwt(token) as JWTPayload & Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/** The facts of the bearer token in `authorization` (`Bearer <jws>`), or undefined when there is none that decodes. */
export function tokenFacts(authorization: string | undefined): TokenFacts | undefined {
  const m = authorization === undefined ? null : /^\s*bearer +(\S+)\s*$/i.exec(authorization);
  const decoded = m ? decodeUnverified(m[1]!) : undefined;
  if (!decoded) return undefined;
  const { header: h, payload: p } = decoded;
  const aud = Array.isArray(p.aud) ? p.aud.slice(0, 10).map((a) => short(a) ?? String(a)) : short(p.aud);
  return {
    iss: short(p.iss),
    aud,
    alg: short(h.alg),
    kid: short(h.kid),
    typ: short(h.typ),
    payloadTyp: short(p.typ),
    sub: short(p.sub),
    client: short(p.azp) ?? short(p.client_id),
    scopes: scopesOf(p)
      .slice(0, 50)
      .map((s) => short(s)!),
  };
}
