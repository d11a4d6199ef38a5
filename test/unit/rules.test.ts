// Route rules beyond scopes: roles, claim values (aal, app_metadata, groups), any-of, deny-by-default,
// as AUTH_ROUTE_RULES is parsed and as the policy stage decides (table-driven).
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../validator/config';
import { parseRouteRules } from '../../validator/config/routes';
import { AuthError } from '../../validator/errors';
import { authorizeRoute, type DefaultPolicy } from '../../validator/policy/rules';
import type { Principal } from '../../validator/token/claims';

const RULES = parseRouteRules(
  'AUTH_ROUTE_RULES',
  JSON.stringify({
    'GET /api/': ['api:read'],
    'POST /api/admin/': { roles: ['admin'] },
    'DELETE /api/admin/': { scopes: 'api:write', roles: ['admin', 'ops'] },
    '* /api/billing/': { claims: { aal: 'aal2', 'app_metadata.plan': ['pro', 'team'] } },
    'GET /api/verified': { claims: { email_verified: true } },
    'GET /api/groups/': { claims: { groups: 'admins' } },
    'GET /api/level': { claims: { level: 3 } },
    'PUT /api/docs/': { any: [{ roles: 'editor' }, { scopes: ['docs:write'] }, { claims: { 'app_metadata.owner': true } }] },
    'PATCH /api/docs/': { roles: 'editor', any: [{ claims: { aal: 'aal2' } }, { claims: { amr: 'hwk' } }] },
    'GET /public/': [],
    'GET /open/': {},
  }),
);

interface Holder {
  scopes?: string[];
  roles?: string[];
  claims?: Record<string, unknown>;
}
const principal = (h: Holder): Principal => ({
  sub: 'u1',
  userId: 'u1',
  scopes: h.scopes ?? [],
  roles: h.roles ?? [],
  claims: Object.freeze({ sub: 'u1', ...h.claims }),
  isPerson: true,
  supabase: false,
  issuer: 'https://idp.example',
});

/** The reason code of the decision, or 'ok'. */
function decide(method: string, path: string, h: Holder, policy: DefaultPolicy = 'allow', rules = RULES): string {
  try {
    authorizeRoute(rules, method, path, principal(h), policy);
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(AuthError);
    return (e as AuthError).code;
  }
}

// A Supabase user's access token carries no scope; its MFA level is `aal`, its server-set data app_metadata.
const supabaseUser = (aal: string, plan?: string): Holder => ({
  claims: { role: 'authenticated', aal, app_metadata: { provider: 'phone', ...(plan ? { plan } : {}) } },
});

