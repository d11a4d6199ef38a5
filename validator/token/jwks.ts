// A JWKS key store per issuer: cached keys, background refresh, kid-miss cooldown, stale-on-failure.
// jose's createRemoteJWKSet does most of this, but it cannot report staleness to /api/ready and
// metrics, keep serving stale keys when the IdP is down, or tell the verified-token cache which keys left.
import { calculateJwkThumbprint, importJWK, type JWK, type CryptoKey } from 'jose';
import type { Logger } from 'pino';
import { keyUrlProblem } from '../config/key-url';
import { CRV_FOR_ALG, KTY_FOR_ALG } from '../lib/algorithms';
import { invalidToken, unavailable } from '../errors';
import { describeError } from '../observability/describe-error';
import type { Metrics } from '../observability/metrics';
import { redactUrl } from '../observability/redact-url';

export interface JwksStoreOptions {
  issuer: string;
  /** JWKS URL; undefined → discovered from `${issuer}/.well-known/openid-configuration`. */
  jwksUrl?: string;
  /** NODE_ENV=production: a discovered jwks_uri must then be https:// (as a configured one must). */
  production: boolean;
  /** Algorithms a key may be used with (the issuer's allow-list). */
  algorithms: readonly string[];
  cacheTtlS: number;
  cooldownS: number;
  timeoutMs: number;
  metrics: Metrics;
  log: Logger;
  /** Injected for tests; defaults to global fetch. */
  fetch?: typeof fetch;
  /** Clock in ms, injected for tests. */
  now?: () => number;
  /**
   * The issuer also verifies without these keys (an HS256 secret beside them, as a Supabase project
   * on its legacy secret): its key gauge is not created at 0 before a fetch succeeds, so
   * TollgateJwksNoKeys does not page for a project that publishes no asymmetric key.
   */
  keysOptional?: boolean;
}

export interface JwksStatus {
  issuer: string;
  /** At least one usable key is cached. */
  ready: boolean;
  /** Keys are past their TTL because the last refresh failed. */
  stale: boolean;
  keys: number;
  lastSuccessAt?: string;
  lastError?: string;
}

/** A published key with the name the verified-token cache remembers it by. */
interface PublishedKey {
  readonly jwk: JWK;
  /**
   * The key's RFC 7638 thumbprint (its public material), then its kid: an IdP that publishes new
   * material under the same kid publishes a new key, and the decisions made with the old one must
   * go with it. A kid-less key is named by its material alone.
   */
  readonly ref: string;
}

/** PublishedKey.ref of `jwk`, computed once per key when a JWKS is loaded. */
export async function keyRefOf(jwk: JWK): Promise<string> {
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  return jwk.kid === undefined ? thumbprint : `${thumbprint}:${jwk.kid}`;
}

/** Whether `jwk` may verify signatures made with `alg` (also `tollgate check`'s key listing). */
export function usable(jwk: JWK, alg: string): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false; // Keycloak also publishes enc keys
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes('verify')) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.kty !== KTY_FOR_ALG[alg]) return false;
  if (CRV_FOR_ALG[alg] && jwk.crv !== CRV_FOR_ALG[alg]) return false;
  // a private part in a public JWKS is a misconfiguration; never use such a key
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) return false;
  return true;
}

export class JwksStore {
  private readonly o: Required<Omit<JwksStoreOptions, 'jwksUrl'>> & { jwksUrl?: string };
  private jwks: PublishedKey[] = [];
  private refs = new Set<string>();
  private readonly imported = new Map<string, Promise<CryptoKey>>();
  private loadedAt = 0;
  private lastAttemptAt = 0;
  private lastError?: string;
  private inflight?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private discoveredUrl?: string;
  private closed = false;
  /** Called with the key refs (keyRefOf) that disappeared after a refresh (decision-cache invalidation). */
  onKeysRemoved?: (refs: string[]) => void;

  constructor(opts: JwksStoreOptions) {
    this.o = { ...opts, keysOptional: opts.keysOptional ?? false, fetch: opts.fetch ?? ((...a) => fetch(...a)), now: opts.now ?? Date.now };
    initSeries(opts.metrics, opts.issuer, !opts.keysOptional);
  }

