// Parses the environment once, at start-up, into a typed, frozen Config: every value through the
// table (schema.ts), then the cross-field rules (issuers.ts), then the unknown-variable check
// (unknown.ts). Every problem is collected and thrown together; nothing here runs per request.
import type { RouteMatch, RouteRule } from '../lib/routes';
import type { RawEnv } from './env';
import { buildIssuers, type IssuerConfig, type SupabaseConfig } from './issuers';
import { checkSubjectSpaces } from './subjects';
import { Reading, type ConfigWarning } from './read';
import { checkDefaultPolicy } from './routes';
import { withIntrospection } from './introspection';
import { withDpop, type DpopConfig } from './dpop';
import type { Front } from './schema';
import { storeSettings, type DatabaseConfig } from './store';
import { unknownMessage, unknownVariables } from './unknown';

export { ConfigErrors, configProblems, type ConfigWarning } from './read';
export type { IssuerConfig } from './issuers';
export type { IntrospectionConfig } from './introspection';
export type { DpopConfig, DpopPolicy } from './dpop';
export type { Front } from './schema';
export { parseStoreConfig } from './store';

/** The headers that carry the original request for each front (named in refusals and docs). */
export const FRONT_HEADERS: Readonly<Record<Front, string>> = Object.freeze({
  nginx: 'X-Original-Method and X-Original-URI (NGINX auth_request, ingress-nginx)',
  forwarded: 'X-Forwarded-Method and X-Forwarded-Uri (Traefik forwardAuth, Caddy forward_auth)',
  envoy: 'the check request itself: its method, and the original path after /api/auth/validate (Envoy ext_authz path_prefix)',
});

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  /** LISTEN_SOCKET(_MODE): a Unix domain socket listened on beside host:port, or null. */
  readonly listenSocket: { readonly path: string; readonly mode: number } | null;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
  /** TOLLGATE_TRACING: OpenTelemetry spans over OTLP/HTTP, or none. */
  readonly tracing: 'off' | 'otlp';
  readonly auth: {
    readonly issuers: readonly IssuerConfig[];
    /** How the original method and URI reach the validator (AUTH_FRONT). */
    readonly front: Front;
    /** AUTH_MTLS_TRUST_HEADER: read the front's X-Client-Cert-S256 (certificate-bound tokens, RFC 8705). */
    readonly trustClientCertHeader: boolean;
    readonly clockToleranceS: number;
    readonly maxTokenBytes: number;
    readonly jwks: { readonly cacheTtlS: number; readonly cooldownS: number; readonly timeoutMs: number };
    readonly allowedClients: readonly string[] | null;
    readonly requireEmailVerified: boolean;
    readonly routeRules: readonly RouteRule[];
    /** AUTH_DEFAULT_POLICY: what a route without a matching rule gets. */
    readonly defaultPolicy: 'allow' | 'deny';
    /** AUTH_INTROSPECTION_CACHE_MAX: entries of the introspection answer cache (each issuer's settings are on its IssuerConfig). */
    readonly introspectionCacheMax: number;
    /** AUTH_DECISION_CACHE_*: the verified-token cache; `ttlS` also caps how long the edge decision cache keeps a grant. */
    readonly verifiedTokenCache: { readonly ttlS: number; readonly max: number };
    /** DPoP (RFC 9449): public origin, proof algorithms, iat window, nonces (config/dpop.ts); each issuer's policy is on its IssuerConfig. */
    readonly dpop: DpopConfig;
  };
  readonly supabase: SupabaseConfig | null;
  readonly quota: {
    readonly routes: readonly RouteMatch[];
    readonly defaultTicks: number;
    readonly defaultDailyTicks: number;
    readonly timezone: string;
    readonly failOpen: boolean;
    /** QUOTA_TRUST_CHARGE_ID: honour the front's X-Tollgate-Charge-Id (idempotent charges). */
    readonly trustChargeId: boolean;
  };
  readonly database: DatabaseConfig;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o) && !(o instanceof Uint8Array)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/**
 * Parses and validates the whole configuration. `env` is the merged environment (see loadDotenv).
 * Throws ConfigErrors (a ConfigError) listing every problem, each naming its variable; returns the
 * warnings to log at start-up: unknown variables under tollgate's prefixes outside production.
 */
export function parseConfigWithWarnings(env: RawEnv): { config: Config; warnings: ConfigWarning[] } {
  const r = new Reading(env);
  const built = buildIssuers(r);
  checkSubjectSpaces(r, built.issuers);
  const { issuers, dpop } = withDpop(r, withIntrospection(r, built.issuers));
  const supabase = built.supabase;
  checkDefaultPolicy(r);
  const production = r.values.NODE_ENV === 'production';
  const warnings: ConfigWarning[] = [];
  for (const u of unknownVariables(env)) {
    if (production) r.fail(u.name, unknownMessage(u, true));
    else warnings.push({ variable: u.name, message: `${u.name}: ${unknownMessage(u, false)}` });
  }
  r.throwIfAny();

  // No problem left: every variable with a default has its value.
  const v = r.values;
  const { database, timezone } = storeSettings(r);
  const config: Config = {
    env: v.NODE_ENV!,
    host: v.HOST!,
    port: v.PORT!,
    listenSocket: v.LISTEN_SOCKET ? { path: v.LISTEN_SOCKET, mode: v.LISTEN_SOCKET_MODE! } : null,
    logLevel: v.LOG_LEVEL!,
    shutdownGraceMs: v.SHUTDOWN_GRACE_MS!,
    tracing: v.TOLLGATE_TRACING!,
    auth: {
      issuers,
      front: v.AUTH_FRONT!,
      trustClientCertHeader: v.AUTH_MTLS_TRUST_HEADER!,
      clockToleranceS: v.AUTH_CLOCK_TOLERANCE_S!,
      maxTokenBytes: v.AUTH_MAX_TOKEN_BYTES!,
      jwks: { cacheTtlS: v.AUTH_JWKS_CACHE_TTL_S!, cooldownS: v.AUTH_JWKS_COOLDOWN_S!, timeoutMs: v.AUTH_JWKS_TIMEOUT_MS! },
      allowedClients: v.AUTH_ALLOWED_CLIENTS?.length ? v.AUTH_ALLOWED_CLIENTS : null,
      requireEmailVerified: v.AUTH_REQUIRE_EMAIL_VERIFIED!,
      routeRules: v.AUTH_ROUTE_RULES!,
      defaultPolicy: v.AUTH_DEFAULT_POLICY!,
      introspectionCacheMax: v.AUTH_INTROSPECTION_CACHE_MAX!,
      verifiedTokenCache: { ttlS: v.AUTH_DECISION_CACHE_TTL_S!, max: v.AUTH_DECISION_CACHE_MAX! },
      dpop,
    },
    supabase,
    quota: {
      routes: v.QUOTA_ROUTES!,
      defaultTicks: v.QUOTA_DEFAULT_TICKS!,
      defaultDailyTicks: database.defaultDailyTicks,
      timezone,
      failOpen: v.QUOTA_FAIL_OPEN!,
      trustChargeId: v.QUOTA_TRUST_CHARGE_ID!,
    },
    database,
  };
  return { config: deepFreeze(config), warnings };
}

/** parseConfigWithWarnings without the warnings (tests, tools): throws ConfigErrors on any problem. */
export function parseConfig(env: RawEnv): Config {
  return parseConfigWithWarnings(env).config;
}
