// No secret at rest, and hostile sizes fail as client errors: a token in the URI (any spelling of
// the table in token-uri-cases.ts) is refused at the edge and appears in no NGINX access or error
// log, no edge-cache file and no validator decision line; an oversized header set is a 4xx, not a 502.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { findNginx, type Gateway } from '../../devkit/nginx';
import { redactUri } from '../../validator/observability/redact-uri';
import { request, type ReqOptions, type Res } from '../e2e/client';
import { defaultMode, startStack, type Stack } from '../helpers/stack';
import { HARMLESS_URIS, SECRET, TOKEN_URIS } from './token-uri-cases';

/** The njs module, run by Node (it only needs `crypto`, which Node has too). */
interface NjsRequest {
  rawHeadersIn: [string, string][];
  headersIn: Record<string, string | undefined>;
  variables: Record<string, string>;
}
interface Njs {
  tokenInUri(uri: string): boolean;
  redactUri(uri: string): string;
  authCacheKey(r: NjsRequest): string;
  logUri(r: NjsRequest): string;
  edgeRefusal(r: NjsRequest): string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const njs = (require('../../nginx/njs/tollgate.js') as { default: Njs }).default;

/** Shaped like a JWS (header.payload.signature); the signature part is what must never show. */
const FAKE_JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.' + SECRET;
const JWT_URIS = [
  `/api/things/${FAKE_JWT}`,
  `/api/things?q=${FAKE_JWT}`,
  `/api/things?q=${FAKE_JWT.replace(/\./g, '%2E')}`,
  `/api/things?next=%2Fx%3Fa%3D${FAKE_JWT}`,
];

describe('token-in-URI rules (one table, the njs and the validator)', () => {
  test.each(TOKEN_URIS.map((c) => [c.uri, c.why]))('%s (%s): the edge refuses it, both redactions hide it', (uri) => {
    expect(njs.tokenInUri(uri)).toBe(true);
    expect(njs.edgeRefusal({ rawHeadersIn: [], headersIn: {}, variables: { request_uri: uri } })).toBe('token_in_uri');
    expect(njs.redactUri(uri)).not.toContain(SECRET);
    expect(redactUri(uri)).not.toContain(SECRET);
    expect(redactUri(uri)).toBe(njs.redactUri(uri));
  });

  test.each(HARMLESS_URIS)('%s is neither refused nor changed', (uri) => {
    expect(njs.tokenInUri(uri)).toBe(false);
    expect([njs.redactUri(uri), redactUri(uri)]).toEqual([uri, uri]);
  });

  test.each(JWT_URIS)('anything JWT-shaped is redacted: %s', (uri) => {
    expect(njs.redactUri(uri)).not.toContain(SECRET);
    expect(redactUri(uri)).not.toContain(SECRET);
    expect(redactUri(uri)).toBe(njs.redactUri(uri));
  });

  test('the edge cache key is a SHA-256 of method, raw URI and Authorization: no token in it, one per token', () => {
    const r = (auth: string, method = 'GET'): NjsRequest => ({
      rawHeadersIn: [],
      headersIn: { Authorization: auth },
      variables: { request_method: method, request_uri: '/api/x' },
    });
    const key = njs.authCacheKey(r(`Bearer ${FAKE_JWT}`));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set([key, njs.authCacheKey(r(`Bearer ${FAKE_JWT}x`)), njs.authCacheKey(r(`Bearer ${FAKE_JWT}`, 'POST'))]).size).toBe(3);
  });
});

const nginx = findNginx();
const real = defaultMode() === 'real';
if (!nginx || !real) {
  const why = !nginx ? 'nginx not found (apt-get install nginx, or NGINX_BIN)' : 'dist/validator is not built (npx tsc -p tsconfig.json)';
  if (process.env.CI) throw new Error(`secrets-nginx cannot run: ${why}`);
  console.warn(`\n*** SKIPPING the NGINX part of secrets-nginx: ${why} ***\n`);
}
const d = nginx && real ? describe : describe.skip;

const HIGH_RATES = {
  GATEWAY_RATE_PER_IP: '1000r/s',
  GATEWAY_BURST_PER_IP: '1000',
  GATEWAY_RATE_PER_CREDENTIAL: '1000r/s',
  GATEWAY_BURST_PER_CREDENTIAL: '1000',
};

