// tollgate gateway, njs half: refusals NGINX cannot express with maps (a header family, a duplicate,
// a token anywhere in the URI however it is spelled), the access log's redacted path, and the
// hashed key of the edge decision cache. Runs on njs 0.7.9 (Debian) and 0.8 (official image):
// ES5 plus let/const and arrow functions only (no destructuring, no Map/Set, no classes).
import crypto from 'crypto';

// Removed from every proxied request by conf.d/snippets/identity-headers.conf (the names the
// validator answers are set from its answer instead). Keep the two lists equal: a test compares
// them, and docs/GATEWAY.md publishes this one. Lower case.
const STRIPPED_NAMES = [
  // set by the gateway from the validator's answer
  'x-user-id',
  'x-scopes',
  'x-client-id',
  'x-user-email',
  'x-user-roles',
  'x-ticks-charged',
  'x-ticks-remaining',
  'x-token-binding',
  // tollgate's own control headers: the upstream learns the charge from X-Ticks-Charged
  'x-max-ticks',
  'x-tollgate-charge-id',
  // identity names of other gateways, Oathkeeper's X-User, frameworks' conventions
  'x-user',
  'x-userid',
  'x-user-name',
  'x-username',
  'x-user-login',
  'x-user-role',
  'x-user-groups',
  'x-user-scopes',
  'x-user-permissions',
  'x-user-sub',
  'x-user-tenant',
  'x-user-info',
  'x-userinfo',
  'x-user-agent',
  'x-scope',
  'x-auth-reason',
  'x-auth-status',
  'x-auth-user',
  'x-auth-user-id',
  'x-auth-userid',
  'x-auth-username',
  'x-auth-email',
  'x-auth-groups',
  'x-auth-roles',
  'x-auth-scopes',
  'x-auth-subject',
  'x-auth-token',
  'x-auth-key',
  // oauth2-proxy (and ingress-nginx's auth-response-headers examples)
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-auth-request-access-token',
  'x-auth-request-redirect',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  // Authelia, Caddy forward_auth examples, Apache/CGI conventions
  'remote-user',
  'remote-email',
  'remote-groups',
  'remote-name',
  'x-remote-user',
  'x-remote-email',
  'x-remote-groups',
  'x-remote-name',
  'x-remote-addr',
  // the original request as other fronts describe it (ingress-nginx, Symfony, IIS, Zend)
  'x-original-url',
  'x-original-uri',
  'x-original-method',
  'x-original-host',
  'x-original-forwarded-for',
  'x-original-forwarded-host',
  'x-original-forwarded-proto',
  'x-rewrite-url',
  // method override middleware (Express method-override, Rails, Symfony, ASP.NET)
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  // Pomerium, vouch-proxy, Cloudflare Access, Google IAP and API Gateway, AWS ALB, Azure App
  // Service, Kong, WSO2, and generic token forwarding
  'x-pomerium-jwt-assertion',
  'x-pomerium-claim-email',
  'x-pomerium-claim-groups',
  'x-pomerium-claim-user',
  'x-vouch-user',
  'x-vouch-success',
  'x-vouch-token',
  'x-vouch-idp-accesstoken',
  'x-vouch-idp-idtoken',
  'x-vouch-idp-refreshtoken',
  'cf-access-jwt-assertion',
  'cf-access-authenticated-user-email',
  'cf-access-client-id',
  'cf-access-client-secret',
  'x-goog-authenticated-user-email',
  'x-goog-authenticated-user-id',
  'x-goog-iap-jwt-assertion',
  'x-endpoint-api-userinfo',
  'x-apigateway-api-userinfo',
  'x-amzn-oidc-data',
  'x-amzn-oidc-identity',
  'x-amzn-oidc-accesstoken',
  'x-ms-client-principal',
  'x-ms-client-principal-id',
  'x-ms-client-principal-name',
  'x-ms-client-principal-idp',
  'x-consumer-id',
  'x-consumer-username',
  'x-consumer-custom-id',
  'x-credential-identifier',
  'x-authenticated-userid',
  'x-authenticated-scope',
  'x-anonymous-consumer',
  'x-jwt-assertion',
  'x-id-token',
  'x-access-token',
  // where the client came from and how: frameworks that trust a proxy read these for the
  // client address, scheme, host and path prefix (the gateway sets X-Forwarded-For/-Proto/-Host)
  'forwarded',
  'x-forwarded',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-forwarded-server',
  'x-scheme',
  'x-url-scheme',
  'front-end-https',
  'x-client-ip',
  'true-client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  // the client certificate as fronts and load balancers pass it on (Envoy's XFCC, Apache and
  // HAProxy conventions, Azure ARR, AWS ALB): the validator gets the gateway's own thumbprint of
  // the TLS client certificate (X-Client-Cert-S256, clientCertS256 below), never a client's
  'x-client-cert-s256',
  'x-client-cert',
  'x-forwarded-client-cert',
  'x-ssl-client-cert',
  'x-ssl-client-verify',
  'x-ssl-client-s-dn',
  'ssl-client-cert',
  'x-arr-clientcert',
  'x-amzn-mtls-clientcert',
];

