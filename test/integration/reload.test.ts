// Configuration reload in-process (what SIGHUP runs): an unchanged issuer keeps its JWKS store (no
// fetch), a changed one has its keys before it decides anything, one whose keys cannot be loaded
// refuses the reload; /api/ready and tollgate_config_info show the hash in use; a decision that
// started before a swap ends with the configuration it started with.
import { createApp } from '../../validator/http/app';
import { parseConfig } from '../../validator/config';
import type { RawEnv } from '../../validator/config/env';
import { createLogger } from '../../validator/observability/logger';
import { createMetrics } from '../../validator/observability/metrics';
import { startValidator, type RunningValidator } from '../../validator/server';
import type { QuotaStore } from '../../validator/store/types';
import { TokenVerifier } from '../../validator/token/verify';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

let key1: TestKey;
let key2: TestKey;
let iss1: TestIssuer;
let iss2: TestIssuer;
let broken: TestIssuer;

beforeAll(async () => {
  [key1, key2] = await Promise.all([makeKey('ES256', 'one'), makeKey('ES256', 'two')]);
  [iss1, iss2, broken] = await Promise.all([TestIssuer.start([key1]), TestIssuer.start([key2]), TestIssuer.start([key2])]);
  broken.mode = 'error500';
});
afterAll(async () => {
  await Promise.all([iss1, iss2, broken].map((i) => i?.stop()));
});

const jwks = (i: TestIssuer): RawEnv => ({ AUTH_MODE: 'jwks', AUTH_ISSUER: i.issuer, AUTH_JWKS_URL: i.jwksUrl, AUTH_AUDIENCE: 'api' });

describe('reload of a running validator', () => {
  const START: RawEnv = {
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: 'memory://',
    QUOTA_ROUTES: ',',
    AUTH_JWKS_TIMEOUT_MS: '1000',
    AUTH_ROUTE_RULES: '{"GET /api/a": ["s1"]}',
  };
  let next: RawEnv;
  let v: RunningValidator;
  const lines: string[] = [];

  beforeAll(async () => {
    next = { ...START, ...jwks(iss1) };
    const logger = createLogger('info', { write: (s: string) => void lines.push(s) });
    v = await startValidator({ ...START, ...jwks(iss1) }, { logger, readEnv: () => next });
  }, 30_000);
  afterAll(() => v?.close());

  const decide = async (tok: string, uri = '/api/a') => {
    const res = await fetch(`http://127.0.0.1:${v.port}/api/auth/validate`, {
      headers: { authorization: `Bearer ${tok}`, 'x-original-method': 'GET', 'x-original-uri': uri },
    });
    return { status: res.status, reason: res.headers.get('x-auth-reason') };
  };
  const token = (iss: TestIssuer, key: TestKey, scope: string) => mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { scope } });
  const ready = async () =>
    (await (await fetch(`http://127.0.0.1:${v.port}/api/ready`)).json()) as {
      config: { hash: string; loadedAt: string; restartPending: string[]; lastReload?: { result: string; errors?: string[] } };
    };
  const metrics = async () => (await fetch(`http://127.0.0.1:${v.port}/metrics`)).text();

  test('an unchanged issuer keeps its keys (no fetch); the new rule decides the next request', async () => {
    const t1 = await token(iss1, key1, 's1');
    expect(await decide(t1)).toEqual({ status: 200, reason: null });
    const before = await ready();
    const hits = iss1.jwksHits;
    next = { ...next, AUTH_ROUTE_RULES: '{"GET /api/a": ["s2"]}' };
    expect(await v.reload()).toBe('ok');
    expect(iss1.jwksHits).toBe(hits);
    expect(await decide(t1)).toEqual({ status: 403, reason: 'scope_missing' });
    const after = await ready();
    expect(after.config.hash).not.toBe(before.config.hash);
    expect(after.config.lastReload?.result).toBe('ok');
    expect(await metrics()).toContain(`tollgate_config_info{hash="${after.config.hash}"} 1`);
    expect(await metrics()).not.toContain(`tollgate_config_info{hash="${before.config.hash}"}`);
    expect(lines.join('')).toContain('"changed":["AUTH_ROUTE_RULES"]');
    // the same files again: nothing swapped, the hash and its time unchanged
    expect(await v.reload()).toBe('ok');
    expect((await ready()).config).toMatchObject({ hash: after.config.hash, loadedAt: after.config.loadedAt });
  });

  test('a new issuer has its keys before the swap; the old one is gone, and so are its gauges', async () => {
    next = { ...next, ...jwks(iss2) };
    expect(await v.reload()).toBe('ok');
    expect(iss2.jwksHits).toBeGreaterThan(0);
    expect(await decide(await token(iss2, key2, 's2'))).toEqual({ status: 200, reason: null });
    expect(await decide(await token(iss1, key1, 's2'))).toEqual({ status: 401, reason: 'issuer_mismatch' });
    const m = await metrics();
    expect(m).toContain(`tollgate_jwks_keys{issuer="${iss2.issuer}"} 1`);
    expect(m).not.toMatch(new RegExp(`tollgate_jwks_keys\\{issuer="${iss1.issuer.replace(/[.:/]/g, '\\$&')}"`));
  });

  test('an issuer whose keys cannot be loaded refuses the reload; the running configuration decides on', async () => {
    const hash = (await ready()).config.hash;
    next = { ...next, ...jwks(broken) };
    expect(await v.reload()).toBe('error');
    expect(await decide(await token(iss2, key2, 's2'))).toEqual({ status: 200, reason: null });
    const r = await ready();
    expect(r.config.hash).toBe(hash);
    expect(r.config.lastReload?.result).toBe('error');
    expect(r.config.lastReload?.errors?.[0]).toContain(`signing keys of ${broken.issuer} cannot be loaded`);
    expect(await metrics()).toMatch(/tollgate_config_reloads_total\{result="error"\} 1\n/);
  });

  test('an invalid configuration is refused with every error logged and counted', async () => {
    const hash = (await ready()).config.hash;
    next = { ...next, ...jwks(iss2), AUTH_ROUTE_RULES: '{"GET /api/a": ', AUTH_CLOCK_TOLERANCE_S: '-1' };
    expect(await v.reload()).toBe('invalid');
    expect((await ready()).config).toMatchObject({ hash, lastReload: { result: 'invalid' } });
    expect((await ready()).config.lastReload?.errors).toHaveLength(2);
    expect(lines.filter((l) => l.includes('configuration reload refused: AUTH_'))).toHaveLength(2);
    expect(await metrics()).toMatch(/tollgate_config_reloads_total\{result="invalid"\} 1\n/);
    expect(await decide(await token(iss2, key2, 's2'))).toEqual({ status: 200, reason: null });
  });
});

