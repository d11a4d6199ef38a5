// Each IdP preset's claim mapping on a token shaped exactly like that IdP's access token (the source
// of each shape is cited beside it), the preset table itself, and the claim-path reader.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../devkit/root';
import { parseConfig, type IssuerConfig } from '../../validator/config';
import { AuthError } from '../../validator/errors';
import { claimAt, parseClaimPath } from '../../validator/lib/claim-mapping';
import { PRESET_NAMES, PRESETS, GENERIC_CLAIMS, type PresetName } from '../../validator/lib/presets';
import { checkClaims, type Principal } from '../../validator/token/claims';

const now = Math.floor(Date.now() / 1000);

/** The Principal of `payload` from an issuer configured by one AUTH_ISSUERS entry. */
function principal(entry: Record<string, unknown>, payload: Record<string, unknown>): Principal {
  const config = parseConfig({ NODE_ENV: 'test', AUTH_ISSUERS: JSON.stringify([entry]) });
  const issuer: IssuerConfig = config.auth.issuers[0]!;
  return checkClaims({ issuer, alg: 'RS256', payload: Object.freeze({ exp: now + 300, iat: now, ...payload }) }, config);
}

describe("each preset on its IdP's token shape", () => {
  test("keycloak: realm roles and the API client's roles (not another client's), azp", () => {
    // Shape: Keycloak 26 access token, https://www.keycloak.org/docs/latest/server_admin/#_role_scope_mappings
    // and https://www.keycloak.org/docs/latest/server_admin/#audience-support (aud from the Audience mapper)
    const p = principal(
      { issuer: 'https://sso.example.com/realms/acme', audience: 'tasks-api', preset: 'keycloak' },
      {
        iss: 'https://sso.example.com/realms/acme',
        aud: ['tasks-api', 'account'],
        sub: 'f1c4f64e-2c0c-4cda-8c9f-9f3f8f3a2b0e',
        typ: 'Bearer',
        azp: 'web-frontend',
        sid: '4c0a3a8a',
        acr: '1',
        'allowed-origins': ['https://app.example.com'],
        scope: 'openid profile email tasks:read',
        realm_access: { roles: ['default-roles-acme', 'offline_access', 'operator'] },
        resource_access: { 'tasks-api': { roles: ['editor'] }, account: { roles: ['manage-account', 'view-profile'] }, billing: { roles: ['admin'] } },
        email_verified: true,
        preferred_username: 'ada',
        email: 'ada@example.com',
      },
    );
    expect(p).toMatchObject({
      sub: 'f1c4f64e-2c0c-4cda-8c9f-9f3f8f3a2b0e',
      clientId: 'web-frontend',
      email: 'ada@example.com',
      scopes: ['openid', 'profile', 'email', 'tasks:read'],
    });
    expect(p.roles).toEqual(['default-roles-acme', 'offline_access', 'operator', 'editor']);
    expect(p.roles).not.toContain('admin'); // billing's admin is not this API's
  });

  test("supabase: no scope, roles from app_metadata and the RBAC hook's user_role", () => {
    // Shape: https://supabase.com/docs/guides/auth/jwt-fields (required claims, app_metadata, aal, amr);
    // user_role: https://supabase.com/docs/guides/database/postgres/custom-claims-and-role-based-access-control-rbac
    const p = principal(
      { kind: 'supabase', url: 'https://abcdefghijklmnop.supabase.co' },
      {
        iss: 'https://abcdefghijklmnop.supabase.co/auth/v1',
        aud: 'authenticated',
        sub: '123e4567-e89b-12d3-a456-426614174000',
        role: 'authenticated',
        aal: 'aal2',
        amr: [
          { method: 'password', timestamp: now - 60 },
          { method: 'totp', timestamp: now },
        ],
        session_id: 'c3f1e1aa-1f0b-4b0e-8d1c-0d3a3b2f1e11',
        email: 'user@example.com',
        phone: '',
        is_anonymous: false,
        app_metadata: { provider: 'email', providers: ['email'], roles: ['editor'] },
        user_metadata: { email_verified: true, roles: ['admin'] },
        user_role: 'moderator',
      },
    );
    expect(p).toMatchObject({
      sub: '123e4567-e89b-12d3-a456-426614174000',
      supabase: true,
      isPerson: true,
      email: 'user@example.com',
      scopes: [],
      clientId: undefined,
    });
    expect(p.roles).toEqual(['editor', 'moderator']); // user_metadata is user-editable: never roles
    expect(p.claims.aal).toBe('aal2');
  });

  test('auth0: scope and RBAC permissions are scopes; azp (Auth0 profile) or client_id (RFC 9068 profile)', () => {
    // Shape: https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles (both sample tokens)
    // permissions: https://auth0.com/docs/get-started/apis/enable-role-based-access-control-for-apis
    const entry = { issuer: 'https://my-domain.auth0.com/', audience: 'https://example.com/health-api', preset: 'auth0' };
    const auth0Profile = {
      iss: 'https://my-domain.auth0.com/',
      sub: 'auth0|123456',
      aud: ['https://example.com/health-api', 'https://my-domain.auth0.com/userinfo'],
      azp: 'my_client_id',
      scope: 'openid profile read:patients read:admin',
      permissions: ['read:patients', 'write:patients'],
      gty: 'password',
      my_custom_claim: 'my_custom_value',
    };
    expect(principal(entry, auth0Profile)).toMatchObject({
      sub: 'auth0|123456',
      clientId: 'my_client_id',
      scopes: ['openid', 'profile', 'read:patients', 'read:admin', 'write:patients'],
      roles: [],
    });
    const { azp: _azp, gty: _gty, ...rfc9068 } = auth0Profile;
    expect(principal(entry, { ...rfc9068, client_id: 'my_client_id', jti: '73WakrfVbNJBaAmhQtEeDv' })).toMatchObject({ clientId: 'my_client_id' });
    // namespaced custom roles claim (a key with dots and slashes) through an override
    const withRoles = principal({ ...entry, claims: { roles: [['https://example.com/roles']] } }, { ...auth0Profile, 'https://example.com/roles': ['doctor'] });
    expect(withRoles.roles).toEqual(['doctor']);
  });

  test('entra: scp string, app roles, azp (v2.0) or appid (v1.0)', () => {
    // Shape: https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
    const v2 = {
      aud: '6e74172b-be56-4843-9ff4-e66a39bb12e3',
      iss: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0',
      nbf: now,
      aio: 'AXQAi/8I',
      azp: '0a9e4b6c-1f2a-4d5e-8c7b-3e2f1a0b9c8d',
      azpacr: '1',
      name: 'Abe Lincoln',
      oid: '690222be-ff1a-4d56-abd1-7e4f7d38e474',
      preferred_username: 'abeli@microsoft.com',
      rh: 'I',
      scp: 'access_as_user Tasks.Read',
      roles: ['Tasks.Admin'],
      sub: 'HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ',
      tid: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      uti: 'fqiBqXLPj0eQa82S-IYFAA',
      ver: '2.0',
    };
    const entry = { issuer: v2.iss, audience: [v2.aud, 'api://tasks'], preset: 'entra' };
    expect(principal(entry, v2)).toMatchObject({
      sub: v2.sub,
      clientId: v2.azp,
      scopes: ['access_as_user', 'Tasks.Read'],
      roles: ['Tasks.Admin'],
      email: undefined,
    });
    // v1.0: appid instead of azp, aud the Application ID URI
    const { azp: _azp, azpacr: _acr, ...rest } = v2;
    expect(principal(entry, { ...rest, ver: '1.0', aud: 'api://tasks', appid: '0a9e4b6c-1f2a-4d5e-8c7b-3e2f1a0b9c8d' })).toMatchObject({
      clientId: '0a9e4b6c-1f2a-4d5e-8c7b-3e2f1a0b9c8d',
    });
    // the stable user id across apps is oid: a subject override
    expect(principal({ ...entry, claims: { subject: 'oid' } }, v2).sub).toBe(v2.oid);
  });

  test('okta: scp array, cid, groups', () => {
    // Shape: https://developer.okta.com/docs/api/openapi/okta-oauth/guides/overview/ (access token payload: ver, jti, iss, aud, sub, cid, uid, scp)
    const p = principal(
      { issuer: 'https://dev-1.okta.com/oauth2/default', audience: 'api://default', preset: 'okta' },
      {
        ver: 1,
        jti: 'AT.MNAoEQ_jbKqoinrQo1D0XKjMX28U5d7ZszBceot7-Ts',
        iss: 'https://dev-1.okta.com/oauth2/default',
        aud: 'api://default',
        sub: 'ada@example.com',
        cid: '0oa1b2c3d4',
        uid: '00u1a2b3c4',
        scp: ['openid', 'tasks.read'],
        auth_time: now,
        groups: ['Everyone', 'Operators'],
      },
    );
    expect(p).toMatchObject({ sub: 'ada@example.com', clientId: '0oa1b2c3d4', scopes: ['openid', 'tasks.read'], roles: ['Everyone', 'Operators'] });
  });

  test('cognito: scope, cognito:groups, client_id (the audience claim of this preset)', () => {
    // Shape: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
    const p = principal(
      { issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example', audience: '1example23456789', preset: 'cognito' },
      {
        sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
        device_key: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
        'cognito:groups': ['admin'],
        iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example',
        version: 2,
        client_id: '1example23456789',
        origin_jti: 'aaaaaaaa',
        event_id: 'aaaaaaaa',
        token_use: 'access',
        scope: 'phone openid profile resourceserver.1/appclient2 email',
        auth_time: now,
        jti: 'aaaaaaaa',
        username: 'my-test-user',
      },
    );
    expect(p).toMatchObject({ sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', clientId: '1example23456789', roles: ['admin'] });
    expect(p.scopes).toContain('resourceserver.1/appclient2');
  });

  test('google: a Google-signed ID token used service-to-service: azp, email', () => {
    // Shape: https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload ;
    // aud is the caller's --audiences: https://cloud.google.com/run/docs/authenticating/service-to-service
    const p = principal(
      { issuer: 'https://accounts.google.com', audience: 'https://tasks-api-abc123-uc.a.run.app', preset: 'google' },
      {
        iss: 'https://accounts.google.com',
        azp: '1234987819200.apps.googleusercontent.com',
        aud: 'https://tasks-api-abc123-uc.a.run.app',
        sub: '10769150350006150715113082367',
        email: 'runner@project.iam.gserviceaccount.com',
        email_verified: true,
      },
    );
    expect(p).toMatchObject({
      sub: '10769150350006150715113082367',
      clientId: '1234987819200.apps.googleusercontent.com',
      email: 'runner@project.iam.gserviceaccount.com',
      emailVerifiedClaim: true,
      scopes: [],
      roles: [],
    });
  });

  test('no preset: scope/scp, roles, azp/client_id as before presets', () => {
    const p = principal(
      { issuer: 'https://idp.example.com', audience: 'api' },
      { iss: 'https://idp.example.com', aud: 'api', sub: 'u1', scope: 'a b', scp: ['c'], roles: ['r1'], client_id: 'c1' },
    );
    expect(p).toMatchObject({ sub: 'u1', clientId: 'c1', scopes: ['a', 'b', 'c'], roles: ['r1'] });
  });

  test('a subject mapped to a missing or oversize claim is refused (claim_invalid)', () => {
    const entry = { issuer: 'https://idp.example.com', audience: 'api', claims: { subject: 'uid' } };
    expect(() => principal(entry, { sub: 'u1' })).toThrow(AuthError);
    expect(() => principal(entry, { sub: 'u1', uid: 'x'.repeat(300) })).toThrow(/subject \(uid\)/);
  });

  test('roles: a string is one role; controls, empty and non-string items are dropped', () => {
    const p = principal(
      { issuer: 'https://idp.example.com', audience: 'api', claims: { roles: ['role', 'groups'] } },
      { sub: 'u', role: 'admin team', groups: ['ok', '', 'bad\nrole', 7, null] },
    );
    expect(p.roles).toEqual(['admin team', 'ok']);
  });

  test('the principal carries the payload, deeply frozen by the verifier and read through claims', () => {
    const p = principal({ issuer: 'https://idp.example.com', audience: 'api' }, { sub: 'u', app_metadata: { plan: 'pro' } });
    expect(claimAt(p.claims, ['app_metadata', 'plan'])).toBe('pro');
  });
});

describe('the preset table', () => {
  test.each(PRESET_NAMES.map((n) => [n] as const))('%s: paths parse, a hint that names its docs section, sources cited', (name: PresetName) => {
    const preset = PRESETS[name];
    for (const p of [preset.claims.subject, preset.claims.email, ...preset.claims.scopes, ...preset.claims.roles, ...preset.claims.clientId]) {
      expect(typeof parseClaimPath(p)).not.toBe('string');
    }
    const anchor = /see docs\/IDENTITY-PROVIDERS\.md#([a-z0-9-]+)$/.exec(preset.audienceHint)?.[1];
    expect(anchor).toBeDefined();
    // the anchor is a heading of the guide (GitHub's slug: lower case, spaces to dashes)
    const headings = readFileSync(join(REPO_ROOT, 'docs/IDENTITY-PROVIDERS.md'), 'utf8')
      .match(/^## .+$/gm)!
      .map((h) =>
        h
          .slice(3)
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      );
    expect(headings).toContain(anchor);
    expect(preset.sources.length).toBeGreaterThan(0);
    for (const s of preset.sources) expect(s).toMatch(/^https:\/\//);
  });

  test('the generic mapping parses', () => {
    for (const p of [GENERIC_CLAIMS.subject, ...GENERIC_CLAIMS.scopes, ...GENERIC_CLAIMS.roles]) expect(typeof parseClaimPath(p)).not.toBe('string');
  });
});

describe('claim paths', () => {
  test.each([
    ['realm_access.roles', ['realm_access', 'roles']],
    [['https://example.com/roles'], ['https://example.com/roles']],
    ['cognito:groups', ['cognito:groups']],
  ])('%j parses', (spec, keys) => expect(parseClaimPath(spec)).toEqual(keys));

  test.each([[''], ['a..b'], [42], [[]], ['__proto__.x'], ['a.constructor'], [['a', 1]], ['a.b.c.d.e.f.g.h.i']])('%j is refused', (spec) => {
    expect(typeof parseClaimPath(spec)).toBe('string');
  });

  test('claimAt reads own properties of objects only', () => {
    const payload = JSON.parse('{"a": {"b": [1, 2], "__proto__": {"x": 1}}, "s": "str"}');
    expect(claimAt(payload, ['a', 'b'])).toEqual([1, 2]);
    expect(claimAt(payload, ['a', 'b', '0'])).toBeUndefined(); // never into arrays
    expect(claimAt(payload, ['s', 'length'])).toBeUndefined();
    expect(claimAt(payload, ['toString'])).toBeUndefined();
  });
});
