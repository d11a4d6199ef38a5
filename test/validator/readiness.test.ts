// Readiness says what this instance can decide now: a database outage pulls it only when requests
// would be refused for it (fail-closed charged routes), never with QUOTA_FAIL_OPEN. Failures name
// what failed and why: the JWKS URL and the connect error, the database (no password) and its
// cause. At LOG_LEVEL=debug a decision line says what the token carried and what the rule asked.
import net from 'node:net';
import request from 'supertest';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { freshServerDatabase, serverUrlOrSkip, type FreshDatabase } from '../../devkit/pg';
import { freePort } from '../../devkit/process';
import { buildTestApp, type TestApp } from '../helpers/app';

let key: TestKey;
let iss: TestIssuer;
const open: TestApp[] = [];

beforeAll(async () => {
  key = await makeKey('RS256', 'k1');
  iss = await TestIssuer.start([key], '/realms/wavestack');
});
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
  await iss?.stop();
});

const app = async (env: Record<string, string>) => {
  const t = await buildTestApp({ AUTH_MODE: 'jwks', AUTH_ISSUER: iss.issuer, AUTH_AUDIENCE: 'wavestack', MIGRATE_ON_START: 'false', ...env });
  open.push(t);
  await t.verifier.refresh();
  return t;
};
const ready = (t: TestApp) => request(t.listener).get('/api/ready');
const validate = (t: TestApp, tok: string, method: string, uri: string) =>
  request(t.listener).get('/api/auth/validate').set('Authorization', `Bearer ${tok}`).set('X-Original-Method', method).set('X-Original-URI', uri);

/** A TCP relay to the real Postgres that can be cut, as a network partition cuts it. */
async function relay(to: URL): Promise<{ port: number; cut(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(to.port || 5432), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    async cut() {
      const closed = new Promise((r) => server.close(r));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

const serverUrl = serverUrlOrSkip();
(serverUrl ? describe : describe.skip)('the database cut under a running validator', () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshServerDatabase(serverUrl);
  });
  afterAll(() => db?.drop());

  test.each([
    ['fail-closed: not ready (charged routes would answer 503)', 'false', 503],
    ['QUOTA_FAIL_OPEN=true: still ready, the database reported degraded', 'true', 200],
  ])('%s', async (_name, failOpen, status) => {
    const link = await relay(new URL(db.url));
    const url = new URL(db.url);
    url.host = `127.0.0.1:${link.port}`;
    url.password = 'pw';
    const t = await app({ DATABASE_URL: url.toString(), MIGRATE_ON_START: 'true', QUOTA_FAIL_OPEN: failOpen });
    const before = await ready(t);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ ready: true, missing: [], degraded: [], database: { ok: true, kind: 'server', needed: failOpen === 'false' } });

    await link.cut();
    const after = await ready(t);
    expect(after.status).toBe(status);
    expect(after.body.database).toMatchObject({
      ok: false,
      target: expect.stringContaining(':***@127.0.0.1:'),
      error: expect.stringMatching(/^postgres:\/\/.*:\*\*\*@127\.0\.0\.1:\d+\/\w+: /),
    });
    expect(JSON.stringify(after.body)).not.toContain(':pw@');
    if (status === 503)
      expect(after.body).toMatchObject({
        ready: false,
        missing: ['database'],
        degraded: [],
        database: { needed: true, why: expect.stringMatching(/fail closed/) },
      });
    else
      expect(after.body).toMatchObject({
        ready: true,
        missing: [],
        degraded: ['database'],
        database: { needed: false, why: expect.stringMatching(/QUOTA_FAIL_OPEN=true/) },
      });
    // what readiness promises is what decisions do: the uncharged route is decided either way
    const tok = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key });
    expect((await validate(t, tok, 'GET', '/api/things')).status).toBe(200);
    expect((await validate(t, tok, 'POST', '/api/tasks')).status).toBe(failOpen === 'true' ? 200 : 503);
  });
});

