// Subject spaces across issuers: a `sub` is unique within its issuer only (OIDC Core §2), and a claim
// mapping may take the subject from a claim a user picks. With `subjectPrefix`, equal subjects of two
// issuers are two users at the upstream (X-User-Id) and in the quota; the configuration refuses
// prefixes that could meet, and production refuses several issuers that do not state theirs.
import request from 'supertest';
import { ConfigErrors, parseConfig } from '../../validator/config';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

let kc: TestIssuer; // the staff IdP: subjects from `preferred_username`, as some deployments map them
let pub: TestIssuer; // a self-service IdP where anyone picks a username
let kcKey: TestKey, pubKey: TestKey;
let t: TestApp;

const entries = (kcPrefix: string | undefined, pubPrefix: string | undefined) =>
  JSON.stringify([
    { issuer: kc.issuer, audience: 'api', jwksUrl: kc.jwksUrl, claims: { subject: 'preferred_username' }, subjectPrefix: kcPrefix },
    { issuer: pub.issuer, audience: 'api', jwksUrl: pub.jwksUrl, claims: { subject: 'preferred_username' }, subjectPrefix: pubPrefix },
  ]);

beforeAll(async () => {
  [kcKey, pubKey] = await Promise.all([makeKey('RS256', 'kc'), makeKey('ES256', 'pub')]);
  kc = await TestIssuer.start([kcKey], '/realms/staff');
  pub = await TestIssuer.start([pubKey], '/self-service');
  t = await buildTestApp({
    AUTH_ISSUERS: entries('kc:', 'pub:'),
    QUOTA_ROUTES: 'POST /api/tasks',
    QUOTA_DEFAULT_DAILY_TICKS: '3',
    AUTH_DECISION_CACHE_TTL_S: '0',
  });
});

afterAll(async () => {
  await t?.close();
  await Promise.all([kc, pub].map((i) => i?.stop()));
});

const tokenOf = (iss: TestIssuer, key: TestKey, username: string) =>
  mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { sub: `${iss === kc ? 'k' : 'p'}-${username}`, preferred_username: username } });
const validate = async (tok: string, method = 'GET', uri = '/api/things') => {
  const res = await request(t.listener)
    .get('/api/auth/validate')
    .set('X-Original-Method', method)
    .set('X-Original-URI', uri)
    .set('Authorization', `Bearer ${tok}`);
  return {
    status: res.status,
    reason: res.headers['x-auth-reason'] as string | undefined,
    user: res.headers['x-user-id'],
    remaining: res.headers['x-ticks-remaining'],
  };
};

describe('equal subjects of two issuers are two users', () => {
  test('"alice" at the staff IdP and "alice" at the self-service IdP reach the upstream as kc:alice and pub:alice', async () => {
    expect(await validate(await tokenOf(kc, kcKey, 'alice'))).toMatchObject({ status: 200, user: 'kc:alice' });
    expect(await validate(await tokenOf(pub, pubKey, 'alice'))).toMatchObject({ status: 200, user: 'pub:alice' });
  });

  test("one issuer's user spending the quota leaves the other's untouched", async () => {
    const mallory = await tokenOf(pub, pubKey, 'bob');
    for (const left of ['2', '1', '0']) expect(await validate(mallory, 'POST', '/api/tasks')).toMatchObject({ status: 200, remaining: left });
    expect(await validate(mallory, 'POST', '/api/tasks')).toMatchObject({ status: 429, reason: 'quota_exhausted' });
    expect(await validate(await tokenOf(kc, kcKey, 'bob'), 'POST', '/api/tasks')).toMatchObject({ status: 200, user: 'kc:bob', remaining: '2' });
  });

  test('the store bound holds for prefix + subject: 255 bytes in all, refused as the token’s fault before any charge', async () => {
    const long = 'x'.repeat(252); // fits alone, not after "pub:"
    expect(await validate(await tokenOf(kc, kcKey, long.slice(0, 251)), 'POST', '/api/tasks')).toMatchObject({ status: 200 });
    expect(await validate(await tokenOf(pub, pubKey, long), 'POST', '/api/tasks')).toMatchObject({ status: 401, reason: 'claim_invalid' });
  });
});

