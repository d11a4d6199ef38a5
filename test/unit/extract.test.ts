// Extraction stage: the bearer token from the Authorization header, failing closed on anything odd.
import { AuthError } from '../../validator/errors';
import { extractBearer } from '../../validator/token/extract';

const MAX = 8192;
const JWS = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl';

function refusal(authorization: string | undefined, count = authorization === undefined ? 0 : 1, maxBytes = MAX): AuthError {
  try {
    extractBearer(authorization, count, maxBytes);
  } catch (e) {
    expect(e).toBeInstanceOf(AuthError);
    return e as AuthError;
  }
  throw new Error(`accepted ${JSON.stringify(authorization)}`);
}

describe('accepted', () => {
  test.each([
    ['Bearer', `Bearer ${JWS}`],
    ['bearer (scheme is case-insensitive, RFC 7235 §2.1)', `bearer ${JWS}`],
    ['BEARER', `BEARER ${JWS}`],
    ['BeArEr', `BeArEr ${JWS}`],
    ['several spaces after the scheme', `Bearer    ${JWS}`],
    ['surrounding whitespace (OWS)', `  Bearer ${JWS} `],
    ['short parts', 'Bearer a.b.c'],
    ['token exactly maxBytes long', `Bearer ${'a'.repeat(MAX - 4)}.b.c`],
  ])('%s', (_title, header) => {
    expect(extractBearer(header, 1, MAX)).toBe(header.trim().split(/ +/)[1]);
  });
});

describe('no credentials → bare 401 token_missing', () => {
  test.each([
    ['no header', undefined, 0],
    ['empty header', '', 1],
    ['blank header', '   ', 1],
    ['Basic scheme', 'Basic dXNlcjpwYXNz', 1],
    ['Digest scheme', 'Digest username="u", realm="api"', 1],
    ['a scheme that only starts with bearer', `Bearerx ${JWS}`, 1],
    ['token without a scheme', JWS, 1],
  ])('%s', (_title, header, count) => {
    const e = refusal(header, count);
    expect(e.status).toBe(401);
    expect(e.code).toBe('token_missing');
    expect(e.bearerError).toBeUndefined();
    // RFC 6750 §3: no error attribute when the request carried no bearer credentials
    expect(e.wwwAuthenticate).toBe('Bearer realm="api"');
  });
});

describe('malformed bearer credentials → 401 invalid_token', () => {
  test.each([
    ['scheme only', 'Bearer'],
    ['scheme and spaces', 'Bearer    '],
    ['trailing garbage', 'Bearer a.b.c d'],
    ['trailing garbage after a real token', `Bearer ${JWS} x`],
    ['comma-joined pair', `Bearer ${JWS},${JWS}`],
    ['comma-joined pair with schemes', `Bearer ${JWS}, Bearer ${JWS}`],
    ['two parts', 'Bearer a.b'],
    ['one part', 'Bearer abc'],
    ['four parts', 'Bearer a.b.c.d'],
    ['five parts (JWE)', 'Bearer a.b.c.d.e'],
    ['empty part', 'Bearer a..c'],
    ['empty signature (unsecured JWS)', 'Bearer a.b.'],
    ['leading dot', 'Bearer .b.c'],
    ['padding =', 'Bearer YQ==.Yg==.Yw=='],
    ['padding = on the signature only', `Bearer ${JWS}=`],
    ['base64 (not url) +', 'Bearer a+b.c.d'],
    ['base64 (not url) /', 'Bearer a/b.c.d'],
    ['quoted token', `Bearer "${JWS}"`],
    ['non-ASCII', 'Bearer é.b.c'],
    ['percent-encoded', 'Bearer a%2E.b.c'],
    ['tab inside the token', 'Bearer a.b\t.c'],
    ['tab as separator (RFC 6750 says 1*SP)', `Bearer\t${JWS}`],
    ['CR LF inside', `Bearer ${JWS}\r\nX-Injected: 1`],
    ['NUL inside', 'Bearer a.b.c\u0000'],
  ])('%s → token_malformed', (_title, header) => {
    const e = refusal(header);
    expect(e.status).toBe(401);
    expect(e.code).toBe('token_malformed');
    expect(e.bearerError).toBe('invalid_token');
    expect(e.wwwAuthenticate).toMatch(/^Bearer realm="api", error="invalid_token", error_description="[^"\r\n]+"$/);
  });

  test('a duplicated Authorization header (count 2) is refused even when the first is fine', () => {
    for (const [header, count] of [
      [`Bearer ${JWS}`, 2],
      [`Bearer ${JWS}`, 3],
      [undefined, 2],
      ['', 2],
    ] as const) {
      const e = refusal(header, count);
      expect(e.code).toBe('token_malformed');
      expect(e.status).toBe(401);
    }
  });
});

describe('oversized → token_too_large, before any parsing', () => {
  test.each([
    ['a token one byte over', `Bearer ${'a'.repeat(MAX - 3)}.b.c`],
    ['a huge well-formed token', `Bearer ${'a'.repeat(100_000)}.b.c`],
    ['a huge header of garbage', `Bearer ${'!'.repeat(MAX + 1)}`],
    ['a huge header with trailing garbage', `Bearer ${'a'.repeat(MAX + 20)} x`],
    ['a huge non-Bearer header', `Basic ${'a'.repeat(MAX + 100)}`],
    ['a huge header of spaces and dots', `Bearer ${' .'.repeat(MAX)}`],
  ])('%s', (_title, header) => {
    const e = refusal(header);
    expect(e.status).toBe(401);
    expect(e.code).toBe('token_too_large');
    expect(e.bearerError).toBe('invalid_token');
  });

  test('the limit is the configured maxBytes', () => {
    expect(extractBearer(`Bearer ${'a'.repeat(252)}.b.c`, 1, 256)).toHaveLength(256);
    expect(refusal(`Bearer ${'a'.repeat(253)}.b.c`, 1, 256).code).toBe('token_too_large');
  });

  test('a multi-megabyte header is refused quickly (no regex over it)', () => {
    const header = `Bearer ${'a.'.repeat(4_000_000)}`;
    const t = process.hrtime.bigint();
    expect(refusal(header).code).toBe('token_too_large');
    expect(Number(process.hrtime.bigint() - t) / 1e6).toBeLessThan(50);
  });
});