d('no secret at rest, hostile sizes (real NGINX, real validator)', () => {
  let stack: Stack;
  let gw: Gateway;
  let cached: Gateway;
  let slow: Gateway;
  let token: string;

  const call = (g: Gateway, p: string, o: ReqOptions = {}): Promise<Res> => request(g.httpsUrl, p, { ca: stack.ca, ...o });
  const t = (name: string, fn: () => Promise<void>): void => test(name, () => stack.withLogs(fn));
  const bearer = (): Record<string, string> => ({ Authorization: `Bearer ${token}` });
  /** Waits until the access log has a line for `requestId`. */
  const logged = async (g: Gateway, requestId: string): Promise<void> => {
    for (let i = 0; i < 100 && !g.accessLog().some((l) => l.request_id === requestId); i++) await new Promise((r) => setTimeout(r, 20));
  };
  /** Everything NGINX wrote to disk or stderr for `g`. */
  const nginxText = (g: Gateway): string => `${fs.existsSync(g.accessLogPath) ? fs.readFileSync(g.accessLogPath, 'utf8') : ''}\n${g.errorLog()}`;
  let n = 0;
  const rid = (): string => `secrets-${process.pid}-${++n}`;

  beforeAll(async () => {
    stack = await startStack();
    gw = stack.gateway;
    cached = await stack.extraGateway({ vars: { ...HIGH_RATES, GATEWAY_AUTH_CACHE: 'on' } });
    slow = await stack.extraGateway({ vars: { GATEWAY_RATE_PER_IP: '6r/m', GATEWAY_BURST_PER_IP: '1' } });
    token = await stack.token('gateway');
  }, 45_000);
  afterAll(async () => {
    await stack?.stop();
  });

  t('every spelling is refused at the edge (400 token_in_uri) on HTTPS and HTTP, before any location', async () => {
    const before = stack.upstream.calls();
    for (const { uri } of TOKEN_URIS) {
      const id = rid();
      const res = await call(gw, uri, { headers: { ...bearer(), 'X-Request-Id': id } });
      expect({ uri, status: res.status, reason: res.headers['x-auth-reason'], body: res.body }).toEqual({
        uri,
        status: 400,
        reason: 'token_in_uri',
        body: '{"error":"token_in_uri"}\n',
      });
      const plain = await request(gw.httpUrl, uri);
      // not bounced back in a Location header either
      expect({ uri, status: plain.status, location: plain.headers.location }).toEqual({ uri, status: 400, location: undefined });
      await logged(gw, id);
    }
    expect(stack.upstream.calls()).toBe(before);
    const text = nginxText(gw);
    expect(text).toContain('"auth_reason":"token_in_uri"');
    expect(text).not.toContain(SECRET);
  });

  t('strings njs 0.7.9 used to loop on (non-ASCII, 32 characters, a match ending them) are answered, and the workers still serve', async () => {
    // tokenInUri decodes the name to "é" + 30 "k" + "_"; logUri's $uri is "/api/things/é" + 16 "a" + "%41"
    const uris = [`/api/things?%E9${'k'.repeat(30)}_=1`, `/api/things/%C3%A9${'a'.repeat(16)}%2541`];
    for (const uri of uris) expect({ uri, below500: (await call(gw, uri, { headers: bearer() })).status < 500 }).toEqual({ uri, below500: true });
    for (let i = 0; i < 4; i++) expect((await call(gw, '/api/things', { headers: bearer() })).status).toBe(200);
  });

  t('names that only look like token parameters pass', async () => {
    for (const uri of HARMLESS_URIS) expect({ uri, status: (await call(gw, uri, { headers: bearer() })).status }).toEqual({ uri, status: 200 });
  });

  t('a Referer carrying a token is refused too (it would reach the error log with any warning)', async () => {
    const res = await call(gw, '/api/things', { headers: { ...bearer(), Referer: `https://app.example.com/cb?access%5Ftoken=${SECRET}` } });
    expect([res.status, res.headers['x-auth-reason']]).toEqual([400, 'token_in_uri']);
  });

  t('refused before limit_req: a rate-limited client sending tokens gets 400, and no warning line holds one', async () => {
    for (let i = 0; i < 4; i++) await call(slow, '/api/health');
    expect((await call(slow, '/api/health')).status).toBe(429); // the limit is reached
    for (const { uri } of TOKEN_URIS) expect({ uri, status: (await call(slow, uri)).status }).toEqual({ uri, status: 400 });
    await new Promise((r) => setTimeout(r, 100));
    expect(slow.errorLog()).toMatch(/limiting requests/);
    expect(nginxText(slow)).not.toContain(SECRET);
  });

  t('the access log writes a JWT-shaped path redacted', async () => {
    const id = rid();
    await call(gw, `/api/things/${token}`, { headers: { ...bearer(), 'X-Request-Id': id } });
    await logged(gw, id);
    const line = gw.accessLog().find((l) => l.request_id === id)!;
    expect(line.uri).toBe('/api/things/[redacted]');
    expect(nginxText(gw)).not.toContain(token.split('.')[2]!);
  });

  t('edge cache on: the cache files hold a hashed key, never the bearer token', async () => {
    for (let i = 0; i < 2; i++) expect((await call(cached, '/api/things?page=1', { headers: bearer() })).status).toBe(200);
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const files = walk(path.join(cached.prefix, 'temp', 'auth_cache'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = fs.readFileSync(f).toString('latin1');
      expect({ f, key: /\nKEY: ([^\n]*)\n/.exec(bytes)?.[1] }).toEqual({ f, key: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(bytes).not.toContain(token.split('.')[2]!);
      expect(bytes).not.toContain(token.split('.')[1]!);
    }
    expect(nginxText(cached)).not.toContain(token.split('.')[2]!);
  });

  t("the validator's decision log never holds the token, however the parameter is spelled (any front)", async () => {
    const uris = [...TOKEN_URIS.map((c) => c.uri), ...JWT_URIS];
    let last = '';
    for (const uri of uris) {
      last = rid();
      const res = await fetch(`${stack.validatorUrl}/api/auth/validate`, {
        headers: { Authorization: 'Bearer nope', 'X-Original-Method': 'GET', 'X-Original-URI': uri, 'X-Request-Id': last },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    const validatorLog = (): string => /----- validator -----\n([\s\S]*?)(?:\n----- |$)/.exec(stack.logs())?.[1] ?? '';
    for (let i = 0; i < 100 && !validatorLog().includes(last); i++) await new Promise((r) => setTimeout(r, 20));
    expect(validatorLog()).toContain(last);
    expect(validatorLog()).toContain('[redacted]');
    expect(validatorLog()).not.toContain(SECRET);
  });

  describe('hostile sizes', () => {
    // Each header line fits NGINX's 8 KiB buffers; together they pass Node's 16 KiB default.
    const big = (): ReqOptions => ({
      ca: stack.ca,
      headers: { Authorization: `Bearer ${'a'.repeat(7000)}`, 'X-Max-Ticks': '1'.repeat(7000) },
    });
    const bigPath = `/api/things?q=${'b'.repeat(7000)}`;

    t('several large headers through NGINX to the validator → 4xx, never 5xx', async () => {
      const before = stack.upstream.calls();
      const res = await request(gw.httpsUrl, bigPath, big());
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(stack.upstream.calls()).toBe(before);
    });

    t("a validator that still answers Node's own 431 → 431 headers_too_large for the client, not 502", async () => {
      // A plain node:http server with Node's default limit, granting whatever fits.
      const limited = http.createServer((_req, res) => res.writeHead(200, { 'X-User-Id': 'u' }).end());
      await new Promise<void>((r) => limited.listen(0, '127.0.0.1', () => r()));
      try {
        const g = await stack.extraGateway({ validators: [`127.0.0.1:${(limited.address() as AddressInfo).port}`] });
        const res = await request(g.httpsUrl, bigPath, big());
        expect([res.status, res.headers['x-auth-reason'], res.body]).toEqual([431, 'headers_too_large', '{"error":"headers_too_large"}\n']);
        expect((await request(g.httpsUrl, '/api/things', { ca: stack.ca })).status).toBe(200);
      } finally {
        limited.closeAllConnections();
        await new Promise((r) => limited.close(r));
      }
    });
  });
});
