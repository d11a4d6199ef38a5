// Route rules on roles, claims (aal, app_metadata) and any-of, deny-by-default, and Supabase users
// confirmed by phone, decided by the listener production serves, on each store backend.
import request from 'supertest';
import { makeKey, mint, TestIssuer, type TestKey } from '../../devkit/issuer';
import { buildTestApp, type TestApp } from '../helpers/app';
import { eachBackend } from '../quota/backends';

const RULES = {
  'GET /api/': [],
  'POST /api/admin/': { roles: ['admin'] },
  '* /api/billing/': { claims: { aal: 'aal2', 'app_metadata.plan': ['pro', 'team'] } },
  'PUT /api/docs/': { any: [{ roles: 'editor' }, { scopes: 'docs:write' }] },
};

// Stand-in auth.users rows (text ids): one confirmed by phone only, one by e-mail, one by neither.
const PHONE_USER = '0b6f8a1e-0000-4000-8000-000000000001';
const EMAIL_USER = '0b6f8a1e-0000-4000-8000-000000000002';
const NOBODY = '0b6f8a1e-0000-4000-8000-000000000003';

let kc: TestIssuer; // an OIDC issuer whose tokens carry `roles` (as Entra ID's app roles do)
let sb: TestIssuer; // a Supabase project (issuer <url>/auth/v1)
let kcKey: TestKey;
let sbKey: TestKey;

beforeAll(async () => {
  [kcKey, sbKey] = await Promise.all([makeKey('RS256', 'kc'), makeKey('ES256', 'sb')]);
  [kc, sb] = await Promise.all([TestIssuer.start([kcKey], '/realms/wavestack'), TestIssuer.start([sbKey], '/auth/v1')]);
});
afterAll(async () => {
  await kc?.stop();
  await sb?.stop();
});

/** An access token with a `roles` array claim (the default roles claim of a JWKS issuer). */
const withRoles = (roles: string[], scope = '') =>
  mint({ iss: kc.issuer, aud: 'wavestack' }, { key: kcKey, claims: { sub: 'svc-1', azp: 'gateway', scope, roles } });

/**
 * A Supabase user access token, shaped as https://supabase.com/docs/guides/auth/jwt-fields lists
 * it: no `scope`; `aal` (aal1, or aal2 after an MFA challenge), `amr`, app_metadata set by the
 * server (provider, and here a plan), `phone`, and `email` empty for a phone sign-up.
 */
const supabase = (sub: string, o: { aal?: string; plan?: string; email?: string; phone?: string } = {}) =>
  mint(
    { iss: sb.issuer, aud: 'authenticated' },
    {
      key: sbKey,
      claims: {
        sub,
        role: 'authenticated',
        aal: o.aal ?? 'aal1',
        amr: [{ method: 'otp', timestamp: Math.floor(Date.now() / 1000) }],
        session_id: 'b1c2d3e4-0000-4000-8000-00000000000a',
        email: o.email ?? '',
        phone: o.phone ?? '15550100',
        app_metadata: { provider: 'phone', providers: ['phone'], ...(o.plan ? { plan: o.plan } : {}) },
        user_metadata: {},
        is_anonymous: false,
      },
    },
  );

