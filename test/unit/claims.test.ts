// Claim rules stage: scopes, subject, token type, allowed clients, Supabase role and anonymous users → Principal.
import { parseConfig, type Config } from '../../validator/config';
import { AuthError } from '../../validator/errors';
import { parseRouteRules } from '../../validator/config/routes';
import { authorizeRoute } from '../../validator/policy/rules';
import { MAX_SUBJECT_BYTES } from '../../validator/lib/subject';
import { checkClaims, scopesOf } from '../../validator/token/claims';
import type { VerifiedToken } from '../../validator/token/verify';

const KC = 'https://idp.example.com/realms/wavestack';
const SB = 'https://abc.supabase.co';
const base = { NODE_ENV: 'test', AUTH_MODE: 'jwks,supabase', AUTH_ISSUER: KC, AUTH_AUDIENCE: 'wavestack', SUPABASE_URL: SB };
const config = parseConfig(base);
const configWith = (extra: Record<string, string>) => parseConfig({ ...base, ...extra });

const now = Math.floor(Date.now() / 1000);
function token(cfg: Config, kind: 'jwks' | 'supabase', payload: Record<string, unknown>): VerifiedToken {
  const issuer = cfg.auth.issuers.find((i) => i.kind === kind)!;
  return { issuer, alg: kind === 'jwks' ? 'RS256' : 'ES256', payload: { iss: issuer.issuer, exp: now + 300, sub: 'u1', ...payload } };
}
const keycloak = (payload: Record<string, unknown>, cfg = config) => token(cfg, 'jwks', { azp: 'gateway', typ: 'Bearer', ...payload });
const supabase = (payload: Record<string, unknown>, cfg = config) =>
  token(cfg, 'supabase', { role: 'authenticated', aud: 'authenticated', email: 'p@example.com', ...payload });

function refusal(v: VerifiedToken, cfg = config): AuthError {
  try {
    checkClaims(v, cfg);
  } catch (e) {
    expect(e).toBeInstanceOf(AuthError);
    return e as AuthError;
  }
  throw new Error('accepted');
}

describe('scopesOf: RFC 6749 §3.3 scope-tokens, split on spaces only', () => {
  test.each([
    ['scope string, spaces', { scope: 'openid api:read api:write' }, ['openid', 'api:read', 'api:write']],
    ['repeated and surrounding spaces', { scope: '  api:read   api:write ' }, ['api:read', 'api:write']],
    ['scp array (Azure AD, Okta)', { scp: ['api:read', 'api:write'] }, ['api:read', 'api:write']],
    ['scp string', { scp: 'api:read api:write' }, ['api:read', 'api:write']],
    ['scope and scp together, deduplicated', { scope: 'a b', scp: ['b', 'c'] }, ['a', 'b', 'c']],
    ['non-string scp items are ignored', { scp: ['a', 1, null, { x: 1 }] }, ['a']],
    ['scope of the wrong type is ignored', { scope: 42 }, []],
    ['scope as an array (non-standard) is read too', { scope: ['a', 'b'] }, ['a', 'b']],
    ['empty scope', { scope: '' }, []],
    ['no scope', {}, []],
    ['every scope-token character is kept', { scope: "!#$%&'()*+-./:;<=>?@[]^_`{|}~ A-z0-9" }, ["!#$%&'()*+-./:;<=>?@[]^_`{|}~", 'A-z0-9']],
    // a comma is not a separator: the scope that holds it is dropped, never split into its parts
    ['a scope with a comma is dropped, not split', { scope: 'api:read x,admin' }, ['api:read']],
    ['a comma-separated list is one (dropped) scope', { scope: 'api:read,api:write' }, []],
    ['a trailing comma', { scope: 'admin, api:read' }, ['api:read']],
    ['scp items with a comma are dropped', { scp: ['api:read', 'x,admin', ','] }, ['api:read']],
    ['scp items are not split on spaces: one with a space is dropped', { scp: ['a b', 'c'] }, ['c']],
    // other whitespace and controls are not separators either: the scope holding them is invalid
    ['a tab', { scope: 'api:read\tadmin x' }, ['x']],
    ['a newline', { scope: 'api:read\nadmin x' }, ['x']],
    ['a no-break space', { scope: 'api:read\u00a0admin x' }, ['x']],
    ['a control character', { scope: 'adm\u0001in x' }, ['x']],
    ['DEL', { scope: 'adm\u007fin x' }, ['x']],
    ['a double quote (outside the scope-token set)', { scope: 'a"b x' }, ['x']],
    ['a backslash (outside the scope-token set)', { scope: 'a\\b x' }, ['x']],
    ['non-ASCII', { scope: 'caf\u00e9 x' }, ['x']],
  ])('%s', (_title, payload, expected) => {
    expect(scopesOf(payload)).toEqual(expected);
  });
});

