// The HTTP contract of the validator: probes, metrics, logs (never a token), request ids, charged
// routes end to end on the embedded store, and failing closed when the database is unreachable.
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

let iss: TestIssuer;
let key: TestKey;
let t: TestApp;
const RULES = JSON.stringify({ 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] });

beforeAll(async () => {
  key = await makeKey('RS256', 'k1');
  iss = await TestIssuer.start([key]);
  t = await buildTestApp({ AUTH_MODE: 'jwks', AUTH_ISSUER: iss.issuer, AUTH_AUDIENCE: 'wavestack', AUTH_ROUTE_RULES: RULES, QUOTA_DEFAULT_DAILY_TICKS: '10' });
});
afterAll(async () => {
  await t?.close();
  await iss?.stop();
});

const token = (sub: string, scope = 'api:read api:write') =>
  mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub, scope, azp: 'cli', email: `${sub}@example.com` } });
const validate = (tok: string | undefined, method: string, uri: string, extra: Record<string, string> = {}) => {
  let r = request(t.listener).get('/api/auth/validate').set('X-Original-Method', method).set('X-Original-URI', uri);
  if (tok) r = r.set('Authorization', `Bearer ${tok}`);
  for (const [k, v] of Object.entries(extra)) r = r.set(k, v);
  return r;
};

