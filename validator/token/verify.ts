// Stages 2–3: pick the issuer from `iss`, choose the key by the issuer's rules, verify signature and
// registered claims (fast-verify.ts: jose's checks on node:crypto; jose imports the keys). Any failure
// is an AuthError carrying jose's error code as its cause.
import type { CryptoKey, JWTPayload } from 'jose';
import type { Logger } from 'pino';
import type { Config, IssuerConfig } from '../config';
import { normalizeTyp } from '../config/issuer-entries';
import { invalidToken } from '../errors';
import { claimAt, formatClaimPath } from '../lib/claim-mapping';
import type { Metrics } from '../observability/metrics';
import { checkAudience } from './audience';
import { VerifiedTokenCache } from './cache';
import { JWS_COMPACT } from './extract';
import { parseJws, verifyJwt } from './fast-verify';
import { fromJose } from './jose-errors';
import { Introspection } from './introspect';
import { JwksStore, type JwksStatus } from './jwks';
import type { VerifiedToken } from './verified';

export type { VerifiedToken } from './verified';

// Headers that point at keys we did not configure: trusting them lets the token pick its own key.
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

export interface VerifierDeps {
  config: Config;
  metrics: Metrics;
  log: Logger;
  fetch?: typeof fetch;
  /** Clock in ms (tests). */
  now?: () => number;
  /**
   * The verifier this one may replace (a configuration reload): each of its JWKS stores whose
   * settings are unchanged is shared with the keys it holds, so a reload fetches nothing for them.
   */
  previous?: TokenVerifier;
}

export class TokenVerifier {
  private readonly byIssuer = new Map<string, { issuer: IssuerConfig; store?: JwksStore }>();
  /** The JWKS store of each issuer config, to ask whether a key is still published before caching. */
  private readonly storeOf = new Map<IssuerConfig, JwksStore>();
  /** Every JWKS store of this verifier, by its settings (a successor with the same settings shares it). */
  private readonly stores = new Map<string, JwksStore>();
  /** Stores made here (not shared from `previous`): the ones start() starts and loadNewKeys() waits for. */
  private readonly fresh: JwksStore[] = [];
  private readonly cache: VerifiedTokenCache<VerifiedToken>;
  /** RFC 7662 answers of the issuers that introspect (token/introspect.ts). */
  private readonly introspection: Introspection;
  private readonly tolerance: number;
  private readonly now: () => number;

  constructor(private readonly deps: VerifierDeps) {
    const { config, metrics, log } = deps;
    this.now = deps.now ?? Date.now;
    this.tolerance = config.auth.clockToleranceS;
    this.cache = new VerifiedTokenCache(config.auth.verifiedTokenCache.max, config.auth.verifiedTokenCache.ttlS * 1000);
    this.introspection = new Introspection({
      issuers: config.auth.issuers,
      cacheMax: config.auth.introspectionCacheMax,
      clockToleranceS: config.auth.clockToleranceS,
      metrics,
      log,
      fetch: deps.fetch,
      now: deps.now,
    });
    for (const issuer of config.auth.issuers) {
      let store: JwksStore | undefined;
      if (issuer.kind !== 'hs256') {
        // jwks and supabase issuers publish keys; hs256 has one shared secret
        const settings = {
          issuer: issuer.issuer,
          jwksUrl: issuer.jwksUrl,
          production: config.env === 'production',
          algorithms: issuer.jwksAlgorithms,
          keysOptional: issuer.hmacSecret !== undefined,
          ...config.auth.jwks,
        };
        const key = JSON.stringify(settings);
        const shared = deps.previous?.stores.get(key);
        store = shared ?? new JwksStore({ ...settings, metrics, log, fetch: deps.fetch, now: deps.now });
        if (!shared) this.fresh.push(store);
        this.stores.set(key, store);
        // A key leaves when its kid goes or when its kid now names other material (rotation in
        // place): either way the decisions verified with it go too.
        store.onKeysRemoved = (keys) => {
          const n = this.cache.dropKeys(keys);
          log.info({ issuer: issuer.issuer, keys, droppedDecisions: n }, 'signing keys left the JWKS');
        };
        this.storeOf.set(issuer, store);
      }
      this.byIssuer.set(issuer.issuer, { issuer, store });
    }
  }

  /** Starts the first JWKS loads in the background (shared stores are running already). */
  start(): void {
    for (const store of this.fresh) store.start();
  }

  /** Resolves when every store made here has tried its first load (each bounded by AUTH_JWKS_TIMEOUT_MS). */
  async loadNewKeys(): Promise<void> {
    await Promise.allSettled(this.fresh.map((s) => s.refresh()));
  }

