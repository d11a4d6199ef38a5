// The JWKS store: keys are named by their material (RFC 7638 thumbprint), and a jwks_uri found by
// OIDC discovery meets the same https rule in production as a configured AUTH_JWKS_URL.
import { calculateJwkThumbprint, type JWK } from 'jose';
import pino from 'pino';
import { parseConfig } from '../../validator/config';
import { createMetrics } from '../../validator/observability/metrics';
import { JwksStore, keyRefOf } from '../../validator/token/jwks';
import { TokenVerifier } from '../../validator/token/verify';
import { makeKey, type TestKey } from '../../devkit/issuer';

const ISSUER = 'https://idp.example.com/realms/wavestack';
const log = pino({ level: 'silent' });
let k1: TestKey;
let k1b: TestKey;

beforeAll(async () => {
  [k1, k1b] = await Promise.all([makeKey('ES256', 'k1'), makeKey('ES256', 'k1')]);
});

/** A fake IdP: discovery at ISSUER, whatever `jwksUri` says, and the JWKS at any other URL. Records every URL asked. */
function fakeIdp(jwksUri: string) {
  const asked: string[] = [];
  let keys: JWK[] = [k1.publicJwk];
  const fetch = (async (input: string | URL | Request) => {
    const url = String(input);
    asked.push(url);
    const body = url === `${ISSUER}/.well-known/openid-configuration` ? { issuer: ISSUER, jwks_uri: jwksUri } : { keys };
    return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { fetch, asked, setKeys: (k: JWK[]) => (keys = k) };
}

function store(production: boolean, idp: ReturnType<typeof fakeIdp>, jwksUrl?: string): JwksStore {
  return new JwksStore({
    issuer: ISSUER,
    jwksUrl,
    production,
    algorithms: ['ES256'],
    cacheTtlS: 600,
    cooldownS: 0,
    timeoutMs: 1000,
    metrics: createMetrics({ defaults: false }),
    log,
    fetch: idp.fetch,
  });
}

describe('a discovered jwks_uri obeys the https rule', () => {
  test.each([
    ['http:// to another host', 'http://keys.example.com/certs'],
    ['http:// to the issuer host', 'http://idp.example.com/realms/wavestack/certs'],
    ['not http(s)', 'ftp://idp.example.com/certs'],
    ['not an absolute URL', '/realms/wavestack/certs'],
  ])('production: %s is refused and never fetched', async (_t, uri) => {
    const idp = fakeIdp(uri);
    const s = store(true, idp);
    try {
      await expect(s.refresh()).rejects.toThrow(/jwks_uri/);
      expect(idp.asked).toEqual([`${ISSUER}/.well-known/openid-configuration`]);
      expect(s.status()).toMatchObject({ ready: false, keys: 0 });
      expect(s.status().lastError).toMatch(/jwks_uri/);
      await expect(s.getKey('k1', 'ES256')).rejects.toMatchObject({ status: 503, code: 'keys_unavailable' });
    } finally {
      s.close();
    }
  });

  test.each([
    ['production, https://', true, 'https://keys.example.com/certs'],
    ['production, http:// to the loopback', true, 'http://127.0.0.1:8080/certs'],
    ['development, http://', false, 'http://keys.example.com/certs'],
  ])('%s is used', async (_t, production, uri) => {
    const idp = fakeIdp(uri);
    const s = store(production, idp);
    try {
      await s.refresh();
      expect(idp.asked).toEqual([`${ISSUER}/.well-known/openid-configuration`, uri]);
      expect(s.status()).toMatchObject({ ready: true, keys: 1 });
    } finally {
      s.close();
    }
  });

  test('the verifier passes NODE_ENV=production to the store', async () => {
    const idp = fakeIdp('http://keys.example.com/certs');
    const config = parseConfig({ NODE_ENV: 'production', AUTH_MODE: 'jwks', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'api' });
    const v = new TokenVerifier({ config, metrics: createMetrics({ defaults: false }), log, fetch: idp.fetch });
    try {
      await v.refresh();
      expect(v.status()[0]).toMatchObject({ usable: false, keys: 0, lastError: expect.stringMatching(/refused in production/) });
      expect(idp.asked).not.toContain('http://keys.example.com/certs');
    } finally {
      v.close();
    }
  });

  test('a configured AUTH_JWKS_URL meets the same rule at start-up', () => {
    expect(() =>
      parseConfig({ NODE_ENV: 'production', AUTH_MODE: 'jwks', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'api', AUTH_JWKS_URL: 'http://keys.example.com/certs' }),
    ).toThrow(/AUTH_JWKS_URL.*refused in production/);
  });
});

describe('keys are named by their material', () => {
  test('keyRefOf is the RFC 7638 thumbprint, with the kid when there is one', async () => {
    const tp = await calculateJwkThumbprint(k1.publicJwk, 'sha256');
    expect(await keyRefOf(k1.publicJwk)).toBe(`${tp}:k1`);
    expect(await keyRefOf({ ...k1.publicJwk, kid: undefined })).toBe(tp);
    // same kid, other material: another key
    expect(await keyRefOf(k1b.publicJwk)).not.toBe(await keyRefOf(k1.publicJwk));
    // members outside the thumbprint (alg, use) do not change it
    expect(await keyRefOf({ ...k1.publicJwk, use: undefined, alg: undefined })).toBe(`${tp}:k1`);
  });

  test('new material under the same kid reports the old key as removed', async () => {
    const idp = fakeIdp('https://keys.example.com/certs');
    const s = store(true, idp);
    const removed: string[][] = [];
    s.onKeysRemoved = (refs) => removed.push(refs);
    try {
      await s.refresh();
      const { keyId } = await s.getKey('k1', 'ES256');
      expect(keyId).toBe(await keyRefOf(k1.publicJwk));
      expect(s.isCurrent(keyId)).toBe(true);
      idp.setKeys([k1b.publicJwk]);
      await s.refresh();
      expect(removed).toEqual([[keyId]]);
      expect(s.isCurrent(keyId)).toBe(false);
      expect((await s.getKey('k1', 'ES256')).keyId).toBe(await keyRefOf(k1b.publicJwk));
    } finally {
      s.close();
    }
  });

  test('a key whose thumbprint cannot be computed (public members missing) is not used', async () => {
    const idp = fakeIdp('https://keys.example.com/certs');
    idp.setKeys([{ kty: 'EC', crv: 'P-256', kid: 'broken', alg: 'ES256' }, k1.publicJwk]);
    const s = store(true, idp);
    try {
      await s.refresh();
      expect(s.status().keys).toBe(1);
      await expect(s.getKey('broken', 'ES256')).rejects.toMatchObject({ code: 'key_not_found' });
    } finally {
      s.close();
    }
  });
});