describe('rules on roles, claims and any-of', () => {
  test.each<[string, string, string, Holder, string]>([
    ['scopes still work', 'GET', '/api/x', { scopes: ['api:read'] }, 'ok'],
    ['missing scope', 'GET', '/api/x', {}, 'scope_missing'],
    ['role present', 'POST', '/api/admin/users', { roles: ['admin'] }, 'ok'],
    ['role missing', 'POST', '/api/admin/users', { roles: ['user'] }, 'role_missing'],
    ['roles compare exactly', 'POST', '/api/admin/users', { roles: ['Admin', 'admins'] }, 'role_missing'],
    ['scope and every role (all-of)', 'DELETE', '/api/admin/x', { scopes: ['api:write'], roles: ['admin', 'ops'] }, 'ok'],
    ['all-of: one role short', 'DELETE', '/api/admin/x', { scopes: ['api:write'], roles: ['admin'] }, 'role_missing'],
    ['all-of: scope checked first', 'DELETE', '/api/admin/x', { roles: ['admin', 'ops'] }, 'scope_missing'],
    ['supabase aal2 + pro plan, no scope at all', 'POST', '/api/billing/pay', supabaseUser('aal2', 'pro'), 'ok'],
    ['supabase aal2 + team plan (one of the values)', 'GET', '/api/billing/', supabaseUser('aal2', 'team'), 'ok'],
    ['supabase aal1 (no MFA)', 'POST', '/api/billing/pay', supabaseUser('aal1', 'pro'), 'claim_mismatch'],
    ['supabase aal2, free plan', 'POST', '/api/billing/pay', supabaseUser('aal2', 'free'), 'claim_mismatch'],
    ['supabase aal2, no app_metadata.plan', 'POST', '/api/billing/pay', supabaseUser('aal2'), 'claim_mismatch'],
    ['boolean claim true', 'GET', '/api/verified', { claims: { email_verified: true } }, 'ok'],
    ['boolean claim as a string does not match', 'GET', '/api/verified', { claims: { email_verified: 'true' } }, 'claim_mismatch'],
    ['boolean claim false', 'GET', '/api/verified', { claims: { email_verified: false } }, 'claim_mismatch'],
    ['array claim contains the value', 'GET', '/api/groups/x', { claims: { groups: ['users', 'admins'] } }, 'ok'],
    ['array claim without the value', 'GET', '/api/groups/x', { claims: { groups: ['users'] } }, 'claim_mismatch'],
    ['scalar claim equal to the value', 'GET', '/api/groups/x', { claims: { groups: 'admins' } }, 'ok'],
    ['number claim', 'GET', '/api/level', { claims: { level: 3 } }, 'ok'],
    ['number claim as a string does not match', 'GET', '/api/level', { claims: { level: '3' } }, 'claim_mismatch'],
    ['a claim path never reads the prototype', 'GET', '/api/groups/x', { claims: {} }, 'claim_mismatch'],
    ['any-of: the role', 'PUT', '/api/docs/1', { roles: ['editor'] }, 'ok'],
    ['any-of: the scope', 'PUT', '/api/docs/1', { scopes: ['docs:write'] }, 'ok'],
    ['any-of: the claim', 'PUT', '/api/docs/1', { claims: { app_metadata: { owner: true } } }, 'ok'],
    ['any-of: none (code of the first alternative)', 'PUT', '/api/docs/1', { scopes: ['docs:read'] }, 'role_missing'],
    ['role and any-of (aal2)', 'PATCH', '/api/docs/1', { roles: ['editor'], claims: { aal: 'aal2' } }, 'ok'],
    ['role and any-of (amr contains hwk)', 'PATCH', '/api/docs/1', { roles: ['editor'], claims: { amr: ['pwd', 'hwk'] } }, 'ok'],
    ['role but neither alternative', 'PATCH', '/api/docs/1', { roles: ['editor'], claims: { aal: 'aal1', amr: ['pwd'] } }, 'claim_mismatch'],
    ['alternatives but not the role', 'PATCH', '/api/docs/1', { claims: { aal: 'aal2' } }, 'role_missing'],
    ['an empty rule opens the route', 'GET', '/public/x', {}, 'ok'],
    ['an empty object rule opens the route', 'GET', '/open/x', {}, 'ok'],
    ['no rule: allowed by default', 'GET', '/elsewhere', {}, 'ok'],
  ])('%s: %s %s → %s', (_name, method, path, holder, expected) => {
    expect(decide(method, path, holder)).toBe(expected);
  });

  test('refusals are 403; role and claim refusals say what is missing, without a scope attribute', () => {
    const refusal = (method: string, path: string, h: Holder): AuthError => {
      try {
        authorizeRoute(RULES, method, path, principal(h));
      } catch (e) {
        return e as AuthError;
      }
      throw new Error('authorized');
    };
    const role = refusal('POST', '/api/admin/x', {});
    expect([role.status, role.bearerError, role.scope]).toEqual([403, 'insufficient_scope', undefined]);
    expect(role.message).toBe('POST /api/admin/ requires role admin');
    expect(role.wwwAuthenticate).toBe('Bearer realm="api", error="insufficient_scope", error_description="POST /api/admin/ requires role admin"');
    const claim = refusal('POST', '/api/billing/x', supabaseUser('aal1', 'pro'));
    expect([claim.status, claim.code]).toEqual([403, 'claim_mismatch']);
    expect(claim.message).toBe('POST /api/billing/ requires claim aal = "aal2"');
    const any = refusal('PUT', '/api/docs/1', {});
    expect(any.message).toBe('PUT /api/docs/ requires one of (role editor | scope docs:write | claim app_metadata.owner = true)');
    const scope = refusal('DELETE', '/api/admin/x', {});
    expect(scope.scope).toEqual(['api:write']);
  });
});

