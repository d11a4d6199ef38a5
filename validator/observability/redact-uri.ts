// The original URI as the decision log may write it: never a token, however the parameter that
// carries it is spelled or encoded. The same rules as the gateway's njs (nginx/njs/tollgate.js);
// test/perimeter/token-uri-cases.ts is the one table of spellings both are tested on.

const REDACTED = '[redacted]';

/** Every %XX decoded to its byte (as a code unit); a malformed escape is kept as written. */
function pctDecode(s: string): string {
  return s.includes('%') ? s.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))) : s;
}

/**
 * A parameter name that carries a bearer token to some framework: RFC 6750 §2.3's `access_token`,
 * OIDC's `id_token`, `refresh_token` and a bare `token`; in any letter case (ASP.NET binds names
 * case-insensitively), percent-encoded (twice, too), with the separators PHP turns into `_`
 * (space, `.`, `[`) or a `-`, and with a PHP array suffix (`access_token[]`).
 */
function isTokenName(name: string): boolean {
  const n = pctDecode(pctDecode(name))
    .toLowerCase()
    .replace(/[\s+.\-[\]_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^(?:(?:access|id|refresh)_?)?token$/.test(n);
}

/** Three or more base64url parts, the first a JSON object (`{"` encodes as `eyJ`): a JWS or JWE. */
const JWT_SHAPED = /eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){2,}/g;
/** `;name=value` inside a path segment (Tomcat, Jetty and Spring read these as parameters). */
const PATH_PARAM = /(;)([^;/=?]*)=([^;/?]*)/g;
/** `name=value` after `?`, `&` or `;` (some servers split the query on `;` too). */
const QUERY_PARAM = /([?&;])([^?&;#=]*)=([^?&;#]*)/g;

function redactParam(m: string, sep: string, name: string, value: string): string {
  return value !== REDACTED && isTokenName(name) ? `${sep}${name}=${REDACTED}` : m;
}

function redactOnce(s: string): string {
  const q = s.indexOf('?');
  const path = q < 0 ? s : s.slice(0, q);
  const query = q < 0 ? '' : s.slice(q);
  return (path.replace(PATH_PARAM, redactParam) + query.replace(QUERY_PARAM, redactParam)).replace(JWT_SHAPED, REDACTED);
}

/**
 * `uri` with the values of token-named parameters (query or `;params`) and anything JWT-shaped
 * replaced by `[redacted]`. Logged as sent, unless percent-decoding it reveals more to redact
 * (`%61ccess_token`, `%26access_token%3D…`, an encoded JWT): then the decoded form is logged, redacted.
 */
export function redactUri(uri: string): string {
  // Hot path (every decision is logged): nothing token-like, nothing encoded, nothing to do.
  if (!/token|eyJ|%/i.test(uri)) return uri;
  const out = redactOnce(uri);
  const decoded = pctDecode(out);
  if (decoded === out) return out;
  const again = redactOnce(decoded);
  return again === decoded ? out : again;
}