  /** The issuers whose JWKS store was made here rather than shared. */
  get newIssuers(): string[] {
    return [...this.byIssuer.values()].filter(({ store }) => store && this.fresh.includes(store)).map(({ issuer }) => issuer.issuer);
  }

  /**
   * Stops the background refreshes of this verifier's stores, except those `keep` also uses: after a
   * reload the old verifier closes with `keep` = its successor, and a refused one with `keep` = the
   * verifier that stays. A store goes on serving decisions already running; it only stops refreshing.
   */
  close(keep?: TokenVerifier): void {
    const kept = new Set(keep?.stores.values());
    for (const store of this.stores.values()) if (!kept.has(store)) store.close();
  }

  /** Per issuer: can a token be verified now? An HS256 secret is always usable. */
  status(): Array<JwksStatus & { kind: string; usable: boolean }> {
    return [...this.byIssuer.values()].map(({ issuer, store }) => {
      const s: JwksStatus = store?.status() ?? { issuer: issuer.issuer, ready: true, stale: false, keys: 0 };
      return { ...s, kind: issuer.kind, usable: s.ready || issuer.hmacSecret !== undefined };
    });
  }

  /** Forces a JWKS refresh of every issuer (readiness probe after an outage, tests). */
  async refresh(): Promise<void> {
    await Promise.allSettled([...this.byIssuer.values()].map(({ store }) => store?.refresh()));
  }

