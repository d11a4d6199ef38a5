// Clock edges with an injected clock: exp / nbf / iat exactly at the leeway boundary (also on a
// verified-token cache hit after the clock moved), and the quota day rolling over at local
// midnight in non-UTC zones (a half-hour offset, and a 23-hour DST day).
import request from 'supertest';
import { parseConfig } from '../../validator/config';
import { createApp } from '../../validator/http/app';
import { createLogger } from '../../validator/observability/logger';
import { createMetrics } from '../../validator/observability/metrics';
import { TokenVerifier } from '../../validator/token/verify';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

let key: TestKey;
let idp: TestIssuer;
beforeAll(async () => {
  key = await makeKey('ES256', 'clock-key');
  idp = await TestIssuer.start([key]);
});
afterAll(() => idp.stop());

const T = 1_800_000_000; // a fixed instant (s): 2027-01-15T08:00:00Z

/** A real app whose verifier reads `clock.ms`. */
function appAt(clock: { ms: number }, env: Record<string, string> = {}) {
  const config = parseConfig({
    NODE_ENV: 'test',
    AUTH_MODE: 'jwks',
    AUTH_ISSUER: idp.issuer,
    AUTH_AUDIENCE: 'api',
    AUTH_JWKS_URL: idp.jwksUrl,
    AUTH_CLOCK_TOLERANCE_S: '30',
    DATA_DIR: 'memory://',
    ...env,
  });
  const metrics = createMetrics({ defaults: false });
  const logger = createLogger('silent');
  const verifier = new TokenVerifier({ config, metrics, log: logger, now: () => clock.ms });
  verifier.start();
  const { listener } = createApp({ config, verifier, metrics, logger, now: () => new Date(clock.ms) });
  return { listener, verifier };
}

const at = (s: number) => ({ ms: s * 1000 });

async function status(listener: ReturnType<typeof appAt>['listener'], token: string) {
  const r = await request(listener)
    .get('/api/auth/validate')
    .set('authorization', `Bearer ${token}`)
    .set('x-original-method', 'GET')
    .set('x-original-uri', '/api/things');
  return `${r.status}${r.headers['x-auth-reason'] ? ' ' + r.headers['x-auth-reason'] : ''}`;
}

describe.each([
  ['cache off', '0'],
  ['cache on', '60'],
])('exp / nbf / iat at the leeway boundary (30 s), %s', (_name, ttl) => {
  const tok = (claims: Record<string, number>) => mint({ iss: idp.issuer, aud: 'api' }, { key, claims: { iat: T - 600, exp: T + 600, ...claims } });
  const run = async (claims: Record<string, number>, steps: Array<[atS: number, expected: string]>) => {
    const clock = at(steps[0]![0]);
    const { listener, verifier } = appAt(clock, { AUTH_DECISION_CACHE_TTL_S: ttl });
    try {
      const token = await tok(claims);
      const seen: Array<[number, string]> = [];
      for (const [s, _] of steps) {
        clock.ms = s * 1000;
        seen.push([s, await status(listener, token)]);
      }
      expect(seen).toEqual(steps);
    } finally {
      verifier.close();
    }
  };

  test('exp: valid up to exp + 29 s, expired from exp + 30 s (also when the token was cached before)', () =>
    run({ exp: T }, [
      [T - 10, '200'],
      [T, '200'],
      [T + 29, '200'],
      [T + 30, '401 token_expired'],
      [T + 3600, '401 token_expired'],
    ]));

  test('exp at a sub-second boundary: exp + 29.999 s is still within the leeway', () =>
    run({ exp: T }, [
      [T + 29.999, '200'],
      [T + 30.001, '401 token_expired'],
    ]));

  test('nbf: refused before nbf - 30 s, valid from nbf - 30 s', () =>
    run({ nbf: T, iat: T - 60 }, [
      [T - 31, '401 token_not_yet_valid'],
      [T - 30, '200'],
      [T, '200'],
    ]));

  test('nbf: a token cached while valid stays valid as the clock moves forward, until exp + leeway', () =>
    run({ nbf: T, exp: T + 60 }, [
      [T - 30, '200'],
      [T + 89, '200'],
      [T + 90, '401 token_expired'],
    ]));

  test('iat in the future beyond the leeway is refused', () =>
    run({ iat: T + 31, exp: T + 600 }, [
      [T, '401 claim_invalid'],
      [T + 1, '200'],
    ]));
});

