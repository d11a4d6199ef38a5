// Several issuers from AUTH_ISSUERS in one validator, through the listener production runs: every
// signature algorithm (tokens signed by jose), algorithm/key/issuer binding, accepted `typ` values
// (RFC 9068 at+jwt, ID tokens), and audience refusals that say what the token had and the IdP's trap.
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type MintOptions, type TestKey } from '../../devkit/issuer';

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
type Alg = (typeof ALGORITHMS)[number];

let keys: Record<Alg, TestKey>;
let every: TestIssuer; // publishes one key per algorithm; its entry allows them all
let es512: TestIssuer; // glewlwyd-like: ES512 only, RFC 9068 at+jwt only
let eddsa: TestIssuer; // EdDSA only, Keycloak preset
let cognito: TestIssuer; // Cognito preset: client_id instead of aud
let esKey: TestKey, edKey: TestKey, cgKey: TestKey;
let t: TestApp;

beforeAll(async () => {
  const made = await Promise.all(ALGORITHMS.map((a) => makeKey(a, `every-${a}`)));
  keys = Object.fromEntries(ALGORITHMS.map((a, i) => [a, made[i]!])) as Record<Alg, TestKey>;
  [esKey, edKey, cgKey] = await Promise.all([makeKey('ES512', 'shared-kid'), makeKey('EdDSA', 'shared-kid'), makeKey('RS256', 'cg')]);
  every = await TestIssuer.start(made);
  es512 = await TestIssuer.start([esKey], '/glewlwyd/oidc');
  eddsa = await TestIssuer.start([edKey], '/realms/people');
  cognito = await TestIssuer.start([cgKey], '/us-east-1_Example');
  t = await buildTestApp(
    {
      AUTH_ISSUERS: JSON.stringify([
        { issuer: every.issuer, audience: 'api', jwksUrl: every.jwksUrl, algorithms: [...ALGORITHMS] },
        { issuer: es512.issuer, audience: ['https://api.example.com/', 'api'], algorithms: ['ES512'], tokenTypes: ['at+jwt'] }, // keys by discovery
        { issuer: eddsa.issuer, audience: 'api', jwksUrl: eddsa.jwksUrl, algorithms: ['EdDSA'], preset: 'keycloak' },
        { issuer: cognito.issuer, audience: 'app-client-1', jwksUrl: cognito.jwksUrl, preset: 'cognito' },
      ]),
      AUTH_DECISION_CACHE_TTL_S: '0',
    },
    { noStore: true },
  );
});

afterAll(async () => {
  await t?.close();
  await Promise.all([every, es512, eddsa, cognito].map((i) => i?.stop()));
});

const validate = async (token: string) => {
  const res = await request(t.listener)
    .get('/api/auth/validate')
    .set('X-Original-Method', 'GET')
    .set('X-Original-URI', '/api/things')
    .set('Authorization', `Bearer ${token}`);
  return {
    status: res.status,
    reason: (res.headers['x-auth-reason'] as string | undefined) ?? 'ok',
    user: res.headers['x-user-id'] as string | undefined,
    body: res.body as { message?: string },
  };
};
const at = (iss: TestIssuer, key: TestKey, o: MintOptions = {}, aud: string | string[] = 'api') => mint({ iss: iss.issuer, aud }, { key, ...o });

describe("every algorithm, signed by jose, verified with the issuer's published key", () => {
  test.each(ALGORITHMS)('%s', async (alg) => {
    expect(await validate(await at(every, keys[alg], { claims: { sub: `user-${alg}` } }))).toMatchObject({ status: 200, user: `user-${alg}` });
  });

  test('ES512 (P-521) from an issuer that allows only ES512, keys found by discovery', async () => {
    expect(await validate(await at(es512, esKey, { header: { typ: 'at+jwt' } }))).toMatchObject({ status: 200, reason: 'ok' });
  });

  test('EdDSA (Ed25519) from an issuer that allows only EdDSA', async () => {
    expect(await validate(await at(eddsa, edKey))).toMatchObject({ status: 200 });
  });

  test('an algorithm the issuer does not list is refused even though another issuer allows it', async () => {
    const rs = await makeKey('RS256', 'shared-kid');
    expect(await validate(await at(eddsa, rs))).toMatchObject({ status: 401, reason: 'algorithm_not_allowed' });
    expect(await validate(await at(es512, keys.ES256, { header: { typ: 'at+jwt' } }))).toMatchObject({ status: 401, reason: 'algorithm_not_allowed' });
  });
});

describe('keys are bound to their issuer', () => {
  test("issuer A's key presented with iss B is refused, though B publishes a key with the same kid", async () => {
    // esKey (ES512, kid shared-kid) belongs to es512; eddsa publishes an EdDSA key under the same kid.
    const crossed = await mint({ iss: eddsa.issuer, aud: 'api' }, { key: esKey });
    expect(await validate(crossed)).toMatchObject({ status: 401, reason: 'algorithm_not_allowed' });
    // the same key and algorithm where B allows it: B's key of that kid does not verify A's signature
    const ecEvery = await makeKey('ES512', 'every-ES512');
    expect(await validate(await at(every, ecEvery))).toMatchObject({ status: 401, reason: 'signature_invalid' });
  });

  test("a valid token of A with iss rewritten to B fails B's signature check", async () => {
    const token = await at(every, keys.EdDSA);
    const [h, p, s] = token.split('.');
    const payload = { ...JSON.parse(Buffer.from(p!, 'base64url').toString()), iss: eddsa.issuer };
    const forged = [
      Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h!, 'base64url').toString()), kid: 'shared-kid' })).toString('base64url'),
      Buffer.from(JSON.stringify(payload)).toString('base64url'),
      s,
    ].join('.');
    expect(await validate(forged)).toMatchObject({ status: 401, reason: 'signature_invalid' });
  });
});

