// The shared path corpus sent raw through real NGINX (the gateway template, a recording stub validator
// and app): a refused spelling never reaches the validator or the app, an accepted one reaches both
// byte for byte; and the template's path filter is the one generated from the validator's rules.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureDevCerts } from '../../devkit/certs';
import { canonicalPattern, pathFilterMap, refusePattern, templateMap } from '../../scripts/gen-path-filter';
import { startGateway, type Gateway } from '../../devkit/nginx';
import { rawRequest, type Res } from '../e2e/client';
import { PATH_CORPUS, type PathCase } from './path-corpus';

/** Refused by NGINX's request-line parser before any location (its own 400): nothing to filter. */
const NGINX_OWN_400 = new Set([
  '', // no target
  '*',
  'api/admin',
  '/api/%00admin', // a %00 in the path
  '/api/admin%00.json',
  '/api/%zz', // % without two hex digits
  '/api/%',
  '/api/a b', // a raw space or control byte
  '/api/a\tb',
  '/api/a\x01b',
  '/..', // dot segments above the root
  '/%2e%2e/api/admin',
]);

/**
 * Dot segments that NGINX resolves out of /api/ before it picks a location: `location /` answers
 * 404, so neither the validator nor the app is asked.
 */
const OUTSIDE_API = new Set(['/api/../admin', '/.']);

/** Accepted spellings outside /api/: the gateway serves no such path (`location /` answers 404). */
const NOT_SERVED = new Set(['/']);

/**
 * absolute-form: NGINX keeps only the path in $request_uri and in what it proxies, so the validator
 * and the app both get `/api/admin` (canonical): one reading, not refused. The validator itself
 * refuses absolute-form, for fronts that pass it on as sent.
 */
/** Absolute-form targets of the corpus: their host is not ours, so NGINX's unknown-host server answers 421. */
const ABSOLUTE_FORM = new Map([['http://evil.example/api/admin', '/api/admin']]);
/** The same with one of the gateway's own names (not a corpus case: the corpus holds no host of ours). */
const OWN_ABSOLUTE_FORM = new Map([['http://localhost/api/admin', '/api/admin']]);

interface Recorder {
  url: string;
  host: string;
  /** Raw bytes of what arrived: X-Original-URI (validator) or the request target (app). */
  seen: Buffer[];
  stop(): Promise<void>;
}

