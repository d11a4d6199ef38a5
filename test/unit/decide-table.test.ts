// pipeline.decide() as a table, without HTTP: token × route × quota → status, reason, headers,
// ticks charged. A real verifier (its JWKS through the verifier's fetch: TestIssuer.local, no
// socket), the real embedded store (PGlite, in-process) and the configuration parser.
import pino from 'pino';
import { parseConfig, type Config } from '../../validator/config';
import { createMetrics } from '../../validator/observability/metrics';
import { createPipeline, type Decision, type Pipeline } from '../../validator/pipeline';
import { openStore } from '../../validator/store';
import type { QuotaStore } from '../../validator/store/types';
import { TokenVerifier } from '../../validator/token/verify';
import { makeKey, mint, TestIssuer, type TestKey } from '../../devkit/issuer';

const AUDIENCE = 'api';
const LIMIT = 3;
// The quota day is the pipeline's clock (deps.now); tokens are checked against the real one.
const NOW = new Date('2026-01-15T12:00:00Z');
const TODAY = '2026-01-15';
const SECONDS_TO_MIDNIGHT = '43200';

type TokenKind = 'read' | 'write' | 'none' | 'expired' | 'other-audience' | 'forged' | 'unknown-key';
/** fresh: nothing used today; spent: the whole limit used; no-store: the pipeline has no store. */
type QuotaState = 'fresh' | 'spent' | 'no-store';

interface Row {
  token: TokenKind;
  method: string;
  uri: string;
  quota: QuotaState;
  maxTicks?: string;
  status: number;
  reason: string;
  /** Headers the decision must carry; RegExp values are matched. */
  headers?: Record<string, string | RegExp>;
  /** Headers it must not carry. */
  absent?: string[];
  charged: number;
}

