// Prometheus metrics, one registry per app instance (no global registry: tests run several apps).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly decisions: Counter<'result' | 'reason' | 'status'>;
  readonly decisionSeconds: Histogram<'result'>;
  readonly jwksFetches: Counter<'issuer' | 'outcome'>;
  readonly jwksKeys: Gauge<'issuer'>;
  readonly jwksStale: Gauge<'issuer'>;
  readonly jwksLastSuccess: Gauge<'issuer'>;
  /** RFC 7662 introspection requests by issuer and result (active|inactive|error), their latency, and answer-cache lookups. */
  readonly introspections: Counter<'issuer' | 'result'>;
  readonly introspectionSeconds: Histogram<'issuer'>;
  readonly introspectionCache: Counter<'outcome'>;
  readonly quotaCharges: Counter<'outcome'>;
  readonly ticksCharged: Counter;
  readonly storeSeconds: Histogram<'op'>;
  readonly poolConnections: Gauge<'state'>;
  readonly storeUp: Gauge;
  /** The verified-token cache (token/cache.ts); its metric names say decision_cache, kept for dashboards. */
  readonly verifiedTokenCache: Counter<'outcome'>;
  readonly verifiedTokenCacheSize: Gauge;
  /** DPoP proofs checked (token/dpop.ts) by outcome: ok, or the refusal's reason code. */
  readonly dpopProofs: Counter<'outcome'>;
  /** SIGHUP reloads by result: ok (applied), invalid (refused: configuration errors), error (refused: anything else). */
  readonly configReloads: Counter<'result'>;
  /** 1 for the hash of the configuration in use (config/hash.ts); the previous hash's series is removed. */
  readonly configInfo: Gauge<'hash'>;
}

/** Creates the registry. `defaults` adds prom-client's process metrics (off in unit tests for speed). */
export function createMetrics(opts: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    decisions: new Counter({
      name: 'tollgate_decisions_total',
      help: 'Decisions of /api/auth/validate by result, reason code (docs/REASONS.md; ok when granted) and HTTP status.',
      labelNames: ['result', 'reason', 'status'],
      registers: r,
    }),
    decisionSeconds: new Histogram({
      name: 'tollgate_decision_duration_seconds',
      help: 'Time from request to decision in the validator, seconds.',
      labelNames: ['result'],
      // decisions are sub-millisecond when cached, a few ms when verified, up to the DB timeout when charged
      buckets: [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    jwksFetches: new Counter({
      name: 'tollgate_jwks_fetches_total',
      help: 'JWKS and discovery fetches by issuer and outcome (ok|error).',
      labelNames: ['issuer', 'outcome'],
      registers: r,
    }),
    jwksKeys: new Gauge({ name: 'tollgate_jwks_keys', help: 'Usable signing keys cached per issuer.', labelNames: ['issuer'], registers: r }),
    jwksStale: new Gauge({
      name: 'tollgate_jwks_stale',
      help: '1 when the cached keys of an issuer are past their TTL because refreshing failed.',
      labelNames: ['issuer'],
      registers: r,
    }),
    jwksLastSuccess: new Gauge({
      name: 'tollgate_jwks_last_success_timestamp_seconds',
      help: 'Unix time of the last successful JWKS fetch per issuer.',
      labelNames: ['issuer'],
      registers: r,
    }),
    introspections: new Counter({
      name: 'tollgate_introspection_requests_total',
      help: 'RFC 7662 introspection requests by issuer and result (active|inactive|error).',
      labelNames: ['issuer', 'result'],
      registers: r,
    }),
    introspectionSeconds: new Histogram({
      name: 'tollgate_introspection_duration_seconds',
      help: 'Latency of one RFC 7662 introspection request, seconds (errors and timeouts included).',
      labelNames: ['issuer'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    introspectionCache: new Counter({
      name: 'tollgate_introspection_cache_total',
      help: 'Introspection answer cache lookups by outcome (hit|miss).',
      labelNames: ['outcome'],
      registers: r,
    }),
    quotaCharges: new Counter({
      name: 'tollgate_quota_charges_total',
      help: 'Quota charge attempts by outcome (charged|replayed|exhausted|invalid|error|fail_open).',
      labelNames: ['outcome'],
      registers: r,
    }),
    ticksCharged: new Counter({ name: 'tollgate_quota_ticks_charged_total', help: 'Ticks charged to users.', registers: r }),
    storeSeconds: new Histogram({
      name: 'tollgate_store_duration_seconds',
      help: 'Quota store operation latency, seconds.',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    poolConnections: new Gauge({
      name: 'tollgate_db_pool_connections',
      help: 'Database pool connections by state (total|idle|waiting).',
      labelNames: ['state'],
      registers: r,
    }),
    storeUp: new Gauge({ name: 'tollgate_store_up', help: '1 when the last quota store operation or readiness ping succeeded.', registers: r }),
    verifiedTokenCache: new Counter({
      name: 'tollgate_decision_cache_total',
      help: 'Verified-token cache lookups by outcome (hit|miss).',
      labelNames: ['outcome'],
      registers: r,
    }),
    verifiedTokenCacheSize: new Gauge({ name: 'tollgate_decision_cache_entries', help: 'Entries in the verified-token cache.', registers: r }),
    dpopProofs: new Counter({
      name: 'tollgate_dpop_proofs_total',
      help: "DPoP proofs (RFC 9449) checked, by outcome: ok, or the refusal's reason code (dpop_proof_invalid, dpop_replayed…).",
      labelNames: ['outcome'],
      registers: r,
    }),
    configReloads: new Counter({
      name: 'tollgate_config_reloads_total',
      help: 'Configuration reloads (SIGHUP) by result: ok, invalid (configuration errors; the running one kept), error (anything else; kept too).',
      labelNames: ['result'],
      registers: r,
    }),
    configInfo: new Gauge({
      name: 'tollgate_config_info',
      help: 'Always 1, labelled with the SHA-256 of the configuration in use (also in /api/ready).',
      labelNames: ['hash'],
      registers: r,
    }),
  };
}