describe('AUTH_DEFAULT_POLICY', () => {
  test.each<[string, string, Holder, DefaultPolicy, string]>([
    ['GET', '/elsewhere', {}, 'deny', 'route_not_allowed'],
    ['GET', '/elsewhere', {}, 'allow', 'ok'],
    ['POST', '/api/x', { scopes: ['api:read'] }, 'deny', 'route_not_allowed'], // GET /api/ rule does not cover POST
    ['GET', '/api/x', { scopes: ['api:read'] }, 'deny', 'ok'],
    ['GET', '/api/x', {}, 'deny', 'scope_missing'], // a matching rule decides as usual
    ['GET', '/public/x', {}, 'deny', 'ok'], // an empty rule opens a route under deny
    ['HEAD', '/api/x', { scopes: ['api:read'] }, 'deny', 'ok'], // the GET rule makes HEAD known
    ['HEAD', '/api/x', {}, 'deny', 'scope_missing'], // and HEAD must pass it
    ['HEAD', '/elsewhere', {}, 'deny', 'route_not_allowed'],
    ['HEAD', '/api/admin/x', { roles: ['admin'] }, 'deny', 'scope_missing'], // GET /api/ applies, the POST rule does not
  ])('%s %s with %j under %s → %s', (method, path, holder, policy, expected) => {
    expect(decide(method, path, holder, policy)).toBe(expected);
  });

  test('HEAD must pass both its own rule and the GET rule', () => {
    const rules = parseRouteRules('R', JSON.stringify({ 'GET /a/': { roles: 'reader' }, 'HEAD /a/': { claims: { aal: 'aal2' } } }));
    expect(decide('HEAD', '/a/x', { roles: ['reader'] }, 'deny', rules)).toBe('claim_mismatch');
    expect(decide('HEAD', '/a/x', { claims: { aal: 'aal2' } }, 'deny', rules)).toBe('role_missing');
    expect(decide('HEAD', '/a/x', { roles: ['reader'], claims: { aal: 'aal2' } }, 'deny', rules)).toBe('ok');
  });

  test('route_not_allowed is a 403 without an RFC 6750 error: no token could pass', () => {
    try {
      authorizeRoute(RULES, 'GET', '/elsewhere', principal({}), 'deny');
      throw new Error('authorized');
    } catch (e) {
      const err = e as AuthError;
      expect([err.code, err.status, err.bearerError, err.wwwAuthenticate]).toEqual(['route_not_allowed', 403, undefined, 'Bearer realm="api"']);
    }
  });
});

describe("a format suffix: the path as written and as Rails reads it, each reading's rule must hold", () => {
  const rules = parseRouteRules('R', JSON.stringify({ 'GET /api/': ['api:read'], 'GET /api/admin': ['admin'], 'GET /api/public': [], 'GET /api/v1': [] }));
  test('/api/admin.json needs the admin rule (Rails runs the admin action) and the /api/ rule (Express serves it as its own path)', () => {
    expect(decide('GET', '/api/admin.json', { scopes: ['api:read'] }, 'allow', rules)).toBe('scope_missing');
    expect(decide('GET', '/api/admin.json', { scopes: ['admin'] }, 'allow', rules)).toBe('scope_missing');
    expect(decide('GET', '/api/admin.json', { scopes: ['admin', 'api:read'] }, 'allow', rules)).toBe('ok');
  });
  test('an open rule on the stem does not open the suffixed path that the /api/ rule guards on other servers', () => {
    expect(decide('GET', '/api/public', {}, 'allow', rules)).toBe('ok');
    expect(decide('GET', '/api/public.json', {}, 'allow', rules)).toBe('scope_missing');
    expect(decide('GET', '/api/public.json', { scopes: ['api:read'] }, 'allow', rules)).toBe('ok');
  });
  test('only the last segment has a format suffix: /api/v1.2/x is not under /api/v1', () => {
    expect(decide('GET', '/api/v1.2/x', {}, 'allow', rules)).toBe('scope_missing');
  });
  test('deny: only the path as written makes a route known', () => {
    const only = parseRouteRules('R', JSON.stringify({ 'GET /api/things': [] }));
    expect(decide('GET', '/api/things', {}, 'deny', only)).toBe('ok');
    expect(decide('GET', '/api/things.json', {}, 'deny', only)).toBe('route_not_allowed');
  });
});