test('no leeway (AUTH_CLOCK_TOLERANCE_S=0): expired at exp exactly', async () => {
  const clock = at(T - 1);
  const { listener, verifier } = appAt(clock, { AUTH_CLOCK_TOLERANCE_S: '0', AUTH_DECISION_CACHE_TTL_S: '60' });
  try {
    const token = await mint({ iss: idp.issuer, aud: 'api' }, { key, claims: { iat: T - 60, exp: T } });
    expect(await status(listener, token)).toBe('200');
    clock.ms = T * 1000 - 1;
    expect(await status(listener, token)).toBe('200');
    clock.ms = T * 1000;
    expect(await status(listener, token)).toBe('401 token_expired');
  } finally {
    verifier.close();
  }
});

describe('quota day rollover at local midnight (injected clock, embedded Postgres)', () => {
  let t: TestApp;
  const clock = { ms: 0 };
  afterEach(() => t?.close());

  const charge = (token: string, ticks: number) =>
    request(t.listener)
      .post('/api/auth/validate')
      .set('authorization', `Bearer ${token}`)
      .set('x-original-method', 'POST')
      .set('x-original-uri', '/api/tasks')
      .set('x-max-ticks', String(ticks));

  test('Asia/Kolkata (UTC+05:30): exhausted at 23:59:59, Retry-After 1; a fresh day at 00:00:00 local', async () => {
    t = await buildTestApp(
      {
        AUTH_MODE: 'jwks',
        AUTH_ISSUER: idp.issuer,
        AUTH_AUDIENCE: 'api',
        AUTH_JWKS_URL: idp.jwksUrl,
        QUOTA_TIMEZONE: 'Asia/Kolkata',
        QUOTA_DEFAULT_DAILY_TICKS: '3',
        QUOTA_ROUTES: 'POST /api/tasks',
      },
      { now: () => new Date(clock.ms) },
    );
    const token = await mint({ iss: idp.issuer, aud: 'api' }, { key, claims: { sub: 'kolkata-user' } });
    // 2024-03-09 23:59:59 in Kolkata is 18:29:59 UTC
    clock.ms = Date.parse('2024-03-09T18:29:59.000Z');
    const full = await charge(token, 3);
    expect(full.status).toBe(200);
    expect(full.headers).toMatchObject({ 'x-ticks-charged': '3', 'x-ticks-remaining': '0', 'ratelimit-reset': '1' });
    const over = await charge(token, 1);
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('1');
    clock.ms = Date.parse('2024-03-09T18:29:59.999Z');
    expect((await charge(token, 1)).status).toBe(429);

    clock.ms = Date.parse('2024-03-09T18:30:00.000Z'); // 2024-03-10 00:00:00 local
    const fresh = await charge(token, 2);
    expect(fresh.status).toBe(200);
    expect(fresh.headers).toMatchObject({ 'x-ticks-charged': '2', 'x-ticks-remaining': '1', 'ratelimit-reset': String(24 * 3600) });
    expect(await t.store!.usage('kolkata-user', '2024-03-09')).toMatchObject({ ticksUsed: 3 });
    expect(await t.store!.usage('kolkata-user', '2024-03-10')).toMatchObject({ ticksUsed: 2 });
    // the UTC date is still 2024-03-09: nothing was charged to a UTC day
    expect((await t.store!.top('2024-03-09', 10)).map((r) => r.ticksUsed)).toEqual([3]);
  });

  test('Europe/Berlin on the 23-hour DST day: Retry-After at local midnight is 23 h', async () => {
    t = await buildTestApp(
      {
        AUTH_MODE: 'jwks',
        AUTH_ISSUER: idp.issuer,
        AUTH_AUDIENCE: 'api',
        AUTH_JWKS_URL: idp.jwksUrl,
        QUOTA_TIMEZONE: 'Europe/Berlin',
        QUOTA_DEFAULT_DAILY_TICKS: '1',
        QUOTA_ROUTES: 'POST /api/tasks',
      },
      { now: () => new Date(clock.ms) },
    );
    const token = await mint({ iss: idp.issuer, aud: 'api' }, { key, claims: { sub: 'berlin-user' } });
    clock.ms = Date.parse('2024-03-30T23:00:00.000Z'); // 2024-03-31 00:00 CET; clocks jump 02:00 → 03:00
    expect((await charge(token, 1)).status).toBe(200);
    const over = await charge(token, 1);
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe(String(23 * 3600));
    clock.ms = Date.parse('2024-03-31T21:59:59.000Z'); // 23:59:59 CEST
    expect((await charge(token, 1)).status).toBe(429);
    clock.ms = Date.parse('2024-03-31T22:00:00.000Z'); // 2024-04-01 00:00 CEST
    expect((await charge(token, 1)).status).toBe(200);
  });
});