// A client header whose name starts with one of these and is not stripped above is refused
// (400 header_forbidden): stock NGINX can only remove names it knows, so an identity name we
// did not list (X-User-Roles2, X-Auth-Request-Tenant) would otherwise reach the upstream.
const REFUSED_FAMILIES = [
  'x-user',
  'x-scopes',
  'x-client-id',
  'x-ticks-',
  'x-auth-',
  'x-max-ticks',
  'x-tollgate-',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-remote-',
  'remote-',
  'x-original-',
  'x-rewrite-url',
  'x-http-method',
  'x-method-override',
  'x-client-cert',
  'x-ssl-client-',
  'x-amzn-mtls-',
];

// Headers a request may carry once: two X-Max-Ticks would let the validator charge one value
// while an upstream reads another; NGINX itself already refuses a second Authorization. Two DPoP
// proofs are refused by RFC 9449 section 4.3, and NGINX 1.22's $http_dpop would pass only the first.
const SINGLE_NAMES = ['authorization', 'x-max-ticks', 'dpop'];

// njs interprets every step, once per request: the checks below are tables built here, once, and
// native regexes, never a closure per header.
const STRIPPED = {};
STRIPPED_NAMES.forEach((n) => {
  STRIPPED[n] = true;
});
const SINGLE = {};
SINGLE_NAMES.forEach((n) => {
  SINGLE[n] = true;
});
/**
 * Any name in a refused family: REFUSED_FAMILIES as one literal, and FIRST below written out, a
 * test keeps both equal to the lists. Built at load (new RegExp, forEach) they cost each request
 * ~200 µs of CPU on njs 0.7.9: every request's copy of the module pays for them again.
 */
const FAMILY =
  /^(?:x-user|x-scopes|x-client-id|x-ticks-|x-auth-|x-max-ticks|x-tollgate-|x-forwarded-user|x-forwarded-email|x-forwarded-groups|x-forwarded-preferred-username|x-forwarded-access-token|x-remote-|remote-|x-original-|x-rewrite-url|x-http-method|x-method-override|x-client-cert|x-ssl-client-|x-amzn-mtls-)/;
/**
 * The first characters (char codes, either case) of every single or family name: a header name
 * starting with anything else (Host, Accept, User-Agent, Cookie…) is skipped before any lower-casing.
 * A non-ASCII first character is never skipped (toLowerCase maps a few of those to ASCII letters).
 */
const FIRST = { 65: true, 97: true, 68: true, 100: true, 82: true, 114: true, 88: true, 120: true };

