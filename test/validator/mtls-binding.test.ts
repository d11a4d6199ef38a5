// Certificate-bound tokens (RFC 8705) at the validator, on the listener production serves: the
// front's X-Client-Cert-S256 is read only with AUTH_MTLS_TRUST_HEADER=true; a token whose cnf names
// a certificate passes only with that thumbprint, checked on every request (cached token or not);
// its grant says X-Token-Binding: mtls and is never offered to the edge cache; unbound tokens are
// unaffected.
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

let iss: TestIssuer;
let key: TestKey;
const apps: TestApp[] = [];

// Two base64url SHA-256 thumbprints (43 characters): the token's certificate, and another.
const ALICE = 'nNn25VXfWNWe6NoYEdCbVvv2fylEBj4vxW-ehQ2pjjk';
const MALLORY = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx';

beforeAll(async () => {
  key = await makeKey('ES256', 'k1');
  iss = await TestIssuer.start([key]);
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await iss?.stop();
});

async function app(env: Record<string, string> = {}): Promise<TestApp> {
  const a = await buildTestApp(
    { AUTH_MODE: 'jwks', AUTH_ISSUER: iss.issuer, AUTH_AUDIENCE: 'wavestack', AUTH_DECISION_CACHE_TTL_S: '60', ...env },
    { noStore: true },
  );
  apps.push(a);
  return a;
}
const token = (claims: Record<string, unknown> = {}) =>
  mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub: 'svc', scope: 'api:read', ...claims } });
const bound = (thumbprint = ALICE) => token({ cnf: { 'x5t#S256': thumbprint } });

function validate(a: TestApp, tok: string, cert?: string | string[]) {
  const r = request(a.listener)
    .get('/api/auth/validate')
    .set('Authorization', `Bearer ${tok}`)
    .set('X-Original-Method', 'GET')
    .set('X-Original-URI', '/api/things');
  // an array goes out as that many header lines
  return cert === undefined ? r : r.set('X-Client-Cert-S256', cert as string);
}

/** tollgate_decisions_total for `reason` (0 when absent). */
async function decisions(a: TestApp, reason: string): Promise<number> {
  const m = (await a.metrics.registry.getSingleMetricAsString('tollgate_decisions_total')).split('\n').find((l) => l.includes(`reason="${reason}"`));
  return m ? Number(m.split(' ').pop()) : 0;
}

describe("AUTH_MTLS_TRUST_HEADER=true (behind tollgate's NGINX template)", () => {
  let a: TestApp;
  beforeAll(async () => {
    a = await app({ AUTH_MTLS_TRUST_HEADER: 'true' });
  });

  test('a bound token with its certificate → 200, X-Token-Binding: mtls, never cacheable at the edge', async () => {
    const r = await validate(a, await bound(), ALICE);
    expect(r.status).toBe(200);
    expect(r.headers['x-token-binding']).toBe('mtls');
    expect(r.headers['x-user-id']).toBe('svc');
    expect(r.headers['x-accel-expires']).toBeUndefined();
    expect(r.headers['cache-control']).toBe('no-store');
  });

  test('another certificate → 401 mtls_binding_mismatch; none → 401 client_certificate_missing; both invalid_token challenges', async () => {
    const tok = await bound();
    const other = await validate(a, tok, MALLORY);
    expect([other.status, other.headers['x-auth-reason'], other.body.error]).toEqual([401, 'mtls_binding_mismatch', 'invalid_token']);
    expect(other.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);
    const none = await validate(a, tok);
    expect([none.status, none.headers['x-auth-reason'], none.body.error]).toEqual([401, 'client_certificate_missing', 'invalid_token']);
    expect(other.headers['x-token-binding']).toBeUndefined();
    expect(await decisions(a, 'mtls_binding_mismatch')).toBeGreaterThanOrEqual(1);
  });

  test('the binding is checked on every request, also when the token comes from the verified-token cache', async () => {
    const tok = await bound();
    const hits = async () =>
      Number((await a.metrics.registry.getSingleMetricAsString('tollgate_decision_cache_total')).match(/outcome="hit"} (\d+)/)?.[1] ?? 0);
    const before = await hits();
    const seq = [];
    for (const cert of [ALICE, MALLORY, undefined, ALICE, MALLORY]) seq.push((await validate(a, tok, cert)).status);
    expect(seq).toEqual([200, 401, 401, 200, 401]);
    expect(await hits()).toBeGreaterThanOrEqual(before + 4);
  });

  test('the same digest as hex (Caddy) is that thumbprint; any other shape is no certificate (padded, two values joined, short hex); the header twice is refused', async () => {
    const tok = await bound();
    const hex = Buffer.from(ALICE, 'base64url').toString('hex');
    expect((await validate(a, tok, hex)).status).toBe(200);
    const other = await validate(a, tok, '9cd9f6e555df58d59ee8da1811d09b56fbf67f2944063e31c56f9e850da98e39');
    expect([other.status, other.headers['x-auth-reason']]).toEqual([401, 'mtls_binding_mismatch']);
    for (const v of [ALICE + '=', `${ALICE}, ${ALICE}`, hex.slice(2), `${hex}, ${hex}`]) {
      const r = await validate(a, tok, v);
      expect({ v, status: r.status, reason: r.headers['x-auth-reason'] }).toEqual({ v, status: 401, reason: 'client_certificate_missing' });
    }
    const twice = await validate(a, tok, [ALICE, ALICE]);
    expect([twice.status, twice.headers['x-auth-reason']]).toEqual([400, 'request_invalid']);
  });

  test('an unbound token is unaffected, with or without a certificate, and stays cacheable at the edge', async () => {
    const tok = await token();
    for (const cert of [undefined, ALICE]) {
      const r = await validate(a, tok, cert);
      expect({ cert, status: r.status, binding: r.headers['x-token-binding'] }).toEqual({ cert, status: 200, binding: undefined });
      expect(Number(r.headers['x-accel-expires'])).toBeGreaterThan(0);
    }
  });

  test('a cnf tollgate cannot enforce is refused, never read as a bearer token', async () => {
    for (const cnf of [{ jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } }, { 'x5t#S256': 'short' }, 'x5t']) {
      const r = await validate(a, await token({ cnf }), ALICE);
      expect({ cnf, status: r.status, reason: r.headers['x-auth-reason'] }).toEqual({ cnf, status: 401, reason: 'claim_invalid' });
    }
    // a DPoP-bound token (cnf.jkt) presented as a bearer token does not pass either
    const dpop = await validate(a, await token({ cnf: { jkt: ALICE } }), ALICE);
    expect(dpop.status).toBe(401);
  });
});

describe('AUTH_MTLS_TRUST_HEADER unset (the default: any front)', () => {
  test('the header is ignored: a bound token is 401 client_certificate_missing even with the right thumbprint; unbound tokens pass', async () => {
    const a = await app();
    expect(a.config.auth.trustClientCertHeader).toBe(false);
    const r = await validate(a, await bound(), ALICE);
    expect([r.status, r.headers['x-auth-reason']]).toEqual([401, 'client_certificate_missing']);
    expect((await validate(a, await token(), ALICE)).status).toBe(200);
  });
});
