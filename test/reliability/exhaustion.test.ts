// Resource exhaustion: a flood of distinct bad tokens (garbage, foreign signatures, unknown kids,
// expired, wrong issuer) mixed with distinct valid ones keeps memory bounded, never grows the
// verified-token cache past AUTH_DECISION_CACHE_MAX, refetches the JWKS at most once per cooldown,
// and never reaches the database for a refused request.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { QuotaStore } from '../../validator/store/types';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const CACHE_MAX = 200;
const COOLDOWN_S = 1;

/** An in-memory store that counts every call: refused requests must make none. */
function countingStore() {
  const calls: Record<string, number> = {};
  const used = new Map<string, number>();
  const count = (op: string) => void (calls[op] = (calls[op] ?? 0) + 1);
  const store: QuotaStore = {
    kind: 'embedded',
    target: 'a counting store',
    async preview() {
      count('preview');
      return { status: 'charged', charged: 1, used: 1, limit: 1_000_000, remaining: 999_999 };
    },
    async schema() {
      count('schema');
      return { applied: [], pending: [], changed: [], rls: [] };
    },
    async charge(user, ticks) {
      count('charge');
      const u = (used.get(user) ?? 0) + ticks;
      used.set(user, u);
      return { status: 'charged', charged: ticks, used: u, limit: 1_000_000, remaining: 1_000_000 - u };
    },
    async emailConfirmed() {
      count('emailConfirmed');
      return true;
    },
    async confirmation() {
      count('emailConfirmed');
      return { email: true, phone: false };
    },
    async firstUse() {
      count('firstUse');
      return true;
    },
    async ping() {
      count('ping');
    },
    async usage() {
      count('usage');
      return undefined;
    },
    async setLimit() {
      count('setLimit');
    },
    async reset() {
      count('reset');
      return false;
    },
    async top() {
      count('top');
      return [];
    },
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    async close() {},
  };
  return { store, calls };
}

let key: TestKey, stranger: TestKey;
let idp: TestIssuer;
let t: TestApp;
let server: http.Server;
let url: string;
let counting: ReturnType<typeof countingStore>;

