// RFC 7662 introspection against a real OAuth server (oidc-provider, devkit/oauth-server.ts) issuing
// opaque access tokens: active → granted; revoked (RFC 7009) → refused within the cache TTL; the
// server down → 503, fail closed; a forced refresh forgets cached answers at once.
import request from 'supertest';
import { API_CLIENT, AUDIENCE, RESOURCE_SERVER, startOAuthServer, type OAuthServer } from '../../devkit/oauth-server';
import { buildTestApp, type TestApp } from '../helpers/app';

const TTL_S = 2;
let server: OAuthServer;
let app: TestApp;

beforeAll(async () => {
  server = await startOAuthServer();
  app = await buildTestApp(
    {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: server.issuer,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: server.jwksUrl,
      AUTH_INTROSPECTION_URL: server.introspectionUrl,
      AUTH_INTROSPECTION_CLIENT_ID: RESOURCE_SERVER.id,
      AUTH_INTROSPECTION_CLIENT_SECRET: RESOURCE_SERVER.secret,
      AUTH_INTROSPECTION_OPAQUE: 'true',
      AUTH_INTROSPECTION_CACHE_TTL_S: String(TTL_S),
      AUTH_ROUTE_RULES: JSON.stringify({ 'GET /api/': ['api:read'] }),
      QUOTA_ROUTES: ',',
      LOG_LEVEL: 'silent',
    },
    { noStore: true },
  );
}, 60_000);
afterAll(async () => {
  await app?.close();
  await server?.stop();
});

const decide = async (token: string, uri = '/api/x') => {
  const res = await request(app.listener)
    .get('/api/auth/validate')
    .set('Authorization', `Bearer ${token}`)
    .set('X-Original-Method', 'GET')
    .set('X-Original-URI', uri);
  return { status: res.status, reason: (res.headers['x-auth-reason'] as string | undefined) ?? 'ok', headers: res.headers };
};
const metric = async (name: string, labels: string): Promise<number> => {
  const text = await app.metrics.registry.metrics();
  const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};
const requests = (result: string) => metric('tollgate_introspection_requests_total', `issuer="${server.issuer}",result="${result}"`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an active opaque token passes: its client is the subject, its scopes meet the rules; the answer is cached', async () => {
  const token = await server.token('api:read');
  expect(token).not.toContain('.'); // opaque, not a JWT
  expect(await server.introspect(token)).toMatchObject({ active: true, client_id: API_CLIENT.id, aud: AUDIENCE, scope: 'api:read' });
  const before = await requests('active');
  const r = await decide(token);
  expect(r).toMatchObject({ status: 200, reason: 'ok' });
  expect(r.headers).toMatchObject({ 'x-user-id': API_CLIENT.id, 'x-client-id': API_CLIENT.id, 'x-scopes': 'api:read' });
  // the edge may keep the grant no longer than the introspection answer
  expect(Number(r.headers['x-accel-expires'])).toBeLessThanOrEqual(TTL_S);
  expect(await decide(token)).toMatchObject({ status: 200 });
  expect(await requests('active')).toBe(before + 1); // the second decision asked nobody
  expect(await metric('tollgate_introspection_duration_seconds_count', `issuer="${server.issuer}"`)).toBeGreaterThan(0);
});

test("scopes from the introspection answer meet the route rules like a JWT's", async () => {
  expect(await decide(await server.token('api:write'))).toMatchObject({ status: 403, reason: 'scope_missing' });
});

test('a token revoked at the server (RFC 7009) is refused within the cache TTL, and not before it is revoked', async () => {
  const token = await server.token('api:read');
  expect(await decide(token)).toMatchObject({ status: 200 });
  await server.revoke(token);
  const revokedAt = Date.now();
  expect(await server.introspect(token)).toEqual({ active: false });
  // the cached answer may serve for at most TTL_S seconds after the revocation
  let last = await decide(token);
  while (last.status === 200) {
    expect(Date.now() - revokedAt).toBeLessThan(TTL_S * 1000 + 500);
    await sleep(100);
    last = await decide(token);
  }
  expect(last).toMatchObject({ status: 401, reason: 'token_inactive' });
  expect(last.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);
  expect(await requests('inactive')).toBeGreaterThanOrEqual(1);
});

test('a forced refresh (SIGUSR2) forgets cached answers: a revoked token is refused at once', async () => {
  const token = await server.token('api:read');
  expect(await decide(token)).toMatchObject({ status: 200 });
  await server.revoke(token);
  expect(await decide(token)).toMatchObject({ status: 200 }); // still the cached answer
  await app.verifier.forceRefresh();
  expect(await decide(token)).toMatchObject({ status: 401, reason: 'token_inactive' });
});

test('a made-up opaque token is inactive; a malformed one never reaches the server', async () => {
  const before = (await requests('inactive')) + (await requests('active'));
  expect(await decide('not-a-token-this-server-ever-issued')).toMatchObject({ status: 401, reason: 'token_inactive' });
  expect(await decide('has space')).toMatchObject({ status: 401 });
  expect(await decide('bad"quote')).toMatchObject({ status: 401, reason: 'token_malformed' });
  expect((await requests('inactive')) + (await requests('active'))).toBe(before + 1);
});

test('the server down: a token not yet known is refused with 503 introspection_unavailable (fail closed)', async () => {
  const token = await server.token('api:read'); // issued, never introspected
  const errors = await requests('error');
  await server.stop();
  const r = await decide(token);
  expect(r).toMatchObject({ status: 503, reason: 'introspection_unavailable' });
  expect(r.headers['retry-after']).toMatch(/^\d+$/);
  expect(await requests('error')).toBe(errors + 1);
});
