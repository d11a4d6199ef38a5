// The validator against the development IdP (oidc-provider, a real OpenID provider) over real HTTP:
// client_credentials tokens, discovery, key rotation without restart, IdP outages.
import { startValidator, type RunningValidator } from '../../validator/server';
import { createLogger } from '../../validator/observability/logger';
import { startDevIdp, type DevIdp } from '../../devkit/dev-idp';

let idp: DevIdp;
const running: RunningValidator[] = [];

async function validator(env: Record<string, string>): Promise<RunningValidator & { url: string }> {
  const v = await startValidator(
    {
      NODE_ENV: 'test',
      PORT: '0',
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: 'wavestack',
      DATA_DIR: 'memory://',
      AUTH_JWKS_CACHE_TTL_S: '2',
      AUTH_JWKS_COOLDOWN_S: '0',
      AUTH_DECISION_CACHE_TTL_S: '0', // these tests are about keys: verify every time
      AUTH_ROUTE_RULES: JSON.stringify({ 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] }),
      SHUTDOWN_GRACE_MS: '500',
      ...env,
    },
    { logger: createLogger('silent') },
  );
  running.push(v);
  return Object.assign(v, { url: `http://127.0.0.1:${v.port}` });
}

async function validate(base: string, token: string | undefined, method = 'GET', uri = '/api/things') {
  const res = await fetch(`${base}/api/auth/validate`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'x-original-method': method, 'x-original-uri': uri },
  });
  return {
    status: res.status,
    reason: res.headers.get('x-auth-reason'),
    user: res.headers.get('x-user-id'),
    scopes: res.headers.get('x-scopes'),
    client: res.headers.get('x-client-id'),
  };
}

const ready = async (base: string) => {
  const r = await fetch(`${base}/api/ready`);
  return { status: r.status, body: (await r.json()) as { issuers: Array<{ stale: boolean; usable: boolean }>; missing: string[] } };
};

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < end);
  return last;
}

beforeAll(async () => {
  idp = await startDevIdp();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((v) => v.close()));
});

afterAll(async () => {
  await idp?.stop();
});

test('a client_credentials token from the IdP is granted with identity headers; no token is a bare 401', async () => {
  const v = await validator({});
  const token = await idp.token();
  expect(await validate(v.url, token)).toEqual({ status: 200, reason: null, user: 'service-account-gateway', scopes: 'api:read,api:write', client: 'gateway' });
  expect(await validate(v.url, undefined)).toMatchObject({ status: 401, reason: 'token_missing' });
});

test('route scope rules: the reader client may GET but not POST', async () => {
  const v = await validator({});
  const token = await idp.token('reader');
  expect(await validate(v.url, token, 'GET', '/api/things')).toMatchObject({ status: 200, scopes: 'api:read' });
  expect(await validate(v.url, token, 'POST', '/api/things')).toMatchObject({ status: 403, reason: 'scope_missing' });
});

test('key rotation at the IdP is picked up without a restart; a dropped key stops verifying', async () => {
  const v = await validator({});
  const before = await idp.token();
  expect((await validate(v.url, before)).status).toBe(200);
  await idp.rotate(); // new signing key, old one still published
  const after = await idp.token();
  expect(after.split('.')[0]).not.toBe(before.split('.')[0]); // a different kid in the header
  expect((await validate(v.url, after)).status).toBe(200);
  expect((await validate(v.url, before)).status).toBe(200);
  await idp.rotate(true); // drop everything but the newest key
  const newest = await idp.token();
  expect((await validate(v.url, newest)).status).toBe(200); // kid miss → refetch
  expect(await validate(v.url, before)).toMatchObject({ status: 401, reason: 'key_not_found' });
});

test('IdP stopped: cached keys keep verifying and /api/ready reports them stale', async () => {
  const v = await validator({});
  const token = await idp.token();
  expect((await validate(v.url, token)).status).toBe(200);
  await idp.stop();
  try {
    const r = await eventually(
      () => ready(v.url),
      (x) => x.body.issuers[0]!.stale,
      8000,
    );
    expect(r.status).toBe(200);
    expect(r.body.issuers[0]).toMatchObject({ usable: true, stale: true });
    expect((await validate(v.url, token)).status).toBe(200);
  } finally {
    await idp.restart();
  }
});

test('IdP down at start: not ready, decisions fail closed with 503, recovery without a restart', async () => {
  await idp.stop();
  let v: Awaited<ReturnType<typeof validator>>;
  try {
    v = await validator({});
    const r = await ready(v.url);
    expect(r.status).toBe(503);
    expect(r.body.missing.join(' ')).toContain('signing keys');
    // a syntactically valid token from the (stopped) issuer cannot be checked: 503, never 200
    const forged = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'k' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: idp.issuer, sub: 'x', aud: 'wavestack', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url')}.sig`;
    expect(await validate(v.url, forged)).toMatchObject({ status: 503, reason: 'keys_unavailable' });
  } finally {
    await idp.restart();
  }
  const r = await eventually(
    () => ready(v!.url),
    (x) => x.status === 200,
    8000,
  );
  expect(r.status).toBe(200);
  expect((await validate(v!.url, await idp.token())).status).toBe(200);
});