const IDENTITY = (sub: string, scopes: string) => ({ 'X-User-Id': sub, 'X-Scopes': scopes, 'X-Client-Id': 'cli' });
const CHALLENGE = (error: string) => new RegExp(`^Bearer realm="[^"]+", error="${error}"`);
const QUOTA_HEADERS = ['X-Ticks-Charged', 'X-Ticks-Remaining', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

// `sub` is filled in per row (each row is its own user, so quota states do not mix).
const ROWS: Array<[string, Row]> = [
  // --- tokens, on a rule-guarded route that is not charged ---
  [
    "a valid token with the rule's scope",
    { token: 'read', method: 'GET', uri: '/api/things', quota: 'fresh', status: 200, reason: 'ok', absent: QUOTA_HEADERS, charged: 0 },
  ],
  [
    'no token',
    {
      token: 'none',
      method: 'GET',
      uri: '/api/things',
      quota: 'fresh',
      status: 401,
      reason: 'token_missing',
      headers: { 'WWW-Authenticate': /^Bearer realm="[^"]+"$/ },
      charged: 0,
    },
  ],
  [
    'an expired token',
    {
      token: 'expired',
      method: 'GET',
      uri: '/api/things',
      quota: 'fresh',
      status: 401,
      reason: 'token_expired',
      headers: { 'WWW-Authenticate': CHALLENGE('invalid_token') },
      charged: 0,
    },
  ],
  [
    'a token for another audience',
    {
      token: 'other-audience',
      method: 'GET',
      uri: '/api/things',
      quota: 'fresh',
      status: 401,
      reason: 'audience_mismatch',
      headers: { 'WWW-Authenticate': CHALLENGE('invalid_token') },
      charged: 0,
    },
  ],
  [
    'a forged signature',
    {
      token: 'forged',
      method: 'GET',
      uri: '/api/things',
      quota: 'fresh',
      status: 401,
      reason: 'signature_invalid',
      headers: { 'WWW-Authenticate': CHALLENGE('invalid_token') },
      charged: 0,
    },
  ],
  [
    'a key the issuer does not publish',
    { token: 'unknown-key', method: 'GET', uri: '/api/things', quota: 'fresh', status: 401, reason: 'key_not_found', charged: 0 },
  ],
  // --- routes ---
  [
    "a token without the rule's scope",
    {
      token: 'read',
      method: 'DELETE',
      uri: '/api/things/1',
      quota: 'fresh',
      status: 403,
      reason: 'scope_missing',
      headers: { 'WWW-Authenticate': CHALLENGE('insufficient_scope') },
      charged: 0,
    },
  ],
  [
    'a route without a rule (AUTH_DEFAULT_POLICY=allow)',
    { token: 'read', method: 'GET', uri: '/api/open', quota: 'fresh', status: 200, reason: 'ok', absent: QUOTA_HEADERS, charged: 0 },
  ],
  [
    'an ambiguous path (an encoded dot segment)',
    { token: 'read', method: 'GET', uri: '/api/%2e%2e/admin', quota: 'fresh', status: 400, reason: 'path_ambiguous', charged: 0 },
  ],
  [
    'a method that is no HTTP method',
    { token: 'read', method: 'GET /', uri: '/api/things', quota: 'fresh', status: 400, reason: 'request_invalid', charged: 0 },
  ],
  // --- the charged route (QUOTA_ROUTES) ---
  [
    'the charged route: the default charge',
    {
      token: 'write',
      method: 'POST',
      uri: '/api/tasks',
      quota: 'fresh',
      status: 200,
      reason: 'ok',
      headers: { 'X-Ticks-Charged': '1', 'X-Ticks-Remaining': '2', 'RateLimit-Limit': '3', 'RateLimit-Remaining': '2', 'RateLimit-Reset': SECONDS_TO_MIDNIGHT },
      charged: 1,
    },
  ],
  [
    'the charged route: X-Max-Ticks',
    {
      token: 'write',
      method: 'POST',
      uri: '/api/tasks',
      quota: 'fresh',
      maxTicks: '2',
      status: 200,
      reason: 'ok',
      headers: { 'X-Ticks-Charged': '2', 'X-Ticks-Remaining': '1' },
      charged: 2,
    },
  ],
  [
    'the charged route: max_ticks in the query',
    {
      token: 'write',
      method: 'POST',
      uri: '/api/tasks?max_ticks=3',
      quota: 'fresh',
      status: 200,
      reason: 'ok',
      headers: { 'X-Ticks-Charged': '3', 'X-Ticks-Remaining': '0' },
      charged: 3,
    },
  ],
  [
    'the charged route: more than the daily limit',
    { token: 'write', method: 'POST', uri: '/api/tasks', quota: 'fresh', maxTicks: '4', status: 400, reason: 'max_ticks_invalid', charged: 0 },
  ],
  [
    'the charged route: not a whole number of ticks',
    { token: 'write', method: 'POST', uri: '/api/tasks', quota: 'fresh', maxTicks: '1.5', status: 400, reason: 'max_ticks_invalid', charged: 0 },
  ],
  [
    "the charged route: the day's quota spent",
    {
      token: 'write',
      method: 'POST',
      uri: '/api/tasks',
      quota: 'spent',
      status: 429,
      reason: 'quota_exhausted',
      headers: { 'Retry-After': SECONDS_TO_MIDNIGHT, 'RateLimit-Remaining': '0', 'RateLimit-Limit': '3' },
      charged: 0,
    },
  ],
  [
    'the charged route: no store (fails closed)',
    { token: 'write', method: 'POST', uri: '/api/tasks', quota: 'no-store', status: 503, reason: 'quota_unavailable', charged: 0 },
  ],
  [
    'the charged route: a refused scope costs nothing',
    { token: 'read', method: 'POST', uri: '/api/tasks', quota: 'fresh', status: 403, reason: 'scope_missing', charged: 0 },
  ],
  [
    'the charged route: a refused token costs nothing',
    { token: 'expired', method: 'POST', uri: '/api/tasks', quota: 'fresh', status: 401, reason: 'token_expired', charged: 0 },
  ],
  [
    'no store: a route that is not charged never asks for one',
    { token: 'read', method: 'GET', uri: '/api/things', quota: 'no-store', status: 200, reason: 'ok', charged: 0 },
  ],
];

let idp: TestIssuer;
let key: TestKey;
let stranger: TestKey;
let config: Config;
let verifier: TokenVerifier;
let store: QuotaStore;
let withStore: Pipeline;
let withoutStore: Pipeline;

beforeAll(async () => {
  [key, stranger] = await Promise.all([makeKey('ES256', 'k1'), makeKey('ES256', 'k2')]);
  idp = TestIssuer.local([key]);
  config = parseConfig({
    NODE_ENV: 'test',
    AUTH_MODE: 'jwks',
    AUTH_ISSUER: idp.issuer,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_ROUTE_RULES: JSON.stringify({ 'GET /api/things': ['things:read'], 'DELETE /api/things/': ['things:write'], 'POST /api/tasks': ['tasks:write'] }),
    QUOTA_ROUTES: 'POST /api/tasks',
    QUOTA_DEFAULT_DAILY_TICKS: String(LIMIT),
    DATA_DIR: 'memory://',
  });
  const log = pino({ level: 'silent' });
  const metrics = createMetrics({ defaults: false });
  verifier = new TokenVerifier({ config, metrics, log, fetch: idp.fetch });
  await verifier.refresh();
  store = await openStore({ ...config.database, migrate: true });
  const now = () => NOW;
  withStore = createPipeline({ config, verifier, store, metrics, log, now });
  withoutStore = createPipeline({ config, verifier, metrics, log, now });
});

afterAll(async () => {
  verifier?.close();
  await store?.close();
});

async function tokenFor(kind: TokenKind, sub: string): Promise<string | undefined> {
  const base = { iss: idp.issuer, aud: AUDIENCE };
  const claims = { sub, azp: 'cli' };
  switch (kind) {
    case 'none':
      return undefined;
    case 'read':
      return mint(base, { key, claims: { ...claims, scope: 'things:read' } });
    case 'write':
      return mint(base, { key, claims: { ...claims, scope: 'things:read tasks:write' } });
    case 'expired':
      return mint(base, { key, claims: { ...claims, scope: 'tasks:write', iat: 1_600_000_000, exp: 1_600_000_300 } });
    case 'other-audience':
      return mint({ ...base, aud: 'another-api' }, { key, claims });
    case 'unknown-key':
      return mint(base, { key: stranger, claims });
    case 'forged': {
      const t = await mint(base, { key, claims });
      const [h, p] = t.split('.');
      const other = (await mint(base, { key, claims: { ...claims, sub: `${sub}-x` } })).split('.')[2];
      return `${h}.${p}.${other}`; // a real signature, of another payload
    }
  }
}

describe.each(ROWS)('%s', (_name, row) => {
  let sub: string;
  let d: Decision;
  let usedBefore: number;

  beforeAll(async () => {
    sub = `user-${ROWS.findIndex(([, r]) => r === row)}`;
    if (row.quota === 'spent') await store.charge(sub, LIMIT, TODAY);
    usedBefore = (await store.usage(sub, TODAY))?.ticksUsed ?? 0;
    const authorization = await tokenFor(row.token, sub).then((t) => (t === undefined ? undefined : `Bearer ${t}`));
    const pipeline = row.quota === 'no-store' ? withoutStore : withStore;
    d = await pipeline.decide({ authorization, authorizationCount: authorization ? 1 : 0, method: row.method, uri: row.uri, maxTicks: row.maxTicks });
  });

  test(`→ ${row.status} ${row.reason}, ${row.charged} charged`, async () => {
    expect({ status: d.status, reason: d.reason, granted: d.granted, charged: d.charged }).toEqual({
      status: row.status,
      reason: row.reason,
      granted: row.status === 200,
      charged: row.charged,
    });
    // the store agrees with the decision: what it says was charged, and nothing on a refusal
    const used = (await store.usage(sub, TODAY))?.ticksUsed ?? 0;
    expect(used - usedBefore).toBe(row.charged);
  });

  test('headers', () => {
    if (row.status === 200) {
      const scopes = row.token === 'write' ? 'things:read,tasks:write' : 'things:read';
      expect(d.headers).toMatchObject(IDENTITY(sub, scopes));
      expect(d.headers['X-Auth-Reason']).toBeUndefined();
      expect(d.headers['WWW-Authenticate']).toBeUndefined();
    } else {
      expect(d.headers['X-Auth-Reason']).toBe(row.reason);
      expect(d.headers['X-User-Id']).toBeUndefined();
      if (row.status === 401 || row.status === 403) expect(d.headers['WWW-Authenticate']).toMatch(/^Bearer realm="[^"]+"/);
      else expect(d.headers['WWW-Authenticate']).toBeUndefined();
    }
    for (const [name, want] of Object.entries(row.headers ?? {})) {
      if (want instanceof RegExp) expect(d.headers[name]).toMatch(want);
      else expect(d.headers[name]).toBe(want);
    }
    for (const name of row.absent ?? []) expect(d.headers[name]).toBeUndefined();
  });
});
