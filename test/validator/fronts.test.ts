// Every front's contract: which headers carry the original request (NGINX, Traefik/Caddy
// forward-auth, Envoy ext_authz), that only the configured front's spelling is read, that the
// validate request itself is never judged in place of a missing original request, and that a
// deciding header sent twice is refused. Run on the listener production serves.
import http from 'node:http';
import net from 'node:net';
import request from 'supertest';
import { parseConfig } from '../../validator/config';
import { ConfigError } from '../../validator/errors';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

let iss: TestIssuer;
let key: TestKey;
const apps: TestApp[] = [];
const RULES = JSON.stringify({ '* /api/admin/': ['admin'], 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] });

beforeAll(async () => {
  key = await makeKey('ES256', 'k1');
  iss = await TestIssuer.start([key]);
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await iss?.stop();
});

const byEnv = new Map<string, Promise<TestApp>>();
/** One app per distinct environment (each opens an embedded store: ~2 s). */
function app(env: Record<string, string> = {}): Promise<TestApp> {
  const k = JSON.stringify(env);
  if (!byEnv.has(k)) byEnv.set(k, open(env));
  return byEnv.get(k)!;
}
async function open(env: Record<string, string>): Promise<TestApp> {
  const a = await buildTestApp({
    AUTH_MODE: 'jwks',
    AUTH_ISSUER: iss.issuer,
    AUTH_AUDIENCE: 'wavestack',
    AUTH_ROUTE_RULES: RULES,
    QUOTA_ROUTES: 'POST /api/tasks',
    ...env,
  });
  apps.push(a);
  return a;
}
const token = (sub: string, scope = 'api:read api:write') => mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub, scope } });

/** Sends raw bytes (duplicate headers survive) to the listener and returns status line + headers. */
async function raw(a: TestApp, head: string): Promise<string> {
  const server = http.createServer(a.listener).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const port = (server.address() as { port: number }).port;
    return await new Promise<string>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write(head + 'Connection: close\r\n\r\n'));
      let buf = '';
      sock.on('data', (d) => (buf += d));
      sock.on('end', () => resolve(buf));
      sock.on('error', reject);
    });
  } finally {
    server.close();
  }
}

