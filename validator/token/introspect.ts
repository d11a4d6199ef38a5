// RFC 7662 token introspection: asks an issuer whether a token is still active, so that a token
// revoked at the IdP (RFC 7009) stops passing within a bounded time, and opaque tokens can pass at
// all. Answers are cached (TTL ≤ 60 s, LRU bounded, concurrent asks coalesced); any failure to get
// an answer fails closed with 503 introspection_unavailable.
import type { Logger } from 'pino';
import type { IntrospectionConfig, IssuerConfig } from '../config';
import { invalidToken, unavailable } from '../errors';
import { claimAt, formatClaimPath } from '../lib/claim-mapping';
import type { Metrics } from '../observability/metrics';
import { checkAudience } from './audience';
import { VerifiedTokenCache } from './cache';
import type { VerifiedToken } from './verified';

type Claims = Readonly<Record<string, unknown>>;

/** What the issuer said: active with its claims (RFC 7662 §2.2), or not active. */
type Answer = { readonly active: true; readonly claims: Claims } | { readonly active: false };

interface Entry {
  readonly answer: Answer;
  /** An opaque token's VerifiedToken, built once per answer (later stages key their work on it). */
  verified?: VerifiedToken;
  readonly expiresAtMs: number;
}

export interface IntrospectionDeps {
  issuers: readonly IssuerConfig[];
  cacheMax: number;
  clockToleranceS: number;
  metrics: Metrics;
  log: Logger;
  fetch?: typeof fetch;
  now?: () => number;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined for HTTP Basic. */
function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** The RFC 7662 §2.1 request for `token` (the probe of `tollgate check` sends the same one). */
export function introspectionRequest(cfg: IntrospectionConfig, token: string): RequestInit {
  return {
    method: 'POST',
    headers: { authorization: basic(cfg.clientId, cfg.clientSecret), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    signal: AbortSignal.timeout(cfg.timeoutMs),
    redirect: 'error',
  };
}

export class Introspection {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Answer>>();
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  /** The issuer that opaque tokens belong to (config allows at most one). */
  private readonly opaqueIssuer?: IssuerConfig;

  constructor(private readonly deps: IntrospectionDeps) {
    this.fetch = deps.fetch ?? ((...a) => fetch(...a));
    this.now = deps.now ?? Date.now;
    this.opaqueIssuer = deps.issuers.find((i) => i.introspection?.opaque);
  }

  /** Whether a bearer that is not a JWS may be taken for an opaque token. */
  get acceptsOpaque(): boolean {
    return this.opaqueIssuer !== undefined;
  }

  /** Forgets every answer (an operator's forced refresh): the next request asks again. */
  clear(): void {
    this.cache.clear();
  }

  /** A verified JWT of an introspecting issuer: passes when the issuer says it is active, else 401 token_revoked. */
  async check(token: string, verified: VerifiedToken): Promise<void> {
    const { answer } = await this.entry(verified.issuer, token);
    if (!answer.active) throw invalidToken('token_revoked', 'the issuer says this token is no longer active (revoked)');
  }

  /** An opaque token: the issuer's answer as a VerifiedToken, or 401 token_inactive / the claim refusals. */
  async opaque(token: string): Promise<VerifiedToken> {
    const issuer = this.opaqueIssuer;
    if (!issuer) throw invalidToken('token_malformed', 'token is not a compact JWS (three base64url parts)');
    const e = await this.entry(issuer, token);
    if (!e.answer.active) throw invalidToken('token_inactive', 'the issuer says this token is not active');
    return (e.verified ??= this.verifiedOf(issuer, e.answer.claims));
  }

  private async entry(issuer: IssuerConfig, token: string): Promise<Entry> {
    const cfg = issuer.introspection!;
    const key = `${issuer.issuer}\n${VerifiedTokenCache.keyOf(token)}`;
    const nowMs = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.expiresAtMs > nowMs) {
      this.cache.delete(key); // LRU: a hit moves to the end
      this.cache.set(key, hit);
      this.deps.metrics.introspectionCache.inc({ outcome: 'hit' });
      return hit;
    }
    if (hit) this.cache.delete(key);
    this.deps.metrics.introspectionCache.inc({ outcome: 'miss' });
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.ask(issuer, cfg, token).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const answer = await pending;
    // Reused for the TTL, never past the token's own exp; an inactive token never becomes active.
    const exp = answer.active && typeof answer.claims.exp === 'number' ? answer.claims.exp * 1000 : Infinity;
    const entry: Entry = { answer, expiresAtMs: Math.min(this.now() + cfg.cacheTtlS * 1000, exp) };
    if (cfg.cacheTtlS > 0 && entry.expiresAtMs > this.now()) {
      this.cache.delete(key);
      this.cache.set(key, entry);
      if (this.cache.size > this.deps.cacheMax) this.cache.delete(this.cache.keys().next().value as string);
    }
    return entry;
  }

  /** One RFC 7662 §2.1 request. Anything but a 200 with a JSON object carrying a boolean `active` is an outage. */
  private async ask(issuer: IssuerConfig, cfg: IntrospectionConfig, token: string): Promise<Answer> {
    const { metrics, log } = this.deps;
    const started = process.hrtime.bigint();
    const took = () => metrics.introspectionSeconds.observe({ issuer: issuer.issuer }, Number(process.hrtime.bigint() - started) / 1e9);
    let body: unknown;
    try {
      const res = await this.fetch(cfg.url, introspectionRequest(cfg, token));
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
      body = await res.json();
      if (body === null || typeof body !== 'object' || typeof (body as { active?: unknown }).active !== 'boolean') {
        throw new Error('the answer has no boolean "active"');
      }
    } catch (e) {
      took();
      metrics.introspections.inc({ issuer: issuer.issuer, result: 'error' });
      // never the token, nor the secret: the endpoint and what went wrong
      log.warn({ issuer: issuer.issuer, err: (e as Error).message }, 'token introspection failed');
      throw unavailable('introspection_unavailable', `the issuer's token introspection is unavailable`);
    }
    took();
    const active = (body as { active: boolean }).active;
    metrics.introspections.inc({ issuer: issuer.issuer, result: active ? 'active' : 'inactive' });
    return active ? { active: true, claims: deepFreeze(body as Claims) } : { active: false };
  }

  /**
   * The claims of an active opaque token, held to what a JWT of the same issuer must show: `exp`
   * (not passed), `iss` when given, the audience, the issuer's access-token claims, a bearer (not
   * sender-constrained) token, and a subject. RFC 7662 §2.2 makes `sub` optional: a
   * client-credentials token's resource owner is its client (RFC 6749 §4.4), so `client_id` stands in.
   */
  private verifiedOf(issuer: IssuerConfig, answer: Claims): VerifiedToken {
    const nowS = Math.floor(this.now() / 1000);
    if (typeof answer.exp !== 'number') throw invalidToken('claim_missing', 'the introspection answer has no exp');
    if (nowS - this.deps.clockToleranceS >= answer.exp) throw invalidToken('token_expired', 'token has expired');
    if (answer.iss !== undefined && answer.iss !== issuer.issuer) throw invalidToken('token_inactive', 'the introspection answer names another issuer');
    // RFC 7662 §2.2 token_type (RFC 6749 §7.1): only bearer tokens; `cnf` binds the token to a key
    // or certificate (RFC 8705, RFC 9449) whose proof tollgate cannot check.
    if (typeof answer.token_type === 'string' && answer.token_type.toLowerCase() !== 'bearer') {
      throw invalidToken('token_type_invalid', 'only bearer access tokens are accepted');
    }
    if (answer.cnf !== undefined) {
      throw invalidToken('token_type_invalid', 'sender-constrained tokens (cnf) are not accepted: their proof cannot be checked here');
    }
    checkAudience(issuer, answer);
    for (const [claim, value] of Object.entries(issuer.accessTokenClaims)) {
      if (answer[claim] !== value) throw invalidToken('token_type_invalid', `only access tokens are accepted from this issuer (${claim} must be ${value})`);
    }
    const payload = answer.sub === undefined && typeof answer.client_id === 'string' ? deepFreeze({ ...answer, sub: answer.client_id }) : answer;
    const sub = claimAt(payload, issuer.claims.subject);
    if (typeof sub !== 'string' || sub === '') throw invalidToken('claim_missing', `token has no subject (${formatClaimPath(issuer.claims.subject)})`);
    return Object.freeze({ issuer, payload: payload as VerifiedToken['payload'], alg: 'introspection' });
  }
}