  /**
   * An operator's "revoke now" (SIGUSR2): every issuer's JWKS is fetched at once, even while a
   * scheduled fetch is under way (it may have started before the key was removed), so decisions
   * verified with a key that left are dropped from the verified-token cache (onKeysRemoved); and
   * every cached introspection answer is forgotten. Resolves with each issuer's outcome.
   */
  async forceRefresh(): Promise<Array<{ issuer: string; ok: boolean; keys: number; error?: string }>> {
    this.introspection.clear();
    const entries = [...this.byIssuer.values()].filter((e) => e.store !== undefined);
    const settled = await Promise.allSettled(entries.map(({ store }) => store!.refresh({ force: true })));
    return entries.map(({ issuer, store }, i) => {
      const r = settled[i]!;
      return {
        issuer: issuer.issuer,
        ok: r.status === 'fulfilled',
        keys: store!.status().keys,
        ...(r.status === 'rejected' ? { error: (r.reason as Error).message } : {}),
      };
    });
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * Verifies `token` or throws an AuthError. An issuer with introspection is also asked whether the
   * token is still active (answers cached for at most 60 s, token/introspect.ts): a token revoked at
   * the IdP stops passing although its signature still verifies. A bearer that is not a JWS is an
   * opaque token, which only the issuer that accepts them (AUTH_INTROSPECTION_OPAQUE) can vouch for.
   */
  async verify(token: string): Promise<VerifiedToken> {
    if (!JWS_COMPACT.test(token)) return this.introspection.opaque(token);
    const verified = await this.verifySignature(token);
    if (verified.issuer.introspection) await this.introspection.check(token, verified);
    return verified;
  }

  /** Whether opaque (non-JWS) bearer tokens may reach verify(). */
  get acceptsOpaque(): boolean {
    return this.introspection.acceptsOpaque;
  }

  /** Signature and claims of a JWT, through the verified-token cache when it is enabled. */
  private async verifySignature(token: string): Promise<VerifiedToken> {
    const nowMs = this.now();
    const cacheKey = this.cache.enabled ? VerifiedTokenCache.keyOf(token) : '';
    if (this.cache.enabled) {
      const hit = this.cache.get(cacheKey, nowMs);
      if (hit) {
        this.deps.metrics.verifiedTokenCache.inc({ outcome: 'hit' });
        this.checkTimes(hit.payload, nowMs);
        return hit;
      }
      this.deps.metrics.verifiedTokenCache.inc({ outcome: 'miss' });
    }
    const verified = await this.verifyUncached(token, nowMs);
    // A refresh may have replaced the key while this verification ran: never cache under a key
    // that already left (onKeysRemoved has run and would not drop the entry).
    const keyGone = verified.keyId !== undefined && !this.storeOf.get(verified.issuer)?.isCurrent(verified.keyId);
    if (this.cache.enabled && !keyGone) {
      this.cache.set(cacheKey, verified, verified.keyId, (verified.payload.exp as number) * 1000 + this.tolerance * 1000, nowMs);
      this.deps.metrics.verifiedTokenCacheSize.set(this.cache.size);
    }
    return verified;
  }

  /** exp/nbf/iat against the clock, with leeway; run on cache hits too (the clock moved). */
  private checkTimes(p: JWTPayload, nowMs: number): void {
    const now = Math.floor(nowMs / 1000);
    if (typeof p.exp === 'number' && now - this.tolerance >= p.exp) throw invalidToken('token_expired', 'token has expired');
    if (typeof p.nbf === 'number' && now + this.tolerance < p.nbf) throw invalidToken('token_not_yet_valid', 'token is not valid yet (nbf)');
  }

  private async verifyUncached(token: string, nowMs: number): Promise<VerifiedToken> {
    // One strict read of the compact JWS (token_malformed otherwise), reused by verifyJwt below.
    const jws = parseJws(token);
    const { header, payload: unverified } = jws;
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') throw invalidToken('algorithm_not_allowed', 'unsigned tokens (alg none) are refused');
    if (header.crit !== undefined) throw invalidToken('header_not_allowed', 'critical header extensions are not supported');
    for (const h of FORBIDDEN_HEADERS) {
      if (h in header) throw invalidToken('header_not_allowed', `the ${h} header is refused: keys come from configuration only`);
    }
    if (header.typ !== undefined && typeof header.typ !== 'string') throw invalidToken('token_type_invalid', 'token type (typ) is not a string');
    if (header.kid !== undefined && typeof header.kid !== 'string') throw invalidToken('token_malformed', 'kid must be a string');

    // `iss` read before verification selects the issuer's rules, and is verified again by verifyJwt below.
    const entry = typeof unverified.iss === 'string' ? this.byIssuer.get(unverified.iss) : undefined;
    if (!entry) throw invalidToken('issuer_mismatch', 'token issuer is not trusted here');
    const { issuer, store } = entry;
    // RFC 9068 §4 / RFC 8725 §3.11: the issuer's accepted `typ` values ('' = none) keep ID tokens and
    // other JWTs of the same issuer from passing as access tokens.
    if (!issuer.tokenTypes.includes(header.typ === undefined ? '' : normalizeTyp(header.typ))) {
      const typ = header.typ === undefined ? 'no typ' : `typ ${JSON.stringify(header.typ.slice(0, 40))}`;
      throw invalidToken(
        'token_type_invalid',
        `token type is not an access token of this issuer: ${typ}, expected ${issuer.tokenTypes.map((t) => (t === '' ? 'none' : t)).join(', ')}`,
      );
    }

    let key: CryptoKey | Uint8Array;
    let keyId: string | undefined;
    if (alg === 'HS256' && issuer.hmacSecret) {
      // HS256 has one key, the issuer's shared secret (Supabase's legacy JWT secret, AUTH_JWT_SECRET),
      // whatever the kid says; an asymmetric algorithm takes the JWKS key its kid names (JwksStore.getKey:
      // without a kid, the one key that fits). The JWKS holds no HS256 key (jwksAlgorithms are asymmetric).
      key = issuer.hmacSecret;
    } else if (store && issuer.jwksAlgorithms.includes(alg)) {
      ({ key, keyId } = await store.getKey(header.kid, alg));
    } else {
      throw invalidToken('algorithm_not_allowed', `algorithm ${alg.slice(0, 16)} is not allowed for this issuer`);
    }

    let payload: JWTPayload;
    try {
      // The audience is checked below (checkAudience), to say what the token had and the IdP's trap.
      // Synchronous node:crypto with jose's checks and verdicts (fast-verify.ts, tested against jose).
      ({ payload } = verifyJwt(jws, key, {
        issuer: issuer.issuer,
        algorithms: [alg],
        clockTolerance: this.tolerance,
        requiredClaims: ['exp'],
        currentDate: new Date(nowMs),
      }));
    } catch (e) {
      throw fromJose(e);
    }
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(nowMs / 1000) + this.tolerance) {
      throw invalidToken('claim_invalid', 'token was issued in the future (iat)');
    }
    for (const [claim, value] of Object.entries(issuer.accessTokenClaims)) {
      if (payload[claim] !== value) throw invalidToken('token_type_invalid', `only access tokens are accepted from this issuer (${claim} must be ${value})`);
    }
    checkAudience(issuer, payload);
    const sub = claimAt(payload, issuer.claims.subject);
    if (typeof sub !== 'string' || sub === '') throw invalidToken('claim_missing', `token has no subject (${formatClaimPath(issuer.claims.subject)})`);
    // Deeply frozen: the same payload is shared through the verified-token cache and read by route rules.
    return Object.freeze({ issuer, payload: deepFreeze(payload), alg, kid: header.kid, keyId });
  }
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