describe('the configuration', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      parseConfig(env);
      return [];
    } catch (e) {
      return e instanceof ConfigErrors ? e.errors.map((x) => x.message) : [(e as Error).message];
    }
  };
  const prod = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db.internal/tollgate' };

  test('prefixes where one starts another (or two equal ones) are refused in any environment', () => {
    expect(problems({ AUTH_ISSUERS: entries('kc:', 'kc:x:') }).join('\n')).toMatch(/AUTH_ISSUERS.*subjectPrefix "kc:".*starts the subjectPrefix "kc:x:"/);
    expect(problems({ AUTH_ISSUERS: entries('same:', 'same:') }).join('\n')).toMatch(/subjectPrefix "same:" .* is also the subjectPrefix "same:"/);
    expect(problems({ AUTH_ISSUERS: entries('kc:', 'pub:') })).toEqual([]);
  });

  test('production: several issuers must each state a subjectPrefix ("" says they share users); development only needs them apart', () => {
    const unstated = problems({ ...prod, AUTH_ISSUERS: entries('kc:', undefined) }).join('\n');
    expect(unstated).toMatch(/AUTH_ISSUERS: 2 issuers are trusted and .*self-service states no subject prefix/);
    expect(unstated).not.toContain('realms/staff states');
    expect(problems({ ...prod, AUTH_ISSUERS: entries('', '') }).filter((m) => /subjectPrefix/.test(m))).toEqual([]);
    expect(problems({ ...prod, AUTH_ISSUERS: entries('kc:', 'pub:') }).filter((m) => /subjectPrefix/.test(m))).toEqual([]);
    expect(problems({ AUTH_ISSUERS: entries(undefined, undefined) })).toEqual([]);
  });

  test('production, the AUTH_MODE shorthand: AUTH_SUBJECT_PREFIX and SUPABASE_SUBJECT_PREFIX state them, each refusal names its variable', () => {
    const shorthand = {
      ...prod,
      AUTH_MODE: 'jwks,supabase',
      AUTH_ISSUER: kc.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: kc.jwksUrl,
      SUPABASE_URL: 'https://abc.supabase.co',
      SUPABASE_ANON_KEY: undefined as unknown as string,
    };
    const both = problems(shorthand).filter((m) => /subject prefix/.test(m));
    expect(both.map((m) => m.split(':')[0]).sort()).toEqual(['AUTH_SUBJECT_PREFIX', 'SUPABASE_SUBJECT_PREFIX']);
    expect(problems({ ...shorthand, AUTH_SUBJECT_PREFIX: 'kc:', SUPABASE_SUBJECT_PREFIX: 'sb:' }).filter((m) => /prefix/i.test(m))).toEqual([]);
    expect(problems({ ...shorthand, AUTH_SUBJECT_PREFIX: 'kc:', SUPABASE_SUBJECT_PREFIX: 'kc:' }).join('\n')).toMatch(/is also the subjectPrefix "kc:"/);
    expect(problems({ ...shorthand, AUTH_SUBJECT_PREFIX: 'a b' }).join('\n')).toMatch(/AUTH_SUBJECT_PREFIX: must be at most 64 printable ASCII/);
  });

  test('a prefix with a space, a comma, a control or over 64 characters is refused naming the entry', () => {
    for (const bad of ['a b', 'a,b', 'a\u0000', 'x'.repeat(65), 'é:']) {
      expect(problems({ AUTH_ISSUERS: entries(bad, 'pub:') }).join('\n')).toMatch(
        /AUTH_ISSUERS: \[0\].* subjectPrefix: must be a string of at most 64 printable ASCII/,
      );
    }
  });
});