beforeAll(async () => {
  [key, stranger] = await Promise.all([makeKey('ES256', 'trusted'), makeKey('ES256', 'trusted')]);
  idp = await TestIssuer.start([key]);
  counting = countingStore();
  t = await buildTestApp(
    {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_JWKS_COOLDOWN_S: String(COOLDOWN_S),
      AUTH_JWKS_CACHE_TTL_S: '600',
      AUTH_DECISION_CACHE_MAX: String(CACHE_MAX),
      AUTH_DECISION_CACHE_TTL_S: '60',
      QUOTA_ROUTES: 'POST /api/tasks',
      LOG_LEVEL: 'warn',
    },
    { store: counting.store },
  );
  server = http.createServer(t.listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/auth/validate`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await t.close();
  await idp.stop();
});

const rnd = () => Math.random().toString(36).slice(2);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Distinct bad tokens of every kind, cheap to make in bulk. */
async function badTokens(n: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const signedByStranger = await mint({ iss: idp.issuer, aud: 'api' }, { key: stranger });
  const expiredTemplate = await mint({ iss: idp.issuer, aud: 'api' }, { key, claims: { exp: now - 3600, iat: now - 7200 } });
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const salt = `${i}-${rnd()}`;
    switch (i % 6) {
      case 0: // garbage
        out.push(`${rnd()}${salt}.${rnd()}.${rnd()}`);
        break;
      case 1: // a foreign signature under the trusted kid, payload varied (distinct signing input)
        out.push(`${signedByStranger.split('.')[0]}.${b64({ iss: idp.issuer, aud: 'api', sub: salt, exp: now + 600 })}.${signedByStranger.split('.')[2]}`);
        break;
      case 2: // an unknown kid: a JWKS miss
        out.push(`${b64({ alg: 'ES256', kid: `kid-${salt}` })}.${b64({ iss: idp.issuer, aud: 'api', sub: salt, exp: now + 600 })}.${'A'.repeat(86)}`);
        break;
      case 3: // expired, re-encoded with a varied claim (signature no longer matches either)
        out.push(`${expiredTemplate.split('.')[0]}.${b64({ iss: idp.issuer, aud: 'api', sub: salt, exp: now - 3600 })}.${expiredTemplate.split('.')[2]}`);
        break;
      case 4: // an issuer we do not trust
        out.push(
          `${b64({ alg: 'ES256', kid: 'trusted' })}.${b64({ iss: `https://evil.example/${salt}`, aud: 'api', sub: salt, exp: now + 600 })}.${'B'.repeat(86)}`,
        );
        break;
      default: // alg none
        out.push(`${b64({ alg: 'none' })}.${b64({ iss: idp.issuer, aud: 'api', sub: salt, exp: now + 600 })}.`);
    }
  }
  return out;
}

async function flood(tokens: string[], concurrency: number, onEach?: () => void): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < tokens.length) {
        const tok = tokens[next++]!;
        const res = await fetch(url, {
          method: 'GET',
          headers: { authorization: `Bearer ${tok}`, 'x-original-method': 'POST', 'x-original-uri': '/api/tasks' },
        });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        onEach?.();
      }
    }),
  );
  return statuses;
}

test('a flood of distinct bad tokens: all 401, no database call, JWKS fetches bounded by the cooldown, memory flat', async () => {
  // warm up: keys loaded, code paths compiled, one valid charge
  const valid = await mint({ iss: idp.issuer, aud: 'api' }, { key });
  await flood([valid, ...(await badTokens(600))], 16);
  const storeBefore = { ...counting.calls };
  const hitsBefore = idp.jwksHits;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;

  const N = 12_000;
  const tokens = await badTokens(N);
  const t0 = Date.now();
  const statuses = await flood(tokens, 32);
  const seconds = (Date.now() - t0) / 1000;
  tokens.length = 0;
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const hits = idp.jwksHits - hitsBefore;
  console.log(
    `bad-token flood: ${N} distinct tokens in ${seconds.toFixed(1)} s, statuses ${JSON.stringify(statuses)}, ` +
      `JWKS fetches ${hits}, heap ${(heapBefore / 1e6).toFixed(1)} → ${(heapAfter / 1e6).toFixed(1)} MB, cache ${t.verifier.cacheSize}`,
  );
  expect(statuses).toEqual({ 401: N });
  expect(counting.calls).toEqual(storeBefore); // refused requests never reach the store
  expect(hits).toBeLessThanOrEqual(Math.ceil(seconds / COOLDOWN_S) + 1);
  expect(t.verifier.cacheSize).toBeLessThanOrEqual(CACHE_MAX);
  expect(heapAfter - heapBefore).toBeLessThan(15e6);
}, 60_000);

test('distinct valid tokens beyond AUTH_DECISION_CACHE_MAX: the cache never exceeds its cap, each charge reaches the store once', async () => {
  const N = CACHE_MAX * 6;
  const tokens = await Promise.all(Array.from({ length: N }, (_, i) => mint({ iss: idp.issuer, aud: 'api' }, { key, claims: { sub: `flood-${i}` } })));
  const chargesBefore = counting.calls.charge ?? 0;
  let maxSeen = 0;
  const statuses = await flood(tokens, 16, () => (maxSeen = Math.max(maxSeen, t.verifier.cacheSize)));
  console.log(`valid-token flood: ${N} distinct tokens, statuses ${JSON.stringify(statuses)}, cache max seen ${maxSeen} (cap ${CACHE_MAX})`);
  expect(statuses).toEqual({ 200: N });
  expect(maxSeen).toBe(CACHE_MAX);
  expect((counting.calls.charge ?? 0) - chargesBefore).toBe(N);
}, 60_000);
