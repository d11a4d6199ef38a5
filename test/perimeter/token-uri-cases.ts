// One table of ways a token rides in a URI, run against the gateway's njs (nginx/njs/tollgate.js,
// in Node and in the real NGINX) and the validator's log redaction (validator/observability/redact-uri.ts).
// `SECRET` stands for the token's value: after refusal or redaction it must appear nowhere.

/** A value no real URI contains, so that finding it anywhere means it leaked. */
export const SECRET = 'S3cretTokenValue0042';

export interface TokenUriCase {
  /** The raw request target (`SECRET` inside). */
  readonly uri: string;
  /** Which framework reads that spelling as a token parameter, or why it is covered. */
  readonly why: string;
}

const c = (uri: string, why: string): TokenUriCase => ({ uri: uri.replace('$S', SECRET), why });

/** Refused at the edge (400 token_in_uri) and redacted in every log. */
export const TOKEN_URIS: readonly TokenUriCase[] = Object.freeze([
  c('/api/things?access_token=$S', 'RFC 6750 section 2.3'),
  c('/api/things?a=1&access_token=$S&b=2', 'not the first parameter'),
  c('/api/things?access%5Ftoken=$S', 'encoded underscore: every query parser decodes names'),
  c('/api/things?%61ccess_token=$S', 'encoded letter'),
  c('/api/things?%2561ccess_token=$S', 'encoded twice'),
  c('/api/things?ACCESS_TOKEN=$S', 'upper case: ASP.NET binds names case-insensitively'),
  c('/api/things?Access_Token=$S', 'mixed case'),
  c('/api/things?access.token=$S', 'PHP turns "." in a name into "_"'),
  c('/api/things?access+token=$S', 'PHP turns a space (+) into "_"'),
  c('/api/things?access_token%5B%5D=$S', 'PHP array syntax'),
  c('/api/things;access_token=$S', 'a ;parameter on the last segment (Tomcat, Jetty, Spring)'),
  c('/api/things;jsessionid=1;access_token=$S/x', 'a ;parameter inside the path'),
  c('/api/things?x=1;access_token=$S', 'a query split on ";" (some servers do)'),
  c('/api/things%3Faccess_token%3D$S', 'an encoded "?": the decoded path carries it'),
  c('/api/things?id_token=$S', 'OIDC id_token'),
  c('/api/things?refresh_token=$S', 'refresh_token'),
  c('/api/things?token=$S', 'a bare token'),
  c('/api/things?ID-Token=$S', 'a dash and mixed case'),
  c('/api/health?token=$S', 'a public path'),
  c('/files/hello.txt?access_token=$S', 'the static files (their 404s used to write the request line to the error log)'),
  c('/files/missing.txt;access_token=$S', 'a missing file, ;parameter'),
  c('/nowhere?access_token=$S', 'a 404 location'),
]);

/** Names that only look like a token parameter: never refused, never redacted. */
export const HARMLESS_URIS: readonly string[] = Object.freeze([
  '/api/things?page_token=abc',
  '/api/things?pageToken=abc',
  '/api/things?csrf_token=abc',
  '/api/things?token_type=bearer',
  '/api/things?tokens=3',
  '/api/things?q=token',
  '/api/tokens/token',
]);
