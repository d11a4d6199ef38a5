// The shared path corpus through readPath and through the real HTTP validator: a refused spelling is
// 400 path_ambiguous before any rule or charge; an accepted one is judged on its canonical path,
// whose rules and charged routes match without regard to letter case.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PathRefusal, readPath } from '../../validator/lib/paths';
import { rawRequest, type Res } from '../e2e/client';
import { buildTestApp, type TestApp } from '../helpers/app';
import { makeKey, mint, TestIssuer, type TestKey } from '../../devkit/issuer';
import { under } from '../../devkit/upstreams/routes';
import { PATH_CORPUS, type PathCase } from './path-corpus';

// The rules of the report that found the bypasses.
const RULES = JSON.stringify({ '* /api/admin/': ['admin'], 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] });

/** Header values Node's HTTP parser refuses by itself (a control byte other than HTAB): 400 before the validator. */
const NODE_PARSER_400 = new Set(['/api/a\x01b']);

const label = (c: PathCase) => (c.uri.length > 80 ? `${JSON.stringify(c.uri.slice(0, 60))}… (${c.uri.length} bytes)` : JSON.stringify(c.uri));
const lower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
// a format suffix belongs to the path before it (Rails reads /api/admin.json as /api/admin)
const underPrefix = (path: string, prefix: string) => under(path, prefix);

describe('readPath on the corpus', () => {
  test.each(PATH_CORPUS.map((c) => [label(c), c] as const))('%s', (_l, c) => {
    const r = readPath(c.uri);
    if (c.canonical === null) expect(r).toBeInstanceOf(PathRefusal);
    else expect(r).toBe(c.canonical);
  });
});

describe('the corpus through the real HTTP validator', () => {
  let iss: TestIssuer;
  let key: TestKey;
  let t: TestApp;
  let server: http.Server;
  let base: string;
  let reader: string; // api:read api:write, no admin
  let admin: string; // and admin

  beforeAll(async () => {
    key = await makeKey('ES256', 'paths');
    iss = await TestIssuer.start([key]);
    t = await buildTestApp({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'wavestack',
      AUTH_ROUTE_RULES: RULES,
      QUOTA_ROUTES: 'POST /api/tasks',
      QUOTA_DEFAULT_DAILY_TICKS: '1000000',
    });
    server = http.createServer(t.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const token = (sub: string, scope: string) => mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub, scope, azp: 'cli' } });
    reader = await token('reader', 'api:read api:write');
    admin = await token('admin', 'api:read api:write admin');
  }, 30_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await t?.close();
    await iss?.stop();
  });

  /** One validate request with X-Original-URI written byte for byte (no client-side normalisation). */
  const validate = (method: string, uri: string, tok: string): Promise<Res> =>
    rawRequest(base, '/api/auth/validate', { headers: { Authorization: `Bearer ${tok}`, 'X-Original-Method': method, 'X-Original-URI': uri } });

  const refused = PATH_CORPUS.filter((c) => c.canonical === null);
  const accepted = PATH_CORPUS.filter((c) => c.canonical !== null);

  test.each(refused.map((c) => [label(c), c] as const))('%s → 400 path_ambiguous, for GET and a charged POST alike', async (_l, c) => {
    for (const method of ['GET', 'POST']) {
      const res = await validate(method, c.uri, admin);
      expect(res.status).toBe(400);
      expect(res.headers['x-ticks-charged']).toBeUndefined();
      if (NODE_PARSER_400.has(c.uri)) expect(res.headers['x-auth-reason']).toBeUndefined();
      else expect([res.headers['x-auth-reason'], res.json().reason]).toEqual(['path_ambiguous', 'path_ambiguous']);
    }
  });

  test.each(accepted.map((c) => [label(c), c] as const))('%s → judged as its canonical path, rules and charges without letter case', async (_l, c) => {
    const path = lower(c.canonical!);
    // a token without `admin`: the admin rule applies to every spelling of /api/admin/…
    const asReader = await validate('GET', c.uri, reader);
    const needsAdmin = underPrefix(path, '/api/admin');
    expect([asReader.status, asReader.headers['x-auth-reason']]).toEqual(needsAdmin ? [403, 'scope_missing'] : [200, undefined]);
    // a POST is charged on every spelling of /api/tasks, and only there
    const post = await validate('POST', c.uri, admin);
    expect(post.status).toBe(200);
    expect(post.headers['x-ticks-charged']).toBe(underPrefix(path, '/api/tasks') ? '1' : undefined);
  });

  test('the attacks that passed before: ..; past the rules, upper case past the admin rule and the charge', async () => {
    const readOnly = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub: 'ro', scope: 'api:read', azp: 'cli' } });
    expect((await validate('POST', '/api/..;/things', readOnly)).headers['x-auth-reason']).toBe('path_ambiguous');
    expect((await validate('POST', '/api/x/..;/..;/..;/admin/users', readOnly)).headers['x-auth-reason']).toBe('path_ambiguous');
    expect((await validate('GET', '/api/ADMIN/x', reader)).status).toBe(403);
    const charged = await validate('POST', '/api/TASKS', admin);
    expect([charged.status, charged.headers['x-ticks-charged']]).toEqual([200, '1']);
  });

  test('the refusal says why, and is logged with its reason', async () => {
    const before = t.logs.length;
    const res = await validate('GET', '/api/x/%2e%2e/admin', admin);
    expect(res.json()).toMatchObject({ reason: 'path_ambiguous', message: expect.stringContaining('encoded dot') });
    const line = t.logs
      .slice(before)
      .map((l) => JSON.parse(l))
      .find((l) => l.reason === 'path_ambiguous');
    expect(line).toMatchObject({ granted: false, reason: 'path_ambiguous', res: { statusCode: 400 } });
  });
});