/** A node:http server on 127.0.0.1 that records `pick(req)` as bytes and answers 200. */
async function recorder(pick: (req: http.IncomingMessage) => string | undefined, headers: Record<string, string> = {}): Promise<Recorder> {
  const seen: Buffer[] = [];
  const server = http.createServer((req, res) => {
    const v = pick(req);
    // Node hands header values and the target over as Latin-1: one character per byte
    if (v !== undefined) seen.push(Buffer.from(v, 'latin1'));
    res.writeHead(200, { 'content-length': '0', ...headers });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let dir: string;
let ca: Buffer;
let validator: Recorder;
let app: Recorder;
let gw: Gateway;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-paths-nginx-'));
  fs.chmodSync(dir, 0o755);
  const tls = ensureDevCerts({ dir: path.join(dir, 'certs') });
  ca = fs.readFileSync(tls.certFile);
  fs.mkdirSync(path.join(dir, 'files'));
  validator = await recorder((req) => req.headers['x-original-uri'] as string | undefined, { 'x-user-id': 'u1', 'x-scopes': 'api:read' });
  app = await recorder((req) => req.url);
  gw = await startGateway({
    env: {},
    httpsPort: 0,
    httpPort: 0,
    validators: [validator.host],
    apps: [app.host],
    vars: {
      GATEWAY_TLS_CERT: tls.certFile,
      GATEWAY_TLS_KEY: tls.keyFile,
      GATEWAY_FILES_ROOT: path.join(dir, 'files') + '/',
      GATEWAY_RATE_PER_IP: '1000r/s',
      GATEWAY_BURST_PER_IP: '1000',
      GATEWAY_RATE_PER_CREDENTIAL: '1000r/s',
      GATEWAY_BURST_PER_CREDENTIAL: '1000',
    },
  });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  await validator?.stop();
  await app?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Sends `uri` byte for byte; returns the answer and what the validator and the app received. */
async function send(uri: string): Promise<{ res: Res; toValidator: Buffer[]; toApp: Buffer[] }> {
  const v = validator.seen.length;
  const a = app.seen.length;
  const res = await rawRequest(gw.httpsUrl, uri, { ca, headers: { Authorization: 'Bearer stub-token' } });
  return { res, toValidator: validator.seen.slice(v), toApp: app.seen.slice(a) };
}

const label = (c: PathCase) => (c.uri.length > 80 ? `${JSON.stringify(c.uri.slice(0, 60))}… (${c.uri.length} bytes)` : JSON.stringify(c.uri));
const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('the edge path filter is generated from the validator rules', () => {
  test('the template map equals scripts/gen-path-filter.ts output (run `npm run build && node dist/scripts/gen-path-filter.js --write`)', () => {
    expect(templateMap()).toBe(pathFilterMap());
  });

  test('the RE2 form of the patterns (for Go fronts) judges the corpus like the validator', () => {
    // JavaScript reads these constructs (classes, groups, alternation, anchors) as RE2 does
    const refuse = new RegExp(refusePattern(), 'i');
    const canonical = new RegExp(canonicalPattern(false), 'i');
    for (const c of PATH_CORPUS) expect([c.uri, refuse.test(c.uri) || !canonical.test(c.uri)]).toEqual([c.uri, c.canonical === null]);
  });
});

describe('every corpus case through real NGINX', () => {
  const accepted = PATH_CORPUS.filter((c) => c.canonical !== null && !NOT_SERVED.has(c.uri));
  const refused = PATH_CORPUS.filter((c) => c.canonical === null && !ABSOLUTE_FORM.has(c.uri));

  test.each(accepted.map((c) => [label(c), c] as const))('%s reaches the validator and the app byte for byte', async (_l, c) => {
    const { res, toValidator, toApp } = await send(c.uri);
    expect(res.status).toBe(200);
    expect(toValidator).toEqual([bytes(c.uri)]);
    expect(toApp).toEqual([bytes(c.uri)]);
  });

  test.each(refused.map((c) => [label(c), c] as const))('%s is refused before the validator', async (_l, c) => {
    const { res, toValidator, toApp } = await send(c.uri);
    expect(toValidator).toEqual([]);
    expect(toApp).toEqual([]);
    if (NGINX_OWN_400.has(c.uri)) {
      // A request NGINX cannot parse has no URI: a server-level `error_page 400 = @named` cannot
      // redirect it ("empty URI in redirect to named location") and turns the 400 into a 500.
      if (res.status !== 400) throw new Error(`NGINX's own refusal of ${label(c)} is ${res.status}, not 400:\n${gw.errorLog().slice(-2000)}`);
      expect(res.body).not.toContain('path_ambiguous');
    } else if (OUTSIDE_API.has(c.uri)) {
      expect(res.status).toBe(404);
    } else {
      expect([res.status, res.json()]).toEqual([400, { error: 'path_ambiguous' }]);
      expect(res.headers['x-auth-reason']).toBe('path_ambiguous');
    }
  });

  test.each([...ABSOLUTE_FORM.keys()])('absolute-form %s, a host not ours: 421 host_unknown, nothing forwarded', async (uri) => {
    const { res, toValidator, toApp } = await send(uri);
    expect([res.status, res.headers['x-auth-reason'], toValidator, toApp]).toEqual([421, 'host_unknown', [], []]);
  });

  test.each([...OWN_ABSOLUTE_FORM])('absolute-form %s: NGINX passes only the path, so validator and app read the same %s', async (uri, asPath) => {
    const { res, toValidator, toApp } = await send(uri);
    expect(res.status).toBe(200);
    expect(toValidator).toEqual([bytes(asPath)]);
    expect(toApp).toEqual([bytes(asPath)]);
  });

  test.each([...NOT_SERVED])('%s is not an /api/ path: NGINX serves nothing there (404)', async (uri) => {
    const { res, toValidator, toApp } = await send(uri);
    expect([res.status, toValidator, toApp]).toEqual([404, [], []]);
  });

  test('no regex failed at run time (a PCRE match limit would refuse a good path)', () => {
    expect(gw.errorLog()).not.toMatch(/pcre|regex/i);
  });

  test('the outcome tables name corpus cases only, with the right verdict', () => {
    const verdict = new Map(PATH_CORPUS.map((c) => [c.uri, c.canonical]));
    for (const u of [...NGINX_OWN_400, ...OUTSIDE_API, ...ABSOLUTE_FORM.keys()]) expect([u, verdict.get(u)]).toEqual([u, null]);
    for (const u of NOT_SERVED) expect(typeof verdict.get(u)).toBe('string');
  });
});