describe('scopes against route rules', () => {
  // Config keeps its syntax (space or comma list), so a rule scope can never hold a comma.
  const rules = parseRouteRules('AUTH_ROUTE_RULES', JSON.stringify({ '* /api/admin/': ['admin'], 'GET /api/': 'api:read, api:extra' }));
  const allowed = (payload: Record<string, unknown>, path = '/api/admin/x'): boolean => {
    try {
      authorizeRoute(rules, 'GET', path, checkClaims(keycloak(payload), config));
      return true;
    } catch (e) {
      expect(e).toMatchObject({ code: 'scope_missing' });
      return false;
    }
  };

  test('config rule scopes still split on spaces and commas', () => {
    expect(rules.find((r) => r.path === '/api/')!.scopes).toEqual(['api:read', 'api:extra']);
  });

  test.each([
    ['scope "api:read x,admin"', { scope: 'api:read x,admin' }],
    ['scope "admin,api:read"', { scope: 'admin,api:read' }],
    ['scope "x,admin,y"', { scope: 'x,admin,y' }],
    ['scp ["x,admin"]', { scp: ['x,admin'] }],
    ['scope "api:read\tadmin"', { scope: 'api:read\tadmin' }],
    ['scp ["api:read admin"]', { scp: ['api:read admin'] }],
  ])('%s never satisfies an admin rule', (_title, payload) => {
    expect(allowed(payload)).toBe(false);
  });

  test('a plain admin scope does', () => {
    expect(allowed({ scope: 'api:read admin' })).toBe(true);
    expect(allowed({ scp: ['admin'] })).toBe(true);
  });

  test('every rule scope must be present on its own', () => {
    expect(allowed({ scope: 'api:read api:extra' }, '/api/x')).toBe(true);
    expect(allowed({ scope: 'api:read,api:extra' }, '/api/x')).toBe(false);
  });
});

describe('checkClaims: subject', () => {
  test.each([
    ['one byte', 'a'],
    [`${MAX_SUBJECT_BYTES} ASCII bytes`, 'a'.repeat(MAX_SUBJECT_BYTES)],
    [`${MAX_SUBJECT_BYTES} UTF-8 bytes (85 × 3)`, '\u20ac'.repeat(MAX_SUBJECT_BYTES / 3)],
    ['a UUID', '6f1c4a52-5f60-4a35-9b1c-3c2f7a1f0e11'],
  ])('%s passes', (_title, sub) => {
    expect(checkClaims(keycloak({ sub }), config).sub).toBe(sub);
  });

  test.each([
    ['600 characters', 'a'.repeat(600)],
    [`${MAX_SUBJECT_BYTES + 1} ASCII bytes`, 'a'.repeat(MAX_SUBJECT_BYTES + 1)],
    [`${MAX_SUBJECT_BYTES + 3} UTF-8 bytes in 86 characters`, '\u20ac'.repeat(MAX_SUBJECT_BYTES / 3 + 1)],
    ['empty', ''],
    ['a number', 42],
    ['an array', ['u1']],
    ['missing', undefined],
  ])('%s → 401 claim_invalid (invalid_token)', (_title, sub) => {
    expect(refusal(keycloak({ sub }))).toMatchObject({ status: 401, code: 'claim_invalid', bearerError: 'invalid_token' });
  });

  test('a Supabase subject is held to the same limit', () => {
    expect(refusal(supabase({ sub: 'b'.repeat(600) }))).toMatchObject({ status: 401, code: 'claim_invalid' });
  });
});

