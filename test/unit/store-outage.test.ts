// One outage, one name: with the database down, a charge (quota stage) and a Supabase e-mail
// confirmation check (e-mail stage) both answer 503 quota_unavailable, the code the dashboard and
// the runbook (TollgateDatabaseDown) know, never a second name for the same failure.
import pino from 'pino';
import { parseConfig } from '../../validator/config';
import { AuthError } from '../../validator/errors';
import { createMetrics } from '../../validator/observability/metrics';
import { checkEmail } from '../../validator/policy/email';
import { createQuotaStage } from '../../validator/quota/charge';
import { REASONS } from '../../validator/reasons';
import type { Principal } from '../../validator/token/claims';

const down = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
const person: Principal = {
  sub: 'u1',
  userId: 'u1',
  email: 'u1@example.com',
  scopes: [],
  roles: [],
  claims: {},
  isPerson: true,
  supabase: true,
  issuer: 'https://abc.supabase.co/auth/v1',
};
const config = parseConfig({
  NODE_ENV: 'test',
  AUTH_MODE: 'hs256',
  AUTH_ISSUER: 'https://issuer.test',
  AUTH_AUDIENCE: 'api',
  AUTH_JWT_SECRET: 'store-outage-test-secret-0123456789abcdef',
  QUOTA_ROUTES: 'POST /api/tasks',
});

async function refusalOf(p: Promise<unknown>): Promise<AuthError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof AuthError)) throw new Error(`expected a refusal, got ${String(e)}`);
  return e;
}

test('a charge with the database down: 503 quota_unavailable, Retry-After', async () => {
  const charge = createQuotaStage({ config, ledger: { charge: down }, metrics: createMetrics({ defaults: false }), log: pino({ level: 'silent' }) });
  const e = await refusalOf(charge(person, 'POST', '/api/tasks', '/api/tasks', undefined));
  const got = { status: e.status, code: e.code, retryAfter: e.headers['Retry-After'] };
  expect(got).toEqual({ status: 503, code: 'quota_unavailable', retryAfter: expect.any(String) });
});

test('an e-mail confirmation check with the database down: the same code', async () => {
  const e = await refusalOf(checkEmail(person, { ...config, supabase: { allowUnconfirmed: false } } as typeof config, { confirmation: down }));
  expect({ status: e.status, code: e.code }).toEqual({ status: 503, code: 'quota_unavailable' });
});

test('the table has one code for the outage', () => {
  expect(Object.keys(REASONS).filter((c) => /^(store|database|db)_/.test(c))).toEqual([]);
});