describe('parsing the object form', () => {
  test('old forms parse as before; the object form keeps only what is given', () => {
    expect(parseRouteRules('R', '{"GET /a": "x y", "POST /a": ["z"], "PUT /a": {"scopes": "w"}}')).toEqual([
      { method: 'GET', path: '/a', scopes: ['x', 'y'] },
      { method: 'POST', path: '/a', scopes: ['z'] },
      { method: 'PUT', path: '/a', scopes: ['w'] },
    ]);
    expect(
      parseRouteRules('R', JSON.stringify([{ method: 'GET', path: '/b', roles: 'ops team', claims: { 'app_metadata.plan': ['pro', 1, false] } }])),
    ).toEqual([
      {
        method: 'GET',
        path: '/b',
        scopes: [],
        roles: ['ops team'],
        claims: [{ claim: 'app_metadata.plan', path: ['app_metadata', 'plan'], values: ['pro', 1, false] }],
      },
    ]);
  });

  test.each([
    ['a misspelt key would open the route', { 'GET /a': { role: ['admin'] } }, /unknown key "role"; a rule may require scopes, roles, claims, any/],
    ['unknown key in the array form', [{ method: 'GET', path: '/a', claim: {} }], /rule #0: unknown key "claim"/],
    ['empty any', { 'GET /a': { any: [] } }, /"any" of GET \/a must be a non-empty array/],
    ['any not an array', { 'GET /a': { any: { roles: 'x' } } }, /"any" of GET \/a must be a non-empty array/],
    ['unknown key inside any', { 'GET /a': { any: [{ scope: 'x' }] } }, /GET \/a any\[0\]: unknown key "scope"/],
    ['any nested too deep', { 'GET /a': { any: [{ any: [{ any: [{ any: [{ roles: 'x' }] }] }] }] } }, /nested more than 3 levels/],
    ['roles not strings', { 'GET /a': { roles: [1] } }, /roles of GET \/a must be a string or an array of strings/],
    ['empty role', { 'GET /a': { roles: [''] } }, /role "" of GET \/a is empty/],
    ['role with surrounding space', { 'GET /a': { roles: [' admin'] } }, /role " admin" of GET \/a/],
    ['claims not an object', { 'GET /a': { claims: ['aal'] } }, /claims of GET \/a must be an object/],
    ['claim value null', { 'GET /a': { claims: { aal: null } } }, /claim aal of GET \/a: values must be strings, numbers or booleans/],
    ['claim value object', { 'GET /a': { claims: { app_metadata: { plan: 'pro' } } } }, /values must be strings, numbers or booleans/],
    ['claim value empty list', { 'GET /a': { claims: { aal: [] } } }, /an empty list of values could never match/],
    ['claim name with an empty part', { 'GET /a': { claims: { 'app_metadata..plan': 'x' } } }, /claim name "app_metadata..plan" of GET \/a has an empty/],
    ['claim path through the prototype', { 'GET /a': { claims: { 'constructor.name': 'Object' } } }, /may not use the key "constructor"/],
    ['bad scope in the object form', { 'GET /a': { scopes: ['a"b'] } }, /not an RFC 6749 scope-token/],
  ])('%s', (_name, rules, message) => {
    expect(() => parseRouteRules('AUTH_ROUTE_RULES', JSON.stringify(rules))).toThrow(message);
  });
});

describe('config', () => {
  const BASE = { NODE_ENV: 'test', AUTH_MODE: 'jwks', AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'api', DATA_DIR: 'memory://' };
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-rules-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('AUTH_DEFAULT_POLICY: allow by default, deny on request (any letter case)', () => {
    expect(parseConfig(BASE).auth.defaultPolicy).toBe('allow');
    expect(parseConfig({ ...BASE, AUTH_DEFAULT_POLICY: 'Deny', AUTH_ROUTE_RULES: '{"GET /": []}' }).auth.defaultPolicy).toBe('deny');
    expect(() => parseConfig({ ...BASE, AUTH_DEFAULT_POLICY: 'block' })).toThrow(/AUTH_DEFAULT_POLICY: must be allow or deny/);
  });

  test('deny without a single rule is refused at start-up: it would refuse every request', () => {
    expect(() => parseConfig({ ...BASE, AUTH_DEFAULT_POLICY: 'deny' })).toThrow(/AUTH_DEFAULT_POLICY: is deny but AUTH_ROUTE_RULES has no rule/);
  });

  test('object-form rules are read from AUTH_ROUTE_RULES_FILE too', () => {
    const file = join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify({ 'GET /api/': { roles: ['reader'], claims: { aal: 'aal2' } } }, null, 2) + '\n');
    const { routeRules } = parseConfig({ ...BASE, AUTH_ROUTE_RULES_FILE: file, AUTH_DEFAULT_POLICY: 'deny' }).auth;
    expect(routeRules).toEqual([{ method: 'GET', path: '/api/', scopes: [], roles: ['reader'], claims: [{ claim: 'aal', path: ['aal'], values: ['aal2'] }] }]);
    expect(Object.isFrozen(routeRules[0]!.claims![0]!.values)).toBe(true);
  });
});
