// Identity headers of a grant: UTF-8 bytes of the values (never Latin-1 by accident), controls and
// lone surrogates refused, X-User-Email only for a verified address, and a subject too long for the
// store refused as the token's fault (401) before any store call, fail-open or not.
import pino from 'pino';
import { parseConfig } from '../../validator/config';
import { createMetrics } from '../../validator/observability/metrics';
import { createPipeline, type Decision } from '../../validator/pipeline';
import type { QuotaStore } from '../../validator/store/types';
import { TokenVerifier } from '../../validator/token/verify';
import { mint } from '../../devkit/issuer';

const ISS = 'https://idp.example.com/realms/wavestack';
const SECRET = 'an-hs256-test-secret-of-at-least-32-bytes';
const SB = 'https://abc.supabase.co';
const SB_SECRET = 'the-supabase-legacy-jwt-secret-32-bytes+';
const log = pino({ level: 'silent' });

/** A store that answers e-mail confirmation from a table and counts every call. */
function fakeStore(confirmed: Record<string, boolean | Error> = {}) {
  const calls: string[] = [];
  const store = {
    kind: 'embedded',
    async confirmation(sub: string) {
      calls.push(`emailConfirmed ${sub}`);
      const v = confirmed[sub];
      if (v instanceof Error) throw v;
      return v === undefined ? undefined : { email: v, phone: false };
    },
    async charge(sub: string, ticks: number) {
      calls.push(`charge ${sub}`);
      return { status: 'charged', charged: ticks, used: ticks, limit: 10, remaining: 10 - ticks };
    },
  } as unknown as QuotaStore;
  return { store, calls };
}

function gateway(env: Record<string, string> = {}, store?: QuotaStore) {
  const config = parseConfig({
    NODE_ENV: 'test',
    AUTH_MODE: 'hs256,supabase',
    AUTH_ISSUER: ISS,
    AUTH_AUDIENCE: 'api',
    AUTH_JWT_SECRET: SECRET,
    SUPABASE_URL: SB,
    SUPABASE_JWT_SECRET: SB_SECRET,
    QUOTA_ROUTES: 'POST /api/tasks',
    DATA_DIR: 'memory://',
    ...env,
  });
  const metrics = createMetrics({ defaults: false });
  const verifier = new TokenVerifier({ config, metrics, log });
  const pipeline = createPipeline({ config, verifier, store, metrics, log });
  return async (claims: Record<string, unknown>, method = 'GET', uri = '/api/things'): Promise<Decision> => {
    const supabase = claims.role !== undefined;
    const token = supabase
      ? await mint({ iss: `${SB}/auth/v1`, aud: 'authenticated' }, { secret: SB_SECRET, claims })
      : await mint({ iss: ISS, aud: 'api' }, { secret: SECRET, claims });
    return pipeline.decide({ authorization: `Bearer ${token}`, authorizationCount: 1, method, uri });
  };
}

