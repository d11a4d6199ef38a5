// The IdP slow or broken: a JWKS that hangs, answers 500, serves garbage or no keys never blocks a
// decision longer than AUTH_JWKS_TIMEOUT_MS, never replaces good cached keys, kid misses share one
// fetch, and the cooldown bounds refetches under a flood of unknown kids. Real JWKS over HTTP,
// the real app on a real socket.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type JwksMode, type TestKey } from '../../devkit/issuer';
import { sleep } from './harness';

const TIMEOUT_MS = 300;
// Budget for one decision that waits on a JWKS fetch: the fetch timeout plus scheduling slack on a
// busy 2-core machine. A decision that waited for a hung IdP without a timeout would take 30 s+.
const BUDGET_MS = TIMEOUT_MS + 700;

let key: TestKey;
let stranger: TestKey;
const open: Array<() => Promise<void>> = [];

beforeAll(async () => {
  [key, stranger] = await Promise.all([makeKey('RS256', 'good'), makeKey('RS256', 'unknown-0')]);
});

afterEach(async () => {
  for (const f of open.splice(0).reverse()) await f();
});

interface Rig {
  idp: TestIssuer;
  app: TestApp;
  url: string;
  validate(token: string | undefined): Promise<{ status: number; reason: string | null; ms: number }>;
  token(k?: TestKey, kid?: string): Promise<string>;
}

async function rig(env: Record<string, string> = {}, mode: JwksMode = 'ok'): Promise<Rig> {
  const idp = await TestIssuer.start([key]);
  idp.mode = mode;
  open.push(() => idp.stop());
  const app = await buildTestApp(
    {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_JWKS_TIMEOUT_MS: String(TIMEOUT_MS),
      AUTH_DECISION_CACHE_TTL_S: '0', // verify every token for real: these tests are about keys
      LOG_LEVEL: 'warn',
      ...env,
    },
    { noStore: true },
  );
  open.push(() => app.close());
  const server = http.createServer(app.listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    idp,
    app,
    url,
    async validate(token) {
      const t0 = performance.now();
      const res = await fetch(`${url}/api/auth/validate`, {
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'x-original-method': 'GET', 'x-original-uri': '/api/things' },
      });
      await res.arrayBuffer();
      return { status: res.status, reason: res.headers.get('x-auth-reason'), ms: performance.now() - t0 };
    },
    token: (k = key, kid) => mint({ iss: idp.issuer, aud: 'api' }, { key: k, header: kid ? { kid } : {} }),
  };
}

const loaded = (r: Rig) => r.app.verifier.status()[0]!.ready;

describe('IdP broken before the first load: decisions fail closed within AUTH_JWKS_TIMEOUT_MS', () => {
  test.each<[JwksMode, string]>([
    ['hang', 'a JWKS request that never answers'],
    ['error500', 'a JWKS that answers 500'],
    ['garbage', 'a JWKS that is not JSON'],
    ['empty', 'a JWKS without keys'],
  ])('%s (%s) → 503 keys_unavailable, bounded', async (mode) => {
    const r = await rig({ AUTH_JWKS_COOLDOWN_S: '0' }, mode);
    const token = await r.token();
    // several decisions back to back: none may wait longer than one fetch timeout
    for (let i = 0; i < 3; i++) {
      const d = await r.validate(token);
      expect(d).toMatchObject({ status: 503, reason: 'keys_unavailable' });
      expect(d.ms).toBeLessThan(BUDGET_MS);
    }
    // and once the IdP is fine again, the next decision loads the keys by itself
    r.idp.mode = 'ok';
    await sleep(TIMEOUT_MS + 50); // let a hung background fetch time out
    expect((await r.validate(token)).status).toBe(200);
  });
});

describe('IdP broken after a good load: good cached keys stay', () => {
  test.each<JwksMode>(['hang', 'error500', 'garbage', 'empty'])('%s: forced refreshes keep the keys; known kids never wait', async (mode) => {
    const r = await rig({ AUTH_JWKS_COOLDOWN_S: '0' });
    const token = await r.token();
    expect((await r.validate(token)).status).toBe(200);
    expect(loaded(r)).toBe(true);

    r.idp.mode = mode;
    const refreshing = r.app.verifier.refresh(); // forced refresh against the broken IdP
    // while the refresh is under way (a hung one lasts TIMEOUT_MS), a known kid is decided at once
    const during = await r.validate(token);
    expect(during.status).toBe(200);
    expect(during.ms).toBeLessThan(mode === 'hang' ? TIMEOUT_MS : BUDGET_MS);
    const t0 = performance.now();
    await refreshing;
    expect(performance.now() - t0).toBeLessThan(BUDGET_MS);
    const st = r.app.verifier.status()[0]!;
    expect(st).toMatchObject({ ready: true, keys: 1 });
    expect(st.lastError).toBeTruthy();

    await r.app.verifier.refresh();
    for (let i = 0; i < 5; i++) expect((await r.validate(await r.token())).status).toBe(200);
    // an unknown kid during the outage: refused (not 503: we still have keys), within one timeout
    const miss = await r.validate(await r.token(stranger, 'never-published'));
    expect(miss).toMatchObject({ status: 401, reason: 'key_not_found' });
    expect(miss.ms).toBeLessThan(BUDGET_MS);
  });
});

test('50 concurrent tokens with unknown kids share one JWKS fetch', async () => {
  const r = await rig({ AUTH_JWKS_COOLDOWN_S: '1', AUTH_JWKS_CACHE_TTL_S: '600' });
  expect((await r.validate(await r.token())).status).toBe(200);
  await sleep(1100); // past the cooldown: the next kid miss may refetch
  const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => r.token(stranger, `unknown-${i}`)));
  const before = r.idp.jwksHits;
  const results = await Promise.all(tokens.map((t) => r.validate(t)));
  expect(results.every((d) => d.status === 401 && d.reason === 'key_not_found')).toBe(true);
  expect(r.idp.jwksHits - before).toBe(1);
});

test('50 concurrent first decisions while the keys load share one fetch', async () => {
  const r = await rig({ AUTH_JWKS_COOLDOWN_S: '0' }, 'hang');
  await sleep(TIMEOUT_MS + 100); // the start-up fetch timed out; no keys
  r.idp.mode = 'ok';
  const before = r.idp.jwksHits;
  const token = await r.token();
  const results = await Promise.all(Array.from({ length: 50 }, () => r.validate(token)));
  expect(results.map((d) => d.status)).toEqual(Array(50).fill(200));
  expect(r.idp.jwksHits - before).toBe(1);
});

test('a flood of unknown kids refetches at most once per cooldown', async () => {
  const r = await rig({ AUTH_JWKS_COOLDOWN_S: '1', AUTH_JWKS_CACHE_TTL_S: '600' });
  expect((await r.validate(await r.token())).status).toBe(200);
  const before = r.idp.jwksHits;
  const t0 = Date.now();
  let sent = 0;
  // ~3.5 s of distinct forged kids, 20 in flight
  await Promise.all(
    Array.from({ length: 20 }, async (_, w) => {
      while (Date.now() - t0 < 3500) {
        const d = await r.validate(await r.token(stranger, `flood-${w}-${sent++}`));
        expect(d.status).toBe(401);
      }
    }),
  );
  const seconds = (Date.now() - t0) / 1000;
  const hits = r.idp.jwksHits - before;
  expect(sent).toBeGreaterThan(200);
  expect(hits).toBeGreaterThanOrEqual(1);
  expect(hits).toBeLessThanOrEqual(Math.ceil(seconds / 1) + 1);
});