describe('probes and metrics', () => {
  test('health is 200 without touching dependencies', async () => {
    const res = await request(t.listener).get('/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  test('ready is 200 once the keys are loaded and the database answers', async () => {
    await t.verifier.refresh();
    const res = await request(t.listener).get('/api/ready');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ready: true, database: { ok: true, kind: 'embedded' }, missing: [] });
    expect(res.body.issuers[0]).toMatchObject({ issuer: iss.issuer, usable: true, stale: false, keys: 1 });
  });

  test('metrics expose decisions, latency, JWKS and store series', async () => {
    await validate(await token('metrics-user'), 'GET', '/api/x');
    const text = (await request(t.listener).get('/metrics')).text;
    for (const name of [
      'tollgate_decisions_total',
      'tollgate_decision_duration_seconds_bucket',
      'tollgate_jwks_fetches_total',
      'tollgate_jwks_keys',
      'tollgate_db_pool_connections',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/tollgate_jwks_keys\{issuer="[^"]+"\} 1/);
  });

  test('unknown paths are a JSON 404', async () => {
    const res = await request(t.listener).get('/nope');
    expect(res.status).toBe(404);
  });
});

describe('logging', () => {
  test('one line per decision with the decision fields, and never the token', async () => {
    const tok = await token('log-user');
    const before = t.logs.length;
    await validate(tok, 'GET', '/api/things', { 'X-Request-Id': 'req-abc-123' }).expect(200);
    // one signature character changed (not the last, whose unused bits must stay zero: RFC 4648 §3.5)
    const forged = tok.slice(0, -2) + (tok.at(-2) === 'A' ? 'B' : 'A') + tok.at(-1);
    await validate(forged, 'GET', '/api/things').expect(401);
    const lines = t.logs.slice(before).map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      granted: true,
      reason: 'ok',
      sub: 'log-user',
      client: 'cli',
      method: 'GET',
      uri: '/api/things',
      request_id: 'req-abc-123',
    });
    expect(typeof lines[0].responseTime).toBe('number');
    expect(lines[1]).toMatchObject({ granted: false, reason: 'signature_invalid', cause: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const all = t.logs.join('\n');
    expect(all).not.toContain(tok.split('.')[2]!);
    expect(all).not.toContain(tok.split('.')[1]!);
    expect(all.toLowerCase()).not.toContain('bearer ');
  });

  test('a token in the original query string is not logged either', async () => {
    const tok = await token('query-user');
    const before = t.logs.length;
    await validate(tok, 'GET', `/api/things?a=1&access_token=${tok}&b=2`).expect(200);
    const line = JSON.parse(t.logs[before]!);
    expect(line.uri).toBe('/api/things?a=1&access_token=[redacted]&b=2');
    expect(t.logs.slice(before).join('')).not.toContain(tok.split('.')[2]!);
  });

  test('the request id comes back, and a hostile one is replaced', async () => {
    const good = await validate(undefined, 'GET', '/api/x', { 'X-Request-Id': 'abc-1' });
    expect(good.headers['x-request-id']).toBe('abc-1');
    const bad = await validate(undefined, 'GET', '/api/x', { 'X-Request-Id': 'a"b<script>' });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('a decision is never cacheable and has no ETag', async () => {
    const res = await validate(await token('cache-user'), 'GET', '/api/x', { 'If-None-Match': '*' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.etag).toBeUndefined();
  });
});

describe('the Express app alone', () => {
  // Production listens with `listener` (validate before Express); the app mounted by itself
  // (createApp's `app`, e.g. under another server) must decide the same.
  test('answers /api/auth/validate as the listener does: status, reason, identity, challenge, cache headers', async () => {
    const tok = await token('mounted-user');
    const cases: Array<[string | undefined, string, number]> = [
      [tok, '/api/things', 200],
      [tok, '/api/%2e%2e/admin', 400],
      [`${tok}x`, '/api/things', 401],
      [undefined, '/api/things', 401],
    ];
    const ask = async (target: TestApp['app'] | TestApp['listener'], auth: string | undefined, uri: string) => {
      const r = request(target).get('/api/auth/validate').set('X-Original-Method', 'GET').set('X-Original-URI', uri);
      const res = await (auth ? r.set('Authorization', `Bearer ${auth}`) : r);
      const h = res.headers;
      return { status: res.status, reason: h['x-auth-reason'], user: h['x-user-id'], challenge: h['www-authenticate'], cache: h['cache-control'] };
    };
    for (const [auth, uri, status] of cases) {
      const viaListener = await ask(t.listener, auth, uri);
      expect(viaListener.status).toBe(status);
      expect(await ask(t.app, auth, uri)).toEqual(viaListener);
    }
  });
});

describe('charged routes on the embedded store', () => {
  test('charge, remaining, then 429 with Retry-After and RateLimit headers; nothing charged on refusal', async () => {
    const tok = await token('quota-user');
    const ok = await validate(tok, 'POST', '/api/tasks', { 'X-Max-Ticks': '6' });
    expect(ok.status).toBe(200);
    expect(ok.headers).toMatchObject({ 'x-ticks-charged': '6', 'x-ticks-remaining': '4', 'ratelimit-limit': '10', 'ratelimit-remaining': '4' });
    const q = await validate(tok, 'POST', '/api/tasks?max_ticks=4');
    expect(q.headers['x-ticks-remaining']).toBe('0');
    const refused = await validate(tok, 'POST', '/api/tasks');
    expect(refused.status).toBe(429);
    expect(refused.headers['x-auth-reason']).toBe('quota_exhausted');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(86400);
    expect(refused.headers).toMatchObject({ 'ratelimit-limit': '10', 'ratelimit-remaining': '0' });
    expect(refused.headers['ratelimit-reset']).toBe(refused.headers['retry-after']);
    const usage = await t.store!.usage('quota-user', new Date().toISOString().slice(0, 10));
    expect(usage?.ticksUsed).toBe(10);
  });

  test('refused requests never charge: bad token, missing scope, bad max_ticks, over the limit', async () => {
    const reader = await token('careful-user', 'api:read');
    expect((await validate(reader, 'POST', '/api/tasks')).headers['x-auth-reason']).toBe('scope_missing');
    expect((await validate((await token('careful-user')) + 'x', 'POST', '/api/tasks')).status).toBe(401);
    const writer = await token('careful-user');
    for (const bad of ['0', '-1', '1.5', 'abc', '1e3', '99999999999']) {
      const r = await validate(writer, 'POST', '/api/tasks', { 'X-Max-Ticks': bad });
      expect({ bad, status: r.status, reason: r.headers['x-auth-reason'] }).toEqual({ bad, status: 400, reason: 'max_ticks_invalid' });
    }
    const over = await validate(writer, 'POST', '/api/tasks', { 'X-Max-Ticks': '11' });
    expect(over.headers['x-auth-reason']).toBe('max_ticks_invalid');
    const mixed = await validate(writer, 'POST', '/api/tasks?max_ticks=2', { 'X-Max-Ticks': '3' });
    expect(mixed.status).toBe(400);
    expect((await t.store!.usage('careful-user', new Date().toISOString().slice(0, 10)))?.ticksUsed ?? 0).toBe(0);
  });

  test('a token whose identity cannot be sent upstream is refused before it is charged', async () => {
    // a subject with a control (C0, C1), a lone surrogate or an edge space has no single reading as a header value
    for (const sub of ['bad\u0001sub', 'bad\u0085sub', 'bad\ud800sub', ' padded']) {
      const r = await validate(await token(sub), 'POST', '/api/tasks');
      expect({ sub, status: r.status, charged: r.headers['x-ticks-charged'] }).toEqual({ sub, status: 400, charged: undefined });
      expect((await t.store!.usage(sub, new Date().toISOString().slice(0, 10)))?.ticksUsed ?? 0).toBe(0);
    }
  });

  test('a non-ASCII subject is charged under its own name and sent as UTF-8; an unsendable scope is dropped, not fatal', async () => {
    const sub = '\u7528\u6237';
    const r = await validate(await token(sub, 'api:write caf\u00e9\u0001'), 'POST', '/api/tasks');
    expect({ status: r.status, charged: r.headers['x-ticks-charged'], scopes: r.headers['x-scopes'] }).toEqual({
      status: 200,
      charged: '1',
      scopes: 'api:write',
    });
    expect(Buffer.from(r.headers['x-user-id'] as string, 'latin1')).toEqual(Buffer.from(sub, 'utf8'));
    expect((await t.store!.usage(sub, new Date().toISOString().slice(0, 10)))?.ticksUsed).toBe(1);
  });

  test('routes that are not charged never touch the database', async () => {
    const charge = jest.spyOn(t.store!, 'charge');
    try {
      const tok = await token('browsing-user');
      for (const [m, u] of [
        ['GET', '/api/tasks'],
        ['POST', '/api/other'],
        ['POST', '/api/tasksx'],
        ['PUT', '/api/tasks'],
      ]) {
        expect((await validate(tok, m!, u!)).status).toBe(200);
      }
      // a dot segment is refused before any charge (path_ambiguous), not resolved and charged
      expect((await validate(tok, 'POST', '/api/tasks/../tasks')).headers['x-auth-reason']).toBe('path_ambiguous');
      expect(charge).not.toHaveBeenCalled();
      expect((await validate(tok, 'POST', '/api/TASKS')).headers['x-ticks-charged']).toBe('1'); // charged routes ignore letter case
      expect(charge).toHaveBeenCalledTimes(1);
    } finally {
      charge.mockRestore();
    }
  });
});

describe('database unreachable', () => {
  let down: TestApp;
  beforeAll(async () => {
    // a real pg pool pointed at a port nobody listens on: connection refused, immediately
    down = await buildTestApp({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'wavestack',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none',
      MIGRATE_ON_START: 'false',
    });
  });
  afterAll(() => down?.close());

  test('charged routes fail closed with 503 quota_unavailable; others keep answering 200; ready is 503', async () => {
    const tok = await token('db-down-user');
    const charged = await request(down.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${tok}`)
      .set('X-Original-Method', 'POST')
      .set('X-Original-URI', '/api/tasks');
    expect(charged.status).toBe(503);
    expect(charged.headers['x-auth-reason']).toBe('quota_unavailable');
    expect(charged.headers['retry-after']).toBeDefined();
    const free = await request(down.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${tok}`)
      .set('X-Original-Method', 'GET')
      .set('X-Original-URI', '/api/tasks');
    expect(free.status).toBe(200);
    const ready = await request(down.listener).get('/api/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.missing).toContain('database');
  });
});