test('a decision that started before a swap ends with the configuration it started with', async () => {
  const base = { NODE_ENV: 'test', ...jwks(iss1), QUOTA_ROUTES: 'GET /api/a', QUOTA_DEFAULT_TICKS: '1', AUTH_ROUTE_RULES: '{"GET /api/a": ["s1"]}' };
  const a = parseConfig(base);
  const b = parseConfig({ ...base, QUOTA_DEFAULT_TICKS: '2', AUTH_ROUTE_RULES: '{"GET /api/a": ["s2"]}' });
  const metrics = createMetrics({ defaults: false });
  const log = createLogger('silent');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const charged: number[] = [];
  // a store whose charge waits for the test: the swap happens while the decision is inside it
  const store = {
    kind: 'embedded',
    async charge(_user: string, ticks: number) {
      charged.push(ticks);
      await gate;
      return { status: 'charged', charged: ticks, remaining: 100, limit: 100 };
    },
  } as unknown as QuotaStore;
  const verifierA = new TokenVerifier({ config: a, metrics, log });
  const app = createApp({ config: a, verifier: verifierA, store, metrics, logger: log });
  const tok = await mint({ iss: iss1.issuer, aud: 'api' }, { key: key1, claims: { scope: 's1' } });
  const input = { authorization: `Bearer ${tok}`, authorizationCount: 1, method: 'GET', uri: '/api/a' };
  const running = app.pipeline.decide(input);
  while (charged.length === 0) await new Promise((r) => setTimeout(r, 5));
  const verifierB = new TokenVerifier({ config: b, metrics, log, previous: verifierA });
  app.swap({ config: b, verifier: verifierB });
  release();
  const d = await running;
  expect(d).toMatchObject({ granted: true, charged: 1 });
  // the next one is B's from start to end: s1 no longer passes
  expect(await app.pipeline.decide(input)).toMatchObject({ granted: false, reason: 'scope_missing' });
  expect(charged).toEqual([1]);
  verifierB.close();
});
