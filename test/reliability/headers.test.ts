// Hostile forwarded headers: CR/LF, control characters, quotes, non-ASCII and very long values in
// X-Original-URI, X-Original-Method, X-Request-Id and X-Max-Ticks are logged safely (one JSON line,
// escaped) and never echoed into a response header; oversized headers are refused cleanly (431);
// conditional and caching request headers never change a decision's status (no 304/206/412).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { rawHttp, validateRequest, type RawResponse } from './harness';

let key: TestKey;
let idp: TestIssuer;
let t: TestApp;
let server: http.Server;
let port: number;
let token: string;

beforeAll(async () => {
  key = await makeKey('ES256', 'hdr-key');
  idp = await TestIssuer.start([key]);
  t = await buildTestApp(
    { AUTH_MODE: 'jwks', AUTH_ISSUER: idp.issuer, AUTH_AUDIENCE: 'api', AUTH_JWKS_URL: idp.jwksUrl, LOG_LEVEL: 'info' },
    { noStore: true },
  );
  server = http.createServer(t.listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  token = await mint({ iss: idp.issuer, aud: 'api' }, { key, claims: { sub: 'hdr-user' } });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await t.close();
  await idp.stop();
});

const MARK = 'INJECTED';
const healthy = async () => (await fetch(`http://127.0.0.1:${port}/api/health`)).status === 200;

/** Every log line written while `fn` runs: each must be exactly one line of valid JSON. */
async function logsOf(fn: () => Promise<void>): Promise<Array<Record<string, unknown>>> {
  const from = t.logs.length;
  await fn();
  await new Promise((r) => setTimeout(r, 20));
  return t.logs.slice(from).map((chunk) => {
    expect(chunk.endsWith('\n')).toBe(true);
    const body = chunk.slice(0, -1);
    expect(body).not.toMatch(/[\r\n\u0000-\u001f]/); // one physical line, no raw control character
    return JSON.parse(body) as Record<string, unknown>;
  });
}

function neverEchoed(r: RawResponse): void {
  for (const [name, value] of r.headers) {
    expect(name).not.toContain(MARK.toLowerCase());
    expect(value).not.toContain(MARK);
  }
  expect(r.headers.find(([n]) => n === 'set-cookie')).toBeUndefined();
}

// Values that reach the app: quotes, backslashes, JSON and log-format metacharacters, percent-encoded
// CR/LF, tabs, obs-text (latin1) and UTF-8 bytes, U+2028/2029 line separators.
const REACHING: Array<[string, Buffer]> = [
  ['quotes and backslashes', Buffer.from(`/api/x?"}{\\"${MARK}":"1"\\`)],
  ['percent-encoded CRLF header', Buffer.from(`/api/x%0d%0aX-${MARK}:%20yes%0d%0a`)],
  ['percent-encoded NUL and controls', Buffer.from(`/api/%00%01%1b[31m${MARK}%7f`)],
  ['horizontal tab', Buffer.from(`/api/x\t${MARK}`)],
  ['obs-text bytes', Buffer.from([0x2f, 0x61, 0x70, 0x69, 0x2f, 0xff, 0xfe, 0x80, ...Buffer.from(MARK)])],
  ['UTF-8 and line separators', Buffer.from(`/api/ü\u2028\u2029${MARK}`, 'utf8')],
  ['log-forging JSON line', Buffer.from(`/api/x","level":60,"msg":"${MARK}","granted":true,"x":"`)],
  ['long value (12 KiB)', Buffer.from(`/api/${'a'.repeat(12 * 1024)}${MARK}`)],
];

// Values Node's HTTP parser refuses before any application code runs (a clean 400, no crash).
const REFUSED_BY_PARSER: Array<[string, Buffer]> = [
  ['bare LF splitting a header', Buffer.from(`/api/x\nX-${MARK}: yes`)],
  ['bare CR', Buffer.from(`/api/x\rX-${MARK}: yes`)],
  ['NUL byte', Buffer.from(`/api/x\u0000${MARK}`)],
  ['escape sequence', Buffer.from(`/api/x\u001b[2J${MARK}`)],
  ['DEL', Buffer.from(`/api/x\u007f${MARK}`)],
];

describe('injection through forwarded headers', () => {
  for (const header of ['X-Original-URI', 'X-Original-Method', 'X-Request-Id', 'X-Max-Ticks', 'X-Forwarded-For', 'User-Agent']) {
    test.each(REACHING)(`${header}: %s → a decision, logged as one escaped JSON line, never echoed`, async (_name, value) => {
      let r!: RawResponse;
      const lines = await logsOf(async () => {
        r = await rawHttp(
          port,
          validateRequest([
            ['Authorization', `Bearer ${token}`],
            ['X-Original-Method', 'GET'],
            ['X-Original-URI', '/api/things'],
            [header, value],
          ]),
        );
      });
      expect(r.status).toBeGreaterThanOrEqual(200);
      expect(r.status).toBeLessThan(500);
      neverEchoed(r);
      const decision = lines.find((l) => l.msg === 'granted' || l.msg === 'refused');
      expect(decision).toBeDefined();
      // the log-forging attempt stays inside a string value: the line's own fields are intact
      expect(decision!.level).toBe(30);
      expect(decision!.granted).toBe(r.status === 200);
      // the request id echoed back is ours when the client's is not a plain token
      const rid = r.headers.find(([n]) => n === 'x-request-id')?.[1];
      expect(rid).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expect(JSON.stringify(lines)).not.toContain(token); // tokens are never logged
    });

    test.each(REFUSED_BY_PARSER)(`${header}: %s → 400 from the HTTP parser, nothing logged as a decision`, async (_name, value) => {
      let r!: RawResponse;
      const lines = await logsOf(async () => {
        r = await rawHttp(
          port,
          validateRequest([
            ['Authorization', `Bearer ${token}`],
            [header, value],
          ]),
        );
      });
      expect(r.status).toBe(400);
      neverEchoed(r);
      expect(lines.filter((l) => l.msg === 'granted')).toEqual([]);
    });
  }

  test('X-Max-Ticks hostile values on a charged route → 400 max_ticks_invalid, never charged', async () => {
    for (const v of ['0', '-1', '1.5', '1e3', '0x10', '99999999999', '1,1', '1 OR 1=1', "1'; DROP TABLE profiles;--", ' ', `1${MARK}`]) {
      const r = await rawHttp(
        port,
        validateRequest([
          ['Authorization', `Bearer ${token}`],
          ['X-Original-Method', 'POST'],
          ['X-Original-URI', '/api/tasks'],
          ['X-Max-Ticks', v],
        ]),
      );
      expect([r.status, r.headers.find(([n]) => n === 'x-auth-reason')?.[1]]).toEqual([400, 'max_ticks_invalid']);
      neverEchoed(r);
    }
  });

  test('a forged X-User-Id / X-Scopes sent to the validator is ignored: the token decides', async () => {
    const r = await rawHttp(
      port,
      validateRequest([
        ['Authorization', `Bearer ${token}`],
        ['X-Original-Method', 'GET'],
        ['X-Original-URI', '/api/things'],
        ['X-User-Id', 'admin'],
        ['X-Scopes', 'api:admin'],
      ]),
    );
    expect(r.status).toBe(200);
    expect(r.headers.filter(([n]) => n === 'x-user-id')).toEqual([['x-user-id', 'hdr-user']]);
    expect(r.headers.find(([n]) => n === 'x-scopes')?.[1]).toBe('');
  });

  test('oversized headers are refused cleanly with 431 and the server keeps serving', async () => {
    for (const [name, size] of [
      ['X-Original-URI', 20 * 1024],
      ['Authorization', 17 * 1024],
      ['X-Padding', 64 * 1024],
      ['X-Padding', 1024 * 1024],
    ] as const) {
      const r = await rawHttp(port, validateRequest([[name, name === 'Authorization' ? `Bearer ${'a'.repeat(size)}` : `/${'a'.repeat(size)}`]]));
      expect(r.status).toBe(431);
    }
    // many small headers adding up past the limit
    const many = Array.from({ length: 400 }, (_, i) => [`X-H${i}`, 'v'.repeat(60)] as [string, string]);
    expect((await rawHttp(port, validateRequest(many))).status).toBe(431);
    // a token over AUTH_MAX_TOKEN_BYTES (8 KiB) but under the header limit: refused before parsing
    const big = await rawHttp(
      port,
      validateRequest([
        ['Authorization', `Bearer ${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`],
        ['X-Original-Method', 'GET'],
        ['X-Original-URI', '/api/things'],
      ]),
    );
    expect([big.status, big.headers.find(([n]) => n === 'x-auth-reason')?.[1]]).toEqual([401, 'token_too_large']);
    expect(await healthy()).toBe(true);
  });

  test('a request line with a smuggling shape (CL + TE, duplicated CL) is refused by the parser', async () => {
    const smuggle = Buffer.from(
      'GET /api/auth/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/auth/validate HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect((await rawHttp(port, smuggle)).status).toBe(400);
    const twoCl = Buffer.from('GET /api/auth/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    expect((await rawHttp(port, twoCl)).status).toBe(400);
    expect(await healthy()).toBe(true);
  });
});

describe('conditional and caching request headers never change a decision', () => {
  const CONDITIONAL: Array<[string, string]> = [
    ['If-None-Match', '*'],
    ['If-None-Match', '"abc", W/"def"'],
    ['If-Match', '"nope"'],
    ['If-Modified-Since', new Date(Date.now() + 86400_000).toUTCString()],
    ['If-Unmodified-Since', 'Thu, 01 Jan 1970 00:00:00 GMT'],
    ['Range', 'bytes=0-0'],
    ['Range', 'bytes=5-1,0-'],
    ['If-Range', '"abc"'],
    ['Cache-Control', 'only-if-cached'],
    ['Pragma', 'no-cache'],
  ];

  test.each(CONDITIONAL)('%s: %s → still 200 granted / 401 refused, no validators or ranges in the answer', async (name, value) => {
    for (const [auth, expected] of [
      [`Bearer ${token}`, 200],
      [undefined, 401],
      ['Bearer x.y.z', 401],
    ] as const) {
      const res = await fetch(`http://127.0.0.1:${port}/api/auth/validate`, {
        headers: { ...(auth ? { authorization: auth } : {}), 'x-original-method': 'GET', 'x-original-uri': '/api/things', [name]: value },
      });
      await res.arrayBuffer();
      expect(res.status).toBe(expected);
      for (const h of ['etag', 'last-modified', 'content-range', 'accept-ranges']) expect(res.headers.get(h)).toBeNull();
      expect(res.headers.get('cache-control')).toBe('no-store');
      if (expected === 200) expect(res.headers.get('x-user-id')).toBe('hdr-user');
    }
  });

  test('the same request twice with If-None-Match of nothing we sent: both 200 (no 304 from a cached validator)', async () => {
    const h = { authorization: `Bearer ${token}`, 'x-original-method': 'GET', 'x-original-uri': '/api/things' };
    const first = await fetch(`http://127.0.0.1:${port}/api/auth/validate`, { headers: h });
    const again = await fetch(`http://127.0.0.1:${port}/api/auth/validate`, { headers: { ...h, 'if-none-match': first.headers.get('etag') ?? '*' } });
    expect([first.status, again.status]).toEqual([200, 200]);
  });
});
