// Verified-token cache: bounded LRU, lifetime ≤ min(TTL, exp), dropped by kid, off when TTL is 0.
import { VerifiedTokenCache } from '../../validator/token/cache';

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

  test('dropKids removes the entries verified with those keys only', () => {
    const c = new VerifiedTokenCache<string>(10, 60_000);
    c.set('t1', 'v', 'kid-1', T0 + HOUR, T0);
    c.set('t2', 'v', 'kid-1', T0 + HOUR, T0);
    c.set('t3', 'v', 'kid-2', T0 + HOUR, T0);
    c.set('t4', 'v', undefined, T0 + HOUR, T0); // HS256: no kid
    expect(c.dropKids(['kid-1', 'kid-9'])).toBe(2);
    expect(c.get('t1', T0)).toBeUndefined();
    expect(c.get('t2', T0)).toBeUndefined();
    expect(c.get('t3', T0)).toBe('v');
    expect(c.get('t4', T0)).toBe('v');
    expect(c.dropKids([])).toBe(0);
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
