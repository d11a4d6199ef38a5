// With QUOTA_TRUST_CHARGE_ID, the validator reads the gateway's X-Tollgate-Charge-Id: a retried
// decision with the same id is granted with the same charge and charged once; an id of any other
// shape is ignored (charged). Without it (the default) the header is never trusted.
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

let iss: TestIssuer;
let key: TestKey;
let t: TestApp;
const D = '2024-08-01';
const ENV = () => ({
  AUTH_MODE: 'jwks',
  AUTH_ISSUER: iss.issuer,
  AUTH_AUDIENCE: 'wavestack',
  QUOTA_ROUTES: 'POST /api/tasks',
  QUOTA_DEFAULT_DAILY_TICKS: '10',
});
const now = () => new Date(`${D}T12:00:00Z`);

beforeAll(async () => {
  key = await makeKey('ES256', 'k1');
  iss = await TestIssuer.start([key]);
  t = await buildTestApp({ ...ENV(), QUOTA_TRUST_CHARGE_ID: 'true' }, { now });
});
afterAll(async () => {
  await t?.close();
  await iss?.stop();
});

const token = (sub: string) => mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub } });
const charge = (tok: string, chargeId?: string | string[], app: TestApp = t) => {
  const r = request(app.listener)
    .get('/api/auth/validate')
    .set('Authorization', `Bearer ${tok}`)
    .set('X-Original-Method', 'POST')
    .set('X-Original-URI', '/api/tasks')
    .set('X-Max-Ticks', '2');
  // an array goes out as two header lines (Node's setHeader); superagent's types only admit it for Cookie
  return chargeId === undefined ? r : r.set('X-Tollgate-Charge-Id', chargeId as string);
};
const used = async (sub: string) => (await t.store!.usage(sub, D))?.ticksUsed ?? 0;

test('the same charge id twice: two grants with the same X-Ticks-Charged, one charge, counted as a replay', async () => {
  const tok = await token('retried-user');
  const id = '0123456789abcdef0123456789abcdef';
  const first = await charge(tok, id);
  const retry = await charge(tok, id);
  expect([first.status, retry.status]).toEqual([200, 200]);
  expect(retry.headers['x-ticks-charged']).toBe('2');
  expect(retry.headers['x-ticks-remaining']).toBe(first.headers['x-ticks-remaining']);
  expect(await used('retried-user')).toBe(2);
  const metrics = (await request(t.listener).get('/metrics')).text;
  expect(metrics).toMatch(/tollgate_quota_charges_total\{outcome="replayed"\} 1/);
  expect(metrics).toMatch(/tollgate_quota_ticks_charged_total 2\b/);
});

test.each([
  ['no header', undefined],
  ['upper-case hex', '0123456789ABCDEF0123456789ABCDEF'],
  ['a UUID (what a client would send as X-Request-Id)', '01234567-89ab-cdef-0123-456789abcdef'],
  ['too short', '0123456789abcdef'],
])('an id the gateway would never send (%s) is ignored: every request is charged', async (_name, id) => {
  const sub = `unkeyed-${Math.random().toString(36).slice(2, 8)}`;
  const tok = await token(sub);
  expect((await charge(tok, id)).status).toBe(200);
  expect((await charge(tok, id)).status).toBe(200);
  expect(await used(sub)).toBe(4);
});

test('two charge id headers never make requests free: each granted request is charged (or the request is refused)', async () => {
  const sub = 'two-ids';
  const tok = await token(sub);
  const id = 'fedcba9876543210fedcba9876543210';
  const statuses = [(await charge(tok, [id, id])).status, (await charge(tok, [id, id])).status];
  for (const s of statuses) expect([200, 400]).toContain(s);
  expect(await used(sub)).toBe(2 * statuses.filter((s) => s === 200).length);
});

test('by default (QUOTA_TRUST_CHARGE_ID unset) the header is ignored: behind a front that passes client headers, a client cannot pick it', async () => {
  const plain = await buildTestApp(ENV(), { now, store: t.store });
  try {
    const sub = 'untrusted-front';
    const tok = await token(sub);
    const id = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    expect([(await charge(tok, id, plain)).status, (await charge(tok, id, plain)).status]).toEqual([200, 200]);
    expect(await used(sub)).toBe(4);
  } finally {
    await plain.close();
  }
});
