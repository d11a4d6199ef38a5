// Verified-token cache: bounded LRU, lifetime ≤ min(TTL, exp), dropped by key, off when TTL is 0;
// an entry is tied to the material of the key that verified it (RFC 7638 thumbprint), not its kid.
import pino from 'pino';
import { parseConfig } from '../../validator/config';
import { createMetrics } from '../../validator/observability/metrics';
import { VerifiedTokenCache } from '../../validator/token/cache';
import { JwksStore } from '../../validator/token/jwks';
import { TokenVerifier } from '../../validator/token/verify';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

describe('VerifiedTokenCache', () => {
  test('keyOf is SHA-256 base64url of the token, never the token itself', () => {
    const key = VerifiedTokenCache.keyOf('a.b.c');
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain('a.b.c');
    expect(VerifiedTokenCache.keyOf('a.b.c')).toBe(key);
    expect(VerifiedTokenCache.keyOf('a.b.d')).not.toBe(key);
  });

  test('LRU bound: the least recently used entry goes first', () => {
    const c = new VerifiedTokenCache<string>(3, 60_000);
    for (const k of ['a', 'b', 'c']) c.set(k, k.toUpperCase(), undefined, T0 + HOUR, T0);
    expect(c.get('a', T0)).toBe('A'); // a is now the most recent: b is the oldest
    c.set('d', 'D', undefined, T0 + HOUR, T0);
    expect(c.size).toBe(3);
    expect(c.get('b', T0)).toBeUndefined();
    expect(c.get('a', T0)).toBe('A');
    expect(c.get('c', T0)).toBe('C');
    expect(c.get('d', T0)).toBe('D');
  });

  test('never grows past max', () => {
    const c = new VerifiedTokenCache<number>(100, 60_000);
    for (let i = 0; i < 1000; i++) c.set(`k${i}`, i, undefined, T0 + HOUR, T0);
    expect(c.size).toBe(100);
    expect(c.get('k899', T0)).toBeUndefined();
    expect(c.get('k900', T0)).toBe(900);
    expect(c.get('k999', T0)).toBe(999);
  });

  test('setting an existing key refreshes it without growing', () => {
    const c = new VerifiedTokenCache<string>(2, 60_000);
    c.set('a', '1', undefined, T0 + HOUR, T0);
    c.set('b', '2', undefined, T0 + HOUR, T0);
    c.set('a', '3', undefined, T0 + HOUR, T0);
    expect(c.size).toBe(2);
    c.set('c', '4', undefined, T0 + HOUR, T0);
    expect(c.get('a', T0)).toBe('3');
    expect(c.get('b', T0)).toBeUndefined();
  });

  test('lifetime is the TTL when exp is later', () => {
    const c = new VerifiedTokenCache<string>(10, 60_000);
    c.set('k', 'v', undefined, T0 + HOUR, T0);
    expect(c.get('k', T0 + 59_999)).toBe('v');
    expect(c.get('k', T0 + 60_000)).toBeUndefined();
    expect(c.size).toBe(0); // the expired entry is dropped on read
  });

  test('lifetime stops at exp when exp comes before the TTL', () => {
    const c = new VerifiedTokenCache<string>(10, 60_000);
    c.set('k', 'v', undefined, T0 + 10_000, T0);
    expect(c.get('k', T0 + 9_999)).toBe('v');
    expect(c.get('k', T0 + 10_000)).toBeUndefined();
  });

  test('an already expired token is not stored', () => {
    const c = new VerifiedTokenCache<string>(10, 60_000);
    c.set('past', 'v', undefined, T0 - 1, T0);
    c.set('now', 'v', undefined, T0, T0);
    expect(c.size).toBe(0);
  });

  test('a hit does not extend the lifetime', () => {
    const c = new VerifiedTokenCache<string>(10, 60_000);
    c.set('k', 'v', undefined, T0 + HOUR, T0);
    expect(c.get('k', T0 + 50_000)).toBe('v');
    expect(c.get('k', T0 + 60_000)).toBeUndefined();
  });

  test('dropKeys removes the entries verified with those keys only', () => {
    const c = new VerifiedTokenCache<string>(10, 60_000);
    c.set('t1', 'v', 'kid-1', T0 + HOUR, T0);
    c.set('t2', 'v', 'kid-1', T0 + HOUR, T0);
    c.set('t3', 'v', 'kid-2', T0 + HOUR, T0);
    c.set('t4', 'v', undefined, T0 + HOUR, T0); // HS256: no kid
    expect(c.dropKeys(['kid-1', 'kid-9'])).toBe(2);
    expect(c.get('t1', T0)).toBeUndefined();
    expect(c.get('t2', T0)).toBeUndefined();
    expect(c.get('t3', T0)).toBe('v');
    expect(c.get('t4', T0)).toBe('v');
    expect(c.dropKeys([])).toBe(0);
    expect(c.size).toBe(2);
  });

  test('disabled when the TTL is 0: nothing is stored', () => {
    const c = new VerifiedTokenCache<string>(10, 0);
    expect(c.enabled).toBe(false);
    c.set('k', 'v', 'kid', T0 + HOUR, T0);
    expect(c.size).toBe(0);
    expect(c.get('k', T0)).toBeUndefined();
    expect(new VerifiedTokenCache<string>(10, 1).enabled).toBe(true);
  });

  test('clear empties the cache', () => {
    const c = new VerifiedTokenCache<string>(10, 60_000);
    c.set('k', 'v', undefined, T0 + HOUR, T0);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.get('k', T0)).toBeUndefined();
  });
});