/** The bytes the upstream receives for a header value: Node writes a string value as Latin-1. */
const wire = (v: string | undefined): Buffer => Buffer.from(v ?? '', 'latin1');
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('identity values are sent as UTF-8 bytes', () => {
  const decide = gateway();

  test('a non-ASCII subject arrives as its UTF-8 bytes', async () => {
    const d = await decide({ sub: 'jos\u00e9' });
    expect(d.status).toBe(200);
    expect(wire(d.headers['X-User-Id'])).toEqual(utf8('jos\u00e9'));
  });

  test('josé and the mojibake josÃ© arrive as different bytes', async () => {
    const a = await decide({ sub: 'jos\u00e9' });
    const b = await decide({ sub: 'jos\u00c3\u00a9' });
    expect(b.status).toBe(200);
    expect(wire(b.headers['X-User-Id'])).toEqual(utf8('jos\u00c3\u00a9'));
    expect(wire(a.headers['X-User-Id']).equals(wire(b.headers['X-User-Id']))).toBe(false);
  });

  test.each([
    ['CJK', '\u7528\u6237'],
    ['an emoji (surrogate pair)', 'u-\u{1f600}'],
    ['ASCII stays as it is', 'user-123'],
  ])('%s subject passes, as UTF-8', async (_t, sub) => {
    const d = await decide({ sub });
    expect(d.status).toBe(200);
    expect(wire(d.headers['X-User-Id'])).toEqual(utf8(sub));
    expect(d.principal?.sub).toBe(sub);
  });

  test('client id and e-mail are UTF-8 too', async () => {
    const d = await decide({ azp: 'cl\u00ee\u00e9nt', email: 'jos\u00e9@ex\u00e4mple.com', email_verified: true });
    expect(wire(d.headers['X-Client-Id'])).toEqual(utf8('cl\u00ee\u00e9nt'));
    expect(wire(d.headers['X-User-Email'])).toEqual(utf8('jos\u00e9@ex\u00e4mple.com'));
  });

  test.each([
    ['C0 (CR LF)', 'a\r\nX-Admin: 1'],
    ['NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['C1 (NEL)', 'a\u0085b'],
    ['C1 (CSI)', 'a\u009bb'],
    ['a lone high surrogate', 'a\ud800b'],
    ['a lone low surrogate', 'a\udc00b'],
    ['a leading space (parsers strip it)', ' alice'],
    ['a trailing space (parsers strip it)', 'alice '],
  ])('a subject with %s is refused (400), uncharged', async (_t, sub) => {
    const d = await decide({ sub }, 'POST', '/api/tasks');
    expect({ status: d.status, reason: d.reason, charged: d.charged }).toEqual({ status: 400, reason: 'request_invalid', charged: 0 });
  });

  test('a client id that cannot be sent is refused, not left out (it would read as "no client")', async () => {
    const d = await decide({ azp: 'cli\u0085ent' });
    expect({ status: d.status, reason: d.reason }).toEqual({ status: 400, reason: 'request_invalid' });
    expect(d.headers['X-Client-Id']).toBeUndefined();
  });

  test('an e-mail that cannot be sent is just not sent', async () => {
    const d = await decide({ email: 'a\u0085@example.com', email_verified: true });
    expect(d.status).toBe(200);
    expect(d.headers['X-User-Email']).toBeUndefined();
  });

  test('X-Scopes holds only scope-tokens without commas', async () => {
    const d = await decide({ scope: 'api:read x,admin caf\u00e9 a\u0001b api:write' });
    expect(d.status).toBe(200);
    expect(d.headers['X-Scopes']).toBe('api:read,api:write');
  });
});

describe('X-User-Roles', () => {
  const decide = gateway();

  test('the roles (claims.roles), comma-joined as UTF-8 bytes; a role with a comma, a control or an edge space is dropped, never split', async () => {
    const d = await decide({ roles: ['admin', 'team:a', 'x,admin', 'r\u00f4le', 'a\u0085b', ' admin', 'admin '] });
    expect(d.status).toBe(200);
    expect(wire(d.headers['X-User-Roles'])).toEqual(utf8('admin,team:a,r\u00f4le'));
    expect(d.principal?.roles).toContain('x,admin'); // rules still see every role as the token wrote it
  });

  test('absent without roles, or when none can be sent', async () => {
    expect((await decide({})).headers['X-User-Roles']).toBeUndefined();
    expect((await decide({ roles: [] })).headers['X-User-Roles']).toBeUndefined();
    expect((await decide({ roles: ['a,b'] })).headers['X-User-Roles']).toBeUndefined();
  });

  test('more than 4 KiB of roles: the header is left out (an app sees no role and denies), the request still passes', async () => {
    const many = Array.from({ length: 400 }, (_, i) => `group-${String(i).padStart(4, '0')}`);
    const d = await decide({ roles: many });
    expect(d.status).toBe(200);
    expect(d.headers['X-User-Roles']).toBeUndefined();
    expect((await decide({ roles: many.slice(0, 100) })).headers['X-User-Roles']).toBe(many.slice(0, 100).join(','));
  });
});

describe('X-User-Email only for a verified address', () => {
  test.each([
    ['email_verified true', { email_verified: true }, 'p@example.com'],
    ['email_verified false', { email_verified: false }, undefined],
    ['no email_verified claim', {}, undefined],
    ['email_verified "true" (a string)', { email_verified: 'true' }, undefined],
  ])('other issuers, %s', async (_t, claims, expected) => {
    const d = await gateway()({ email: 'p@example.com', ...claims });
    expect(d.status).toBe(200);
    expect(d.headers['X-User-Email']).toBe(expected);
  });

  const sb = (sub: string) => ({ sub, role: 'authenticated', email: `${sub}@example.com`, user_metadata: { email_verified: true } });

  test('Supabase: a confirmed address is forwarded', async () => {
    const { store } = fakeStore({ yes: true });
    const d = await gateway({}, store)(sb('yes'));
    expect(d.status).toBe(200);
    expect(d.headers['X-User-Email']).toBe('yes@example.com');
  });

  test('Supabase with SUPABASE_ALLOW_UNCONFIRMED: the user passes, the unconfirmed address is not forwarded', async () => {
    const { store, calls } = fakeStore({ yes: true, no: false, broken: new Error('db down') });
    const decide = gateway({ SUPABASE_ALLOW_UNCONFIRMED: 'true' }, store);
    const no = await decide(sb('no'));
    expect({ status: no.status, email: no.headers['X-User-Email'] }).toEqual({ status: 200, email: undefined });
    const unknown = await decide(sb('nobody'));
    expect({ status: unknown.status, email: unknown.headers['X-User-Email'] }).toEqual({ status: 200, email: undefined });
    const broken = await decide(sb('broken'));
    expect({ status: broken.status, email: broken.headers['X-User-Email'] }).toEqual({ status: 200, email: undefined });
    const yes = await decide(sb('yes'));
    expect(yes.headers['X-User-Email']).toBe('yes@example.com');
    expect(calls).toContain('emailConfirmed no');
  });

  test('Supabase with SUPABASE_ALLOW_UNCONFIRMED and no store: passes, nothing forwarded', async () => {
    const d = await gateway({ SUPABASE_ALLOW_UNCONFIRMED: 'true' })(sb('no-store'));
    expect({ status: d.status, email: d.headers['X-User-Email'] }).toEqual({ status: 200, email: undefined });
  });
});

describe('a subject longer than the store accepts', () => {
  test.each([
    ['fail closed', 'false'],
    ['QUOTA_FAIL_OPEN=true', 'true'],
  ])('%s: a 600-character sub on a charged route → 401 claim_invalid, the store never called', async (_t, failOpen) => {
    const { store, calls } = fakeStore();
    const d = await gateway({ QUOTA_FAIL_OPEN: failOpen }, store)({ sub: 'a'.repeat(600) }, 'POST', '/api/tasks');
    expect({ status: d.status, reason: d.reason, charged: d.charged }).toEqual({ status: 401, reason: 'claim_invalid', charged: 0 });
    expect(d.headers['WWW-Authenticate']).toContain('error="invalid_token"');
    expect(calls).toEqual([]);
  });

  test('on an uncharged route too, and for a Supabase user before the e-mail check', async () => {
    const { store, calls } = fakeStore();
    const decide = gateway({}, store);
    expect((await decide({ sub: 'a'.repeat(600) })).reason).toBe('claim_invalid');
    expect((await decide({ sub: 'b'.repeat(600), role: 'authenticated', email: 'x@example.com' })).reason).toBe('claim_invalid');
    expect(calls).toEqual([]);
  });
});