describe('tokenTypes: the header typ each issuer accepts', () => {
  test('["at+jwt"] (RFC 9068 §4) refuses typ JWT and a token without typ; accepts application/at+jwt', async () => {
    expect(await validate(await at(es512, esKey))).toMatchObject({ status: 401, reason: 'token_type_invalid' }); // mint's default typ JWT
    expect(await validate(await at(es512, esKey, { header: { typ: undefined } }))).toMatchObject({ status: 401, reason: 'token_type_invalid' });
    expect(await validate(await at(es512, esKey, { header: { typ: 'application/AT+JWT' } }))).toMatchObject({ status: 200 });
  });

  test('an ID token of an at+jwt issuer is refused even when its aud is an accepted audience', async () => {
    // OpenID Connect Core §2: an ID token's aud is the client id; here the client id is also an API audience.
    const idToken = await at(es512, esKey, {
      claims: { nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', azp: 'api', auth_time: Math.floor(Date.now() / 1000) },
    });
    const r = await validate(idToken);
    expect(r).toMatchObject({ status: 401, reason: 'token_type_invalid' });
    expect(r.body.message).toMatch(/typ "JWT", expected at\+jwt/);
  });

  test('the default accepts JWT, at+jwt and no typ, and refuses other types', async () => {
    for (const typ of ['JWT', 'at+jwt', undefined]) expect(await validate(await at(every, keys.RS256, { header: { typ } }))).toMatchObject({ status: 200 });
    for (const typ of ['id_token+jwt', 'logout+jwt', 'dpop+jwt'])
      expect(await validate(await at(every, keys.RS256, { header: { typ } }))).toMatchObject({ status: 401, reason: 'token_type_invalid' });
  });
});

describe('audience refusals say what the token had, what was expected, and the IdP trap', () => {
  test('Keycloak preset: aud "account" names the Audience mapper', async () => {
    const r = await validate(await at(eddsa, edKey, {}, 'account'));
    expect(r).toMatchObject({ status: 401, reason: 'audience_mismatch' });
    expect(r.body.message).toContain('aud is "account", expected "api"');
    expect(r.body.message).toContain('Keycloak puts `account`');
    expect(r.body.message).toContain('docs/IDENTITY-PROVIDERS.md#keycloak');
  });

  test('no preset: no aud at all, and what was expected', async () => {
    const r = await validate(await at(every, keys.RS256, { claims: { aud: undefined } }));
    expect(r).toMatchObject({ status: 401, reason: 'audience_mismatch' });
    expect(r.body.message).toBe('token audience is not accepted here: the token has no aud, expected "api"');
  });

  test('glewlwyd-style space-joined scope list in aud', async () => {
    const r = await validate(await at(es512, esKey, { header: { typ: 'at+jwt' } }, 'openid g_profile api:read'));
    expect(r.body.message).toContain('aud is "openid g_profile api:read", expected "https://api.example.com/", "api"');
  });

  test('the log line carries the same detail, never the token', async () => {
    const token = await at(eddsa, edKey, {}, ['account', 'broker']);
    await validate(token);
    const line = t.logs.reverse().find((l) => l.includes('audience_mismatch'))!;
    expect(JSON.parse(line).detail).toContain('aud is "account", "broker"');
    expect(line).not.toContain(token.split('.')[2]);
  });

  test('Cognito preset: client_id is the audience; an access token without aud passes, an ID token does not', async () => {
    // Shapes: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
    const now = Math.floor(Date.now() / 1000);
    const access = {
      sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      'cognito:groups': ['admin'],
      token_use: 'access',
      scope: 'aws.cognito.signin.user.admin',
      auth_time: now,
      client_id: 'app-client-1',
      username: 'my-test-user',
      aud: undefined,
    };
    const signed = (claims: Record<string, unknown>) => mint({ iss: cognito.issuer, aud: 'unused' }, { key: cgKey, header: { typ: undefined }, claims });
    expect(await validate(await signed(access))).toMatchObject({ status: 200, user: access.sub });
    const other = await validate(await signed({ ...access, client_id: 'another-client' }));
    expect(other).toMatchObject({ status: 401, reason: 'audience_mismatch' });
    expect(other.body.message).toContain('client_id is "another-client", expected "app-client-1". Cognito access tokens carry no aud');
    // a Cognito ID token: aud = the app client, token_use id, no client_id
    const id = {
      sub: access.sub,
      aud: 'app-client-1',
      token_use: 'id',
      email: 'a@example.com',
      email_verified: true,
      'cognito:username': 'my-test-user',
      auth_time: now,
    };
    expect(await validate(await signed(id))).toMatchObject({ status: 401, reason: 'token_type_invalid' });
  });
});

test('an unsigned token (alg none) is refused by every issuer kind here', async () => {
  for (const iss of [every, es512, eddsa, cognito]) {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: iss.issuer, aud: 'api', sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    expect(await validate(`${header}.${body}.x`)).toMatchObject({ status: 401, reason: 'algorithm_not_allowed' });
  }
});
