// Claim rules stage: scopes, token type, allowed clients, Supabase role and anonymous users → Principal.
import { parseConfig, type Config } from '../../validator/config';
import { AuthError } from '../../validator/errors';
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
const supabase = (payload: Record<string, unknown>, cfg = config) => token(cfg, 'supabase', { role: 'authenticated', aud: 'authenticated', email: 'p@example.com', ...payload });

function refusal(v: VerifiedToken, cfg = config): AuthError {
  try {
    checkClaims(v, cfg);
  } catch (e) {
    expect(e).toBeInstanceOf(AuthError);
    return e as AuthError;
  }
  throw new Error('accepted');
}

describe('scopesOf', () => {
  test.each([
    ['scope string, spaces', { scope: 'openid api:read api:write' }, ['openid', 'api:read', 'api:write']],
    ['scope string, commas', { scope: 'api:read,api:write' }, ['api:read', 'api:write']],
    ['scope string, mixed and repeated separators', { scope: ' api:read ,  api:write,,x ' }, ['api:read', 'api:write', 'x']],
    ['scp array (Azure AD, Okta)', { scp: ['api:read', 'api:write'] }, ['api:read', 'api:write']],
    ['scp string', { scp: 'api:read api:write' }, ['api:read', 'api:write']],
    ['scp array items with spaces are split', { scp: ['a b', 'c'] }, ['a', 'b', 'c']],
    ['scope and scp together, deduplicated', { scope: 'a b', scp: ['b', 'c'] }, ['a', 'b', 'c']],
    ['non-string scp items are ignored', { scp: ['a', 1, null, { x: 1 }] }, ['a']],
    ['scope of the wrong type is ignored', { scope: 42 }, []],
    ['scope as an array (non-standard) is read too', { scope: ['a', 'b'] }, ['a', 'b']],
    ['empty scope', { scope: '' }, []],
    ['no scope', {}, []],
  ])('%s', (_title, payload, expected) => {
    expect(scopesOf(payload)).toEqual(expected);
  });
});

describe('checkClaims: access tokens only', () => {
  test('a Keycloak access token → Principal', () => {
    const p = checkClaims(keycloak({ scope: 'api:read api:write', email: 'svc@example.com', email_verified: true }), config);
    expect(p).toEqual({
      sub: 'u1',
      clientId: 'gateway',
      email: 'svc@example.com',
      scopes: ['api:read', 'api:write'],
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
