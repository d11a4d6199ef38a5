// A key that leaves the JWKS takes its cached verifications with it, whether or not the token
// named it with a kid (a kid-less token is verified with the issuer's only key).
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

let idp: TestIssuer;
let app: TestApp;
let old: TestKey, next: TestKey;

beforeAll(async () => {
  [old, next] = await Promise.all([makeKey('RS256', 'old'), makeKey('RS256', 'next')]);
});
beforeEach(async () => {
  idp = await TestIssuer.start([old]);
  app = await buildTestApp(
    { AUTH_MODE: 'jwks', AUTH_ISSUER: idp.issuer, AUTH_AUDIENCE: 'api', AUTH_JWKS_URL: idp.jwksUrl, AUTH_DECISION_CACHE_TTL_S: '600', LOG_LEVEL: 'silent' },
    { noStore: true },
  );
  await app.verifier.refresh();
});
afterEach(async () => {
  await app.close();
  await idp.stop();
});

const reason = async (token: string): Promise<string> => {
  try {
    await app.verifier.verify(token);
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

test.each([
  ['with a kid', {}],
  ['without a kid', { kid: undefined }],
])('a token %s verified with a key that left the JWKS is refused at once, not served from the cache', async (_name, header) => {
  const token = await mint({ iss: idp.issuer, aud: 'api' }, { key: old, header });
  expect(await reason(token)).toBe('ok');
  expect(app.verifier.cacheSize).toBe(1);
  idp.keys = [next]; // rotated out (compromise, or planned rotation)
  await app.verifier.refresh();
  expect(app.verifier.cacheSize).toBe(0);
  expect(await reason(token)).not.toBe('ok');
});

test('a kid-less JWKS key leaving the set drops its verifications too', async () => {
  idp.keys = [{ ...old, publicJwk: { ...old.publicJwk, kid: undefined } }];
  await app.verifier.refresh();
  const token = await mint({ iss: idp.issuer, aud: 'api' }, { key: old, header: { kid: undefined } });
  expect(await reason(token)).toBe('ok');
  idp.keys = [{ ...next, publicJwk: { ...next.publicJwk, kid: undefined } }];
  await app.verifier.refresh();
  expect(await reason(token)).not.toBe('ok');
});