/** The first client header in a refused family that the gateway does not strip, or ''. */
function forbiddenHeader(r) {
  const raw = r.rawHeadersIn;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i][0].charCodeAt(0);
    if (c < 128 && FIRST[c] !== true) continue;
    const name = raw[i][0].toLowerCase();
    if (STRIPPED[name] !== true && FAMILY.test(name)) return raw[i][0];
  }
  return '';
}

/** header_duplicate (a second single header, wherever it is), header_forbidden, or '': one pass. */
function headerRefusal(r) {
  const raw = r.rawHeadersIn;
  let seen = null;
  let forbidden = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i][0].charCodeAt(0);
    if (c < 128 && FIRST[c] !== true) continue;
    const name = raw[i][0].toLowerCase();
    if (SINGLE[name] === true) {
      if (seen === null) seen = {};
      else if (seen[name] === true) return 'header_duplicate';
      seen[name] = true;
    }
    if (!forbidden && STRIPPED[name] !== true && FAMILY.test(name)) forbidden = true;
  }
  return forbidden ? 'header_forbidden' : '';
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * s.replace(re, f) for a global re. njs 0.7.9 reads past its offset map when a global regex resumes
 * at the very end of a non-ASCII string whose length is a multiple of 32 (the match before ended
 * the string): the worker then loops, allocating, until it is killed, or throws. Such a string is
 * replaced here match by match, never resuming at its end. None of the regexes below matches ''.
 */
function replaceAll(s, re, f) {
  if (!NON_ASCII.test(s)) return s.replace(re, f);
  let out = '';
  let last = 0;
  re.lastIndex = 0;
  while (last < s.length) {
    const m = re.exec(s);
    if (m === null) break;
    out += s.slice(last, m.index) + f.apply(null, m);
    last = re.lastIndex;
  }
  re.lastIndex = 0;
  return last < s.length ? out + s.slice(last) : out;
}

const PCT = /%([0-9A-Fa-f]{2})/g;
const pctByte = (m, h) => String.fromCharCode(parseInt(h, 16));

/** Every %XX decoded to its byte (as a code unit); a malformed escape is kept as written. */
function pctDecode(s) {
  if (s.indexOf('%') < 0) return s;
  return replaceAll(s, PCT, pctByte);
}

/**
 * "token" has a k: a name with no k or K, no %XX escape (which could hide one) and nothing
 * non-ASCII (toLowerCase turns the Kelvin sign into k) is no token name, and a URI like that, or
 * one without "%" and without a separator, has no token parameter. Cheap native tests that spare
 * most URIs the decoding. (No regex here holds a non-ASCII character: njs 0.7.9 never matches
 * one against the ASCII strings that split and slice return.)
 */