describe('no original request, no decision', () => {
  test('nginx front: a validate request without X-Original-* is refused (400 request_invalid naming the headers), never judged as GET /api/auth/validate', async () => {
    const a = await app();
    const tok = await token('nobody-admin', 'api:read');
    const r = await request(a.listener).get('/api/auth/validate').set('Authorization', `Bearer ${tok}`);
    expect(r.status).toBe(400);
    expect(r.headers['x-auth-reason']).toBe('request_invalid');
    expect(r.body.message).toContain('X-Original-Method and X-Original-URI');
    // only one of the two is not enough either
    const half = await request(a.listener).get('/api/auth/validate').set('Authorization', `Bearer ${tok}`).set('X-Original-Method', 'GET');
    expect(half.status).toBe(400);
    const halfUri = await request(a.listener).get('/api/auth/validate').set('Authorization', `Bearer ${tok}`).set('X-Original-URI', '/api/x');
    expect(halfUri.status).toBe(400);
  });

  test('the refusal comes before the token is verified: no token, no original request → 400, not 401', async () => {
    const a = await app();
    const r = await request(a.listener).get('/api/auth/validate');
    expect([r.status, r.headers['x-auth-reason']]).toEqual([400, 'request_invalid']);
  });

  test('a charged POST arriving without the original request is not granted uncharged', async () => {
    const a = await app();
    const r = await request(a.listener)
      .post('/api/auth/validate')
      .set('Authorization', `Bearer ${await token('poster')}`);
    expect(r.status).toBe(400);
    expect(r.headers['x-ticks-charged']).toBeUndefined();
  });

  test('with no route rules and no charged routes, the original request cannot change the decision: granted without it', async () => {
    const a = await app({ AUTH_ROUTE_RULES: '[]', QUOTA_ROUTES: ',' });
    const r = await request(a.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${await token('free')}`);
    expect([r.status, r.headers['x-user-id']]).toEqual([200, 'free']);
  });
});

describe('only the configured front is read', () => {
  test('nginx front ignores X-Forwarded-Method/Uri (a client behind NGINX could send them)', async () => {
    const a = await app();
    const tok = await token('reader', 'api:read');
    const r = await request(a.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${tok}`)
      .set('X-Forwarded-Method', 'GET')
      .set('X-Forwarded-Uri', '/api/things');
    expect(r.status).toBe(400);
    const ok = await request(a.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${tok}`)
      .set('X-Original-Method', 'GET')
      .set('X-Original-URI', '/api/things');
    expect(ok.status).toBe(200);
  });

  test('forwarded front (Traefik, Caddy): X-Forwarded-Method/Uri decide; X-Original-* are ignored', async () => {
    const a = await app({ AUTH_FRONT: 'forwarded' });
    const tok = await token('reader', 'api:read');
    const admin = await request(a.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${tok}`)
      .set('X-Forwarded-Method', 'GET')
      .set('X-Forwarded-Uri', '/api/admin/users')
      // a client's own X-Original-* copied by forward-auth must not win
      .set('X-Original-Method', 'GET')
      .set('X-Original-URI', '/api/things');
    expect([admin.status, admin.headers['x-auth-reason']]).toEqual([403, 'scope_missing']);
    const none = await request(a.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${tok}`)
      .set('X-Original-Method', 'GET')
      .set('X-Original-URI', '/api/things');
    expect(none.status).toBe(400);
    expect(none.body.message).toContain('X-Forwarded-Method and X-Forwarded-Uri');
    const writer = await token('forwarded-writer');
    const charged = await request(a.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${writer}`)
      .set('X-Forwarded-Method', 'POST')
      .set('X-Forwarded-Uri', '/api/tasks?x=1');
    expect([charged.status, charged.headers['x-ticks-charged']]).toEqual([200, '1']);
  });

  test('envoy front: the check request keeps the method and appends the original path to /api/auth/validate', async () => {
    const a = await app({ AUTH_FRONT: 'envoy' });
    const reader = await token('reader', 'api:read');
    const admin = await request(a.listener).get('/api/auth/validate/api/admin/users').set('Authorization', `Bearer ${reader}`);
    expect([admin.status, admin.headers['x-auth-reason']]).toEqual([403, 'scope_missing']);
    const things = await request(a.listener).get('/api/auth/validate/api/things?page=2').set('Authorization', `Bearer ${reader}`);
    expect(things.status).toBe(200);
    const writer = await token('envoy-writer');
    const charged = await request(a.listener).post('/api/auth/validate/api/tasks').set('Authorization', `Bearer ${writer}`);
    expect([charged.status, charged.headers['x-ticks-charged']]).toEqual([200, '1']);
    // the bare prefix carries no original path; X-Original-* mean nothing to this front
    const bare = await request(a.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${reader}`)
      .set('X-Original-Method', 'GET')
      .set('X-Original-URI', '/api/things');
    expect(bare.status).toBe(400);
    // a neighbour of the prefix is not the prefix
    const neighbour = await request(a.listener).get('/api/auth/validatex/api/things').set('Authorization', `Bearer ${reader}`);
    expect(neighbour.status).toBe(404);
  });

  test('AUTH_FRONT accepts only the known fronts', () => {
    expect(() =>
      parseConfig({ AUTH_MODE: 'hs256', AUTH_ISSUER: 'https://i.example', AUTH_AUDIENCE: 'a', AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_FRONT: 'traefik' }),
    ).toThrow(ConfigError);
    expect(parseConfig({ AUTH_MODE: 'hs256', AUTH_ISSUER: 'https://i.example', AUTH_AUDIENCE: 'a', AUTH_JWT_SECRET: 'x'.repeat(32) }).auth.front).toBe('nginx');
  });
});

describe('a deciding header sent twice is refused, never guessed at', () => {
  test.each([
    ['X-Original-URI', 'X-Original-Method: GET\r\nX-Original-URI: /api/things\r\nX-Original-URI: /api/admin/users\r\n'],
    ['X-Original-Method', 'X-Original-Method: GET\r\nX-Original-Method: DELETE\r\nX-Original-URI: /api/things\r\n'],
    ['X-Max-Ticks', 'X-Original-Method: POST\r\nX-Original-URI: /api/tasks\r\nX-Max-Ticks: 1\r\nX-Max-Ticks: 1000\r\n'],
  ])('%s twice → 400 request_invalid, nothing charged', async (name, headers) => {
    const a = await app();
    const tok = await token('dup-' + name.toLowerCase());
    const res = await raw(a, `GET /api/auth/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\n${headers}`);
    expect(res).toMatch(/^HTTP\/1\.1 400 /);
    expect(res).toMatch(/x-auth-reason: request_invalid/i);
    expect(res).toContain(name.toLowerCase());
    expect(res).not.toMatch(/x-ticks-charged/i);
  });
});

describe('a method override header passed on by the front is refused (ingress-nginx and Traefik pass client headers to the validator)', () => {
  test.each(['X-HTTP-Method-Override', 'x-http-method', 'X-Method-Override'])(
    '%s: DELETE on a POST the token may make → 400 method_override, nothing charged',
    async (name) => {
      const a = await app();
      const tok = await token('override-' + name.toLowerCase());
      const ok = await raw(
        a,
        `GET /api/auth/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nX-Original-Method: POST\r\nX-Original-URI: /api/things/1\r\n`,
      );
      expect(ok).toMatch(/^HTTP\/1\.1 200 /);
      const res = await raw(
        a,
        `GET /api/auth/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nX-Original-Method: POST\r\nX-Original-URI: /api/tasks\r\n${name}: DELETE\r\n`,
      );
      expect(res).toMatch(/^HTTP\/1\.1 400 /);
      expect(res).toMatch(/x-auth-reason: method_override/i);
      expect(res).not.toMatch(/x-ticks-charged/i);
    },
  );
});