eachBackend((env) => {
  let app: TestApp;

  beforeAll(async () => {
    await env().pool.query(
      `INSERT INTO auth.users (id, email, email_confirmed_at, phone, phone_confirmed_at) VALUES
        ($1, NULL, NULL, '15550100', now()), ($2, 'e@example.com', now(), NULL, NULL), ($3, 'n@example.com', NULL, '15550101', NULL)`,
      [PHONE_USER, EMAIL_USER, NOBODY],
    );
    app = await buildTestApp(
      {
        AUTH_MODE: 'jwks,supabase',
        AUTH_ISSUER: kc.issuer,
        AUTH_AUDIENCE: 'wavestack',
        SUPABASE_URL: sb.issuer.replace(/\/auth\/v1$/, ''),
        AUTH_ROUTE_RULES: JSON.stringify(RULES),
        AUTH_DEFAULT_POLICY: 'deny',
        QUOTA_ROUTES: ',',
        LOG_LEVEL: 'silent',
      },
      { store: env().store },
    );
  });
  afterAll(async () => {
    await app?.close();
  });

  const decide = async (token: Promise<string>, method: string, uri: string) => {
    const res = await request(app.listener)
      .get('/api/auth/validate')
      .set('Authorization', `Bearer ${await token}`)
      .set('X-Original-Method', method)
      .set('X-Original-URI', uri);
    return { status: res.status, reason: res.headers['x-auth-reason'] ?? 'ok', email: res.headers['x-user-email'], challenge: res.headers['www-authenticate'] };
  };

  test.each<[string, string, string, number, string, () => Promise<string>]>([
    ['role admin', 'POST', '/api/admin/users', 200, 'ok', () => withRoles(['admin'])],
    ['without the admin role', 'POST', '/api/admin/users', 403, 'role_missing', () => withRoles(['user'])],
    ['any-of: the editor role', 'PUT', '/api/docs/1', 200, 'ok', () => withRoles(['editor'])],
    ['any-of: the docs:write scope', 'PUT', '/api/docs/1', 200, 'ok', () => withRoles([], 'docs:write')],
    ['any-of: neither', 'PUT', '/api/docs/1', 403, 'role_missing', () => withRoles(['user'], 'docs:read')],
    ['deny-by-default: no rule for DELETE /api/x', 'DELETE', '/api/x', 403, 'route_not_allowed', () => withRoles(['admin'])],
    ['deny-by-default: no rule outside /api/', 'GET', '/internal/x', 403, 'route_not_allowed', () => withRoles(['admin'])],
    ['HEAD is known through its GET rule', 'HEAD', '/api/x', 200, 'ok', () => withRoles([])],
    [
      'a scope-less Supabase token on a claim rule: aal2 and the pro plan',
      'POST',
      '/api/billing/pay',
      200,
      'ok',
      () => supabase(PHONE_USER, { aal: 'aal2', plan: 'pro' }),
    ],
    ['Supabase without MFA (aal1)', 'POST', '/api/billing/pay', 403, 'claim_mismatch', () => supabase(PHONE_USER, { aal: 'aal1', plan: 'pro' })],
    ['Supabase aal2 on the free plan', 'GET', '/api/billing/', 403, 'claim_mismatch', () => supabase(PHONE_USER, { aal: 'aal2', plan: 'free' })],
    ['Supabase user with neither e-mail nor phone confirmed', 'GET', '/api/x', 403, 'email_unconfirmed', () => supabase(NOBODY, { email: 'n@example.com' })],
  ])('%s: %s %s → %i %s', async (_name, method, uri, status, reason, token) => {
    expect(await decide(token(), method, uri)).toMatchObject({ status, reason });
  });

  test('a role or claim refusal is RFC 6750 insufficient_scope and names what is missing', async () => {
    const r = await decide(supabase(PHONE_USER, { aal: 'aal1', plan: 'pro' }), 'POST', '/api/billing/pay');
    expect(r.challenge).toBe('Bearer realm="api", error="insufficient_scope", error_description="POST /api/billing/ requires claim aal = \'aal2\'"');
  });

  test('a Supabase user confirmed by phone passes; X-User-Email only for a confirmed e-mail', async () => {
    expect(await decide(supabase(PHONE_USER), 'GET', '/api/x')).toMatchObject({ status: 200, email: undefined });
    // a phone user who typed an address that was never confirmed: passes, the address is not sent
    expect(await decide(supabase(PHONE_USER, { email: 'typed@example.com' }), 'GET', '/api/x')).toMatchObject({ status: 200, email: undefined });
    expect(await decide(supabase(EMAIL_USER, { email: 'e@example.com', phone: '' }), 'GET', '/api/x')).toMatchObject({ status: 200, email: 'e@example.com' });
  });
});