const MAY_NAME_TOKEN = /[kK%]|[^\x00-\x7f]/;
const HAS_SEPARATOR = /[?&;#]/;
const NAME_SEPARATORS = /[\s+.\-\[\]_]+/g;
const EDGE_UNDERSCORES = /^_+|_+$/g;
const TOKEN_NAME = /^(?:(?:access|id|refresh)_?)?token$/;
const underscore = () => '_';
const nothing = () => '';

/**
 * A parameter name that carries a bearer token to some framework: RFC 6750 section 2.3's
 * access_token, OIDC's id_token, refresh_token, and a bare token; in any letter case, percent-encoded
 * (twice, too), and with the separators PHP turns into "_" (space, ".", "[") or "-".
 */
function isTokenName(name) {
  if (!MAY_NAME_TOKEN.test(name)) return false;
  const n = replaceAll(replaceAll(pctDecode(pctDecode(name)).toLowerCase(), NAME_SEPARATORS, underscore), EDGE_UNDERSCORES, nothing);
  return TOKEN_NAME.test(n);
}

/** True when the URI (path `;params`, query, or anything that decodes to one) names a token parameter. */
function tokenInUri(uri) {
  if (!MAY_NAME_TOKEN.test(uri) || (uri.indexOf('%') < 0 && !HAS_SEPARATOR.test(uri))) return false;
  const parts = pctDecode(uri).split(/[?&;#]/);
  for (let i = 1; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq > 0 && isTokenName(parts[i].slice(0, eq))) return true;
  }
  return false;
}

const REDACTED = '[redacted]';
const redacted = () => REDACTED;
// Three or more base64url parts, the first a JSON header ("{" encodes as "eyJ"): a JWS or a JWE.
const JWT_SHAPED = /eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){2,}/g;
const PATH_PARAM = /(;)([^;\/=?]*)=([^;\/?]*)/g;
const QUERY_PARAM = /([?&;])([^?&;#=]*)=([^?&;#]*)/g;
// Nothing above can match a URI without these (and, without "%", decoding adds nothing).
const MAY_REDACT = /[;?%]|eyJ/;

function redactParam(m, sep, name, value) {
  return value !== REDACTED && isTokenName(name) ? sep + name + '=' + REDACTED : m;
}

function redactOnce(s) {
  const q = s.indexOf('?');
  const path = q < 0 ? s : s.slice(0, q);
  const query = q < 0 ? '' : s.slice(q);
  return replaceAll(replaceAll(path, PATH_PARAM, redactParam) + replaceAll(query, QUERY_PARAM, redactParam), JWT_SHAPED, redacted);
}

/**
 * A URI as it may be logged: token-named parameter values and JWT-shaped runs replaced by
 * [redacted]. Kept as sent unless decoding it reveals more to redact; then the decoded form is logged.
 */
function redactUri(uri) {
  if (!MAY_REDACT.test(uri)) return uri;
  const out = redactOnce(uri);
  const decoded = pctDecode(out);
  if (decoded === out) return out;
  const again = redactOnce(decoded);
  return again === decoded ? out : again;
}

/**
 * The edge refusal of a request, or '': header_duplicate, header_forbidden, or token_in_uri (the
 * request line would be written to the error log by any later warning, and the URI to the
 * upstream's logs; a Referer that carries one is refused too, it reaches the same error-log lines).
 */
function edgeRefusal(r) {
  const headers = headerRefusal(r);
  if (headers !== '') return headers;
  if (tokenInUri(r.variables.request_uri)) return 'token_in_uri';
  const referer = r.headersIn.Referer;
  if (referer !== undefined && tokenInUri(referer)) return 'token_in_uri';
  return '';
}

/** The access log's "uri": the normalised path ($uri), redacted. */
function logUri(r) {
  return redactUri(r.variables.uri || '');
}

/**
 * The edge decision cache's key: SHA-256 (hex) of the client's method, raw URI and Authorization.
 * NGINX writes the key in clear into each cache file (its "KEY:" line); hashed, no token rests on
 * disk. Inside the auth subrequest $request_method and $request_uri are the client's.
 */
function authCacheKey(r) {
  const auth = r.headersIn.Authorization || '';
  return crypto
    .createHash('sha256')
    .update(r.variables.request_method + '\n' + r.variables.request_uri + '\n' + auth)
    .digest('hex');
}

/**
 * The client certificate's thumbprint as RFC 8705 section 3.1 defines x5t#S256: base64url of SHA-256
 * over the DER certificate; '' without a certificate. Sent to the validator as X-Client-Cert-S256
 * (never the certificate). Stock NGINX has only a SHA-1 hex $ssl_client_fingerprint;
 * $ssl_client_raw_cert is the PEM, whose base64 body is the DER.
 */
function clientCertS256(r) {
  const pem = r.variables.ssl_client_raw_cert;
  if (!pem) return '';
  const der = Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----|\s+/g, ''), 'base64');
  return crypto.createHash('sha256').update(der).digest('base64url');
}

export default {
  edgeRefusal,
  forbiddenHeader,
  logUri,
  authCacheKey,
  clientCertS256,
  // for the tests
  STRIPPED_NAMES,
  REFUSED_FAMILIES,
  SINGLE_NAMES,
  FAMILY,
  FIRST,
  isTokenName,
  tokenInUri,
  redactUri,
};