describe('checkClaims: access tokens only', () => {
  test('a Keycloak access token → Principal', () => {
    const p = checkClaims(keycloak({ scope: 'api:read api:write', email: 'svc@example.com', email_verified: true }), config);
    expect(p).toEqual({
      sub: 'u1',
      userId: 'u1',
      clientId: 'gateway',
      email: 'svc@example.com',
      scopes: ['api:read', 'api:write'],
      roles: [],
      claims: expect.objectContaining({ sub: 'u1', scope: 'api:read api:write' }),
      isPerson: true,
      supabase: false,
      emailVerifiedClaim: true,
      issuer: KC,
    });
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.scopes)).toBe(true);
  });

  test('a machine token without email is not a person; client_id is read when azp is absent', () => {
    const p = checkClaims(keycloak({ azp: undefined, client_id: 'cli', email: '' }), config);
    expect(p).toMatchObject({ clientId: 'cli', email: undefined, isPerson: false, emailVerifiedClaim: undefined });
  });

  test.each([
    ['Bearer', 'Bearer'],
    ['bearer (case-insensitive)', 'bearer'],
    ['no typ claim', undefined],
  ])('typ %s passes', (_title, typ) => {
    expect(() => checkClaims(keycloak({ typ }), config)).not.toThrow();
  });

  test.each([
    ['ID token', 'ID'],
    ['refresh token', 'Refresh'],
    ['offline token', 'Offline'],
    ['logout token', 'Logout'],
    ['empty', ''],
    ['not a string', 1],
    ['an array', ['Bearer']],
  ])('typ %s is refused (401 token_type_invalid)', (_title, typ) => {
    const e = refusal(keycloak({ typ }));
    expect(e).toMatchObject({ status: 401, code: 'token_type_invalid', bearerError: 'invalid_token' });
  });
});

describe('checkClaims: AUTH_ALLOWED_CLIENTS', () => {
  const restricted = configWith({ AUTH_ALLOWED_CLIENTS: 'gateway, cli' });

  test('listed clients pass (azp or client_id)', () => {
    expect(checkClaims(keycloak({ azp: 'gateway' }, restricted), restricted).clientId).toBe('gateway');
    expect(checkClaims(keycloak({ azp: undefined, client_id: 'cli' }, restricted), restricted).clientId).toBe('cli');
  });

  test.each([
    ['another client', { azp: 'other' }],
    ['no client at all', { azp: undefined }],
    ['a client id of the wrong type', { azp: ['gateway'] }],
    ['a prefix of a listed client', { azp: 'gate' }],
    ['a listed client in another case', { azp: 'Gateway' }],
  ])('%s → 403 client_not_allowed', (_title, payload) => {
    const e = refusal(keycloak(payload, restricted), restricted);
    expect(e).toMatchObject({ status: 403, code: 'client_not_allowed' });
  });

  test('without AUTH_ALLOWED_CLIENTS any client passes', () => {
    expect(() => checkClaims(keycloak({ azp: 'anyone' }), config)).not.toThrow();
  });

  test('applies to Supabase tokens too', () => {
    expect(refusal(supabase({}, restricted), restricted).code).toBe('client_not_allowed');
  });
});

describe('checkClaims: Supabase', () => {
  test('an authenticated user → a person', () => {
    const p = checkClaims(supabase({ is_anonymous: false }), config);
    expect(p).toMatchObject({ sub: 'u1', email: 'p@example.com', isPerson: true, supabase: true, issuer: `${SB}/auth/v1`, scopes: [] });
  });

  test.each([
    ['anon (the anon key itself)', 'anon'],
    ['service_role', 'service_role'],
    ['missing', undefined],
    ['supabase_admin', 'supabase_admin'],
    ['Authenticated (case matters)', 'Authenticated'],
  ])('role %s is refused (401 token_type_invalid)', (_title, role) => {
    expect(refusal(supabase({ role }))).toMatchObject({ status: 401, code: 'token_type_invalid' });
  });

  test('anonymous users are refused (403 anonymous_user)', () => {
    expect(refusal(supabase({ is_anonymous: true }))).toMatchObject({ status: 403, code: 'anonymous_user' });
  });

  test('anonymous users pass with SUPABASE_ALLOW_ANONYMOUS=true, and are not people', () => {
    const allow = configWith({ SUPABASE_ALLOW_ANONYMOUS: 'true' });
    const p = checkClaims(supabase({ is_anonymous: true, email: undefined }, allow), allow);
    expect(p).toMatchObject({ supabase: true, isPerson: false });
  });

  test('role is not checked for other issuers', () => {
    expect(() => checkClaims(keycloak({ role: 'service_role' }), config)).not.toThrow();
  });
});