  /** First load in the background; failures are logged and retried, never thrown. */
  start(): void {
    void this.refresh().catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Whether the key named `ref` (keyRefOf) is published now: a decision made with it may be cached. */
  isCurrent(ref: string): boolean {
    return this.refs.has(ref);
  }

  status(): JwksStatus {
    const stale = this.loadedAt > 0 && this.o.now() - this.loadedAt > this.o.cacheTtlS * 1000;
    return {
      issuer: this.o.issuer,
      ready: this.jwks.length > 0,
      stale,
      keys: this.jwks.length,
      lastSuccessAt: this.loadedAt ? new Date(this.loadedAt).toISOString() : undefined,
      lastError: this.lastError,
    };
  }

  /**
   * The verification key for a token header. Refetches at most once per cooldown on an unknown kid
   * (a flood of forged kids cannot hammer the IdP); throws key_not_found or keys_unavailable.
   * `keyId` names the key that was chosen (keyRefOf), for onKeysRemoved.
   */
  async getKey(kid: string | undefined, alg: string): Promise<{ key: CryptoKey; keyId: string }> {
    let found = this.find(kid, alg);
    if (!found) {
      const neverLoaded = this.jwks.length === 0;
      const cooled = this.o.now() - this.lastAttemptAt >= this.o.cooldownS * 1000;
      if (neverLoaded || cooled || this.inflight) {
        try {
          await this.refresh();
        } catch {
          // fall through: keys we still have (if any) are tried below
        }
      }
      if (this.jwks.length === 0) {
        throw unavailable('keys_unavailable', `signing keys of ${this.o.issuer} are unavailable`);
      }
      found = this.find(kid, alg);
      if (!found) {
        const why = kid ? 'no published signing key matches the token kid and algorithm' : 'token has no kid and the issuer publishes several keys';
        throw invalidToken('key_not_found', why);
      }
    }
    const { jwk, ref: keyId } = found;
    const cacheKey = `${keyId}|${alg}`;
    let key = this.imported.get(cacheKey);
    if (!key) {
      key = importJWK({ ...jwk, alg }, alg) as Promise<CryptoKey>;
      this.imported.set(cacheKey, key);
      key.catch(() => this.imported.delete(cacheKey));
    }
    try {
      return { key: await key, keyId };
    } catch {
      throw invalidToken('key_not_found', 'the matching JWKS key cannot be imported');
    }
  }

  /** A token with a kid matches that kid; one without matches only when exactly one key fits. */
  private find(kid: string | undefined, alg: string): PublishedKey | undefined {
    if (kid !== undefined) return this.jwks.find((k) => k.jwk.kid === kid && usable(k.jwk, alg));
    const candidates = this.jwks.filter((k) => usable(k.jwk, alg));
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  /**
   * Fetches the JWKS now; concurrent callers share one fetch. Keeps good keys on any failure.
   * `force` (an operator's refresh): never answered by a fetch already under way, which may have
   * read the JWKS before the change the operator is acting on; a new fetch follows it.
   */
  refresh(opts: { force?: boolean } = {}): Promise<void> {
    if (opts.force && this.inflight) return this.inflight.catch(() => undefined).then(() => this.refresh());
    if (!this.inflight) {
      this.inflight = this.doRefresh().finally(() => {
        this.inflight = undefined;
        this.schedule();
      });
    }
    return this.inflight;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const ok = !this.lastError;
    // refresh at 80% of the TTL (with jitter so replicas do not fetch in lockstep); after a failure retry sooner
    const base = ok ? this.o.cacheTtlS * 800 : Math.max(1000, Math.min(this.o.cooldownS * 1000, 30_000));
    this.timer = setTimeout(() => void this.refresh().catch(() => undefined), base * (0.9 + Math.random() * 0.1));
    this.timer.unref();
  }

  /** GET `url` as JSON; a failure names the (redacted) URL and the underlying cause (ECONNREFUSED, TLS…). */
  private async getJson(url: string): Promise<unknown> {
    let res: Response;
    try {
      res = await this.o.fetch(url, { signal: AbortSignal.timeout(this.o.timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
    } catch (e) {
      throw new Error(`GET ${redactUrl(url)}: ${describeError(e)}`, { cause: e });
    }
    if (!res.ok) throw new Error(`GET ${redactUrl(url)} answered ${res.status}`);
    try {
      return await res.json();
    } catch (e) {
      throw new Error(`GET ${redactUrl(url)}: the body is not JSON (${describeError(e)})`, { cause: e });
    }
  }

  private async jwksUrl(): Promise<string> {
    if (this.o.jwksUrl) return this.o.jwksUrl;
    if (this.discoveredUrl) return this.discoveredUrl;
    const doc = (await this.getJson(`${this.o.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`)) as Record<string, unknown>;
    // OpenID Connect Discovery §4.3: the document's issuer must equal the configured one
    if (doc?.issuer !== this.o.issuer) throw new Error(`discovery document issuer ${JSON.stringify(doc?.issuer)} differs from ${this.o.issuer}`);
    if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    // A discovered jwks_uri is held to the rule a configured AUTH_JWKS_URL meets at start-up: a
    // discovery document served over https must not send the key fetch over plain http.
    let parsed: URL;
    try {
      parsed = new URL(doc.jwks_uri);
    } catch {
      throw new Error(`discovery document jwks_uri ${JSON.stringify(doc.jwks_uri)} is not an absolute URL`);
    }
    const problem = keyUrlProblem(parsed, this.o.production);
    if (problem) throw new Error(`discovered jwks_uri ${JSON.stringify(doc.jwks_uri)}: ${problem}`);
    this.discoveredUrl = doc.jwks_uri;
    return doc.jwks_uri;
  }

  private async doRefresh(): Promise<void> {
    const { metrics, issuer, log } = this.o;
    this.lastAttemptAt = this.o.now();
    try {
      const body = (await this.getJson(await this.jwksUrl())) as { keys?: unknown };
      if (!body || !Array.isArray(body.keys)) throw new Error('JWKS response has no "keys" array');
      const jwks = (body.keys as JWK[]).filter((k) => k && typeof k === 'object' && this.o.algorithms.some((a) => usable(k, a)));
      // a key whose thumbprint cannot be computed lacks its public members: it could not verify anyway
      const named = await Promise.all(jwks.map(async (jwk) => ({ jwk, ref: await keyRefOf(jwk).catch(() => undefined) })));
      const keys = named.filter((k): k is PublishedKey => k.ref !== undefined);
      if (keys.length === 0) throw new Error('JWKS has no usable signing key for the allowed algorithms');
      const before = this.refs;
      this.jwks = keys;
      this.refs = new Set(keys.map((k) => k.ref));
      this.imported.clear();
      this.loadedAt = this.o.now();
      this.lastError = undefined;
      metrics.jwksFetches.inc({ issuer, outcome: 'ok' });
      metrics.jwksKeys.set({ issuer }, keys.length);
      metrics.jwksStale.set({ issuer }, 0);
      metrics.jwksLastSuccess.set({ issuer }, Math.floor(this.loadedAt / 1000));
      const removed = [...before].filter((k) => !this.refs.has(k));
      if (removed.length) this.onKeysRemoved?.(removed);
      log.debug({ issuer, kids: keys.map((k) => k.jwk.kid) }, 'jwks refreshed');
    } catch (e) {
      this.lastError = (e as Error).message;
      metrics.jwksFetches.inc({ issuer, outcome: 'error' });
      const st = this.status();
      metrics.jwksStale.set({ issuer }, st.stale ? 1 : 0);
      log.warn(
        { issuer, err: this.lastError, cachedKeys: this.jwks.length, stale: st.stale },
        this.jwks.length ? 'jwks refresh failed; using cached keys' : 'jwks fetch failed; no keys yet',
      );
      throw e;
    }
  }
}

/** Issuers whose series exist in a registry already (a reload builds new stores over the same metrics). */
const initialised = new WeakMap<Metrics, Set<string>>();

/**
 * The issuer's JWKS series from the start, with what is true before any fetch: no keys, not stale,
 * never fetched (timestamp 0). Without them an instance whose first fetch never succeeds has no
 * `tollgate_jwks_keys` series at all, and an alert on `== 0` can never fire for it.
 */
function initSeries(metrics: Metrics, issuer: string, keysNeeded: boolean): void {
  let done = initialised.get(metrics);
  if (!done) initialised.set(metrics, (done = new Set()));
  if (done.has(issuer)) return;
  done.add(issuer);
  if (keysNeeded) metrics.jwksKeys.set({ issuer }, 0);
  metrics.jwksStale.set({ issuer }, 0);
  metrics.jwksLastSuccess.set({ issuer }, 0);
  for (const outcome of ['ok', 'error']) metrics.jwksFetches.inc({ issuer, outcome }, 0);
}