describe('TokenVerifier: a cached decision belongs to the key material, not to the kid', () => {
  let idp: TestIssuer;
  let verifier: TokenVerifier;
  let old: TestKey;
  let next: TestKey;

  beforeEach(async () => {
    // two different keys published under the same kid: rotation in place
    [old, next] = await Promise.all([makeKey('ES256', 'k1'), makeKey('ES256', 'k1')]);
    idp = TestIssuer.local([old]); // the JWKS through the verifier's fetch: no socket
    const config = parseConfig({
      NODE_ENV: 'test',
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_DECISION_CACHE_TTL_S: '600',
      DATA_DIR: 'memory://',
    });
    verifier = new TokenVerifier({ config, metrics: createMetrics({ defaults: false }), log: pino({ level: 'silent' }), fetch: idp.fetch });
    await verifier.refresh();
  });
  afterEach(async () => {
    verifier.close();
    await idp.stop();
  });

  const outcome = (token: string): Promise<string> =>
    verifier.verify(token).then(
      () => 'ok',
      (e: { code: string }) => e.code,
    );

  test('new material under the same kid: the old decision stops being served at the next refresh', async () => {
    const token = await mint({ iss: idp.issuer, aud: 'api' }, { key: old });
    expect(await outcome(token)).toBe('ok');
    expect(verifier.cacheSize).toBe(1);
    idp.keys = [next];
    await verifier.refresh();
    expect(verifier.cacheSize).toBe(0);
    expect(await outcome(token)).toBe('signature_invalid');
    expect(await outcome(await mint({ iss: idp.issuer, aud: 'api' }, { key: next }))).toBe('ok');
  });

  test('the same material re-published (a refresh that changes nothing) keeps the decisions', async () => {
    const token = await mint({ iss: idp.issuer, aud: 'api' }, { key: old });
    expect(await outcome(token)).toBe('ok');
    idp.keys = [{ ...old, publicJwk: { ...old.publicJwk } }];
    await verifier.refresh();
    expect(verifier.cacheSize).toBe(1);
    expect(await outcome(token)).toBe('ok');
  });

  test('a verification that finishes after its key was replaced is not cached', async () => {
    const token = await mint({ iss: idp.issuer, aud: 'api' }, { key: old });
    // the JWKS is refreshed with new material while this verification holds the old key
    const real = JwksStore.prototype.getKey;
    const spy = jest.spyOn(JwksStore.prototype, 'getKey').mockImplementationOnce(async function (this: JwksStore, kid, alg) {
      const found = await real.call(this, kid, alg);
      idp.keys = [next];
      await this.refresh();
      return found;
    });
    try {
      expect(await outcome(token)).toBe('ok'); // it was valid when it was checked
      expect(verifier.cacheSize).toBe(0); // but the decision is not kept under a key that left
      expect(await outcome(token)).toBe('signature_invalid');
    } finally {
      spy.mockRestore();
    }
  });
});