test('no charged route: an unreachable database never pulls the instance', async () => {
  const port = await freePort();
  const t = await app({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/x`, QUOTA_ROUTES: ',' });
  const r = await ready(t);
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({
    degraded: ['database'],
    database: {
      ok: false,
      needed: false,
      why: 'no charged routes (QUOTA_ROUTES)',
      error: `postgres://postgres@127.0.0.1:${port}/x: connect ECONNREFUSED 127.0.0.1:${port}`,
    },
  });
});

test('a JWKS that cannot be fetched: readiness and the log name the URL and the cause', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/certs`;
  const t = await app({ AUTH_JWKS_URL: url, QUOTA_ROUTES: ',' });
  const r = await ready(t);
  expect(r.status).toBe(503);
  const want = `GET ${url}: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`;
  expect(r.body.issuers[0]).toMatchObject({ usable: false, lastError: want });
  const warn = t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'jwks fetch failed; no keys yet');
  expect(warn).toMatchObject({ level: 40, err: want });
});

test('a charge against an unreachable database logs the database and the cause', async () => {
  const port = await freePort();
  const t = await app({ DATABASE_URL: `postgres://tollgate:secret@127.0.0.1:${port}/x` });
  expect((await validate(t, await mint({ iss: iss.issuer, aud: 'wavestack' }, { key }), 'POST', '/api/tasks')).status).toBe(503);
  const line = t.logs.map((l) => JSON.parse(l)).find((l) => /failing closed/.test(l.msg));
  expect(line.err).toBe(`postgres://tollgate:***@127.0.0.1:${port}/x: connect ECONNREFUSED 127.0.0.1:${port}`);
  expect(t.logs.join('')).not.toContain('secret');
});

describe('LOG_LEVEL=debug: the decision line explains itself, never with the token', () => {
  const RULES = JSON.stringify({ 'GET /api/': ['api:read'], 'POST /api/': ['api:write'] });

  test('a refusal carries iss, aud, alg, kid, typ, the rule and required vs present scopes', async () => {
    const t = await app({ LOG_LEVEL: 'debug', AUTH_ROUTE_RULES: RULES, QUOTA_ROUTES: ',' });
    const tok = await mint({ iss: iss.issuer, aud: 'account' }, { key, claims: { scope: 'api:write', azp: 'web' } });
    expect((await validate(t, tok, 'GET', '/api/things')).status).toBe(401);
    const scoped = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { scope: 'api:write', azp: 'web' } });
    expect((await validate(t, scoped, 'GET', '/api/things')).status).toBe(403);
    const lines = t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'refused');
    expect(lines[0]).toMatchObject({
      reason: 'audience_mismatch',
      jwt: { iss: iss.issuer, aud: 'account', alg: 'RS256', kid: 'k1', typ: 'JWT', sub: 'user-123', client: 'web' },
      rule: 'GET /api/',
      required: { scopes: ['api:read'] },
      present: { scopes: ['api:write'] },
    });
    expect(lines[1]).toMatchObject({
      reason: 'scope_missing',
      jwt: { aud: 'wavestack' },
      required: { scopes: ['api:read'] },
      present: { scopes: ['api:write'] },
    });
    for (const tk of [tok, scoped]) {
      expect(t.logs.join('')).not.toContain(tk.split('.')[2]);
      expect(t.logs.join('')).not.toContain(tk.split('.')[1]);
    }
  });

  test('at info the line has none of it (nothing is decoded for the log)', async () => {
    const t = await app({ LOG_LEVEL: 'info', AUTH_ROUTE_RULES: RULES, QUOTA_ROUTES: ',' });
    await validate(t, await mint({ iss: iss.issuer, aud: 'account' }, { key }), 'GET', '/api/things');
    const line = t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'refused');
    expect(line.reason).toBe('audience_mismatch');
    for (const k of ['jwt', 'rule', 'required', 'present']) expect(line).not.toHaveProperty(k);
  });
});
