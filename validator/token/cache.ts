// The verified-token cache: a token whose signature and claims verified once is not verified again
// until it could have changed. Keyed by SHA-256 of the token (never the token itself), bounded (LRU),
// lifetime ≤ min(TTL, the token's exp). Time checks still run on every hit (see verify.ts). Each
// entry remembers the key that verified it by its material (RFC 7638 thumbprint), not only its kid,
// so that new material published under an old kid takes the old decisions with it.
import { hash } from 'node:crypto';

interface Entry<V> {
  value: V;
  /** The verifying key's ref (thumbprint and kid, see token/jwks.ts keyRefOf); undefined for an HMAC secret. */
  keyRef?: string;
  expiresAtMs: number;
}

export class VerifiedTokenCache<V> {
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recently used.
  private readonly map = new Map<string, Entry<V>>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  get size(): number {
    return this.map.size;
  }

  static keyOf(token: string): string {
    // one-shot hash(): no Hash object per lookup (it showed in the profile of a cached decision)
    return hash('sha256', token, 'base64url');
  }

  get(key: string, nowMs: number): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expiresAtMs <= nowMs) {
      this.map.delete(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  /** Stores `value`, verified with the key `keyRef`, until min(now + TTL, expMs). */
  set(key: string, value: V, keyRef: string | undefined, expMs: number, nowMs: number): void {
    if (!this.enabled) return;
    const expiresAtMs = Math.min(nowMs + this.ttlMs, expMs);
    if (expiresAtMs <= nowMs) return;
    this.map.delete(key);
    this.map.set(key, { value, keyRef, expiresAtMs });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }

  /** Drops every entry verified with one of `keyRefs` (that key left the JWKS, or its kid now names other material). */
  dropKeys(keyRefs: readonly string[]): number {
    const gone = new Set(keyRefs);
    let n = 0;
    for (const [k, e] of this.map) {
      if (e.keyRef !== undefined && gone.has(e.keyRef)) {
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.map.clear();
  }
}
