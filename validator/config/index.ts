// Parses the environment once, at start-up, into a typed, frozen Config. Every error names the
// variable and the fix; nothing here runs per request.
import { ConfigError } from '../errors';
import { parseRouteRules, parseRouteList, type RouteRule, type RouteMatch } from '../policy/routes';
import type { StoreOptions } from '../store/types';
import { CONFIG_VARIABLES } from './schema';
import { readVar, type RawEnv } from './env';
import { keyUrlProblem } from './key-url';

export type IssuerKind = 'jwks' | 'supabase' | 'hs256';
/** The fronts tollgate can sit behind (AUTH_FRONT); validator/http/front.ts reads each one's headers. */
export type Front = 'nginx' | 'forwarded' | 'envoy';
export const FRONTS: readonly Front[] = ['nginx', 'forwarded', 'envoy'];
/** The headers that carry the original request for each front (named in refusals and docs). */
export const FRONT_HEADERS: Readonly<Record<Front, string>> = Object.freeze({
  nginx: 'X-Original-Method and X-Original-URI (NGINX auth_request, ingress-nginx)',
  forwarded: 'X-Forwarded-Method and X-Forwarded-Uri (Traefik forwardAuth, Caddy forward_auth)',
  envoy: 'the check request itself: its method, and the original path after /api/auth/validate (Envoy ext_authz path_prefix)',
});
export type AsymmetricAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'EdDSA';
const ASYMMETRIC: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

export interface IssuerConfig {
  readonly kind: IssuerKind;
  /** Exact `iss` value. */
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Asymmetric algorithms accepted with JWKS keys (empty when the issuer has no JWKS). */
  readonly jwksAlgorithms: readonly string[];
  /** JWKS URL, or undefined to discover it from the issuer's openid-configuration. */
  readonly jwksUrl?: string;
  /** Whether this issuer has a JWKS at all (hs256 mode has none). */
  readonly usesJwks: boolean;
  /** HS256 secret, when the issuer accepts HS256. */
  readonly hmacSecret?: Uint8Array;
  /** Supabase rules: anonymous users, confirmed email from the store. */
  readonly supabase: boolean;
}

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
  readonly auth: {
    readonly issuers: readonly IssuerConfig[];
    /** How the original method and URI reach the validator (AUTH_FRONT). */
    readonly front: Front;
    readonly clockToleranceS: number;
    readonly maxTokenBytes: number;
    readonly jwks: { readonly cacheTtlS: number; readonly cooldownS: number; readonly timeoutMs: number };
    readonly allowedClients: readonly string[] | null;
    readonly requireEmailVerified: boolean;
    readonly routeRules: readonly RouteRule[];
    readonly decisionCache: { readonly ttlS: number; readonly max: number };
  };
  readonly supabase: {
    readonly url: string;
    readonly anonKey?: string;
    readonly allowAnonymous: boolean;
    readonly allowUnconfirmed: boolean;
  } | null;
  readonly quota: {
    readonly routes: readonly RouteMatch[];
    readonly defaultTicks: number;
    readonly defaultDailyTicks: number;
    readonly timezone: string;
    readonly failOpen: boolean;
    /** QUOTA_TRUST_CHARGE_ID: honour the front's X-Tollgate-Charge-Id (idempotent charges). */
    readonly trustChargeId: boolean;
  };
  readonly database: StoreOptions & { readonly migrateOnStart: boolean };
}

/** Reads one variable, falling back to its schema default. */
function reader(env: RawEnv) {
  const defaults = new Map(CONFIG_VARIABLES.map((v) => [v.name, v.default]));
  return (name: string): string | undefined => {
    if (!defaults.has(name)) throw new Error(`config variable ${name} is not in CONFIG_VARIABLES`);
    return readVar(env, name) ?? defaults.get(name);
  };
}

function int(name: string, raw: string | undefined, min: number, max: number): number {
  // Decimal digits only: Number() would read "  " as 0 (PORT → any port), "0x50" as 80, "8e3" as 8000.
  const n = raw !== undefined && /^\s*-?[0-9]+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function bool(name: string, raw: string | undefined): boolean {
  if (raw === undefined) return false;
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

function list(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function url(name: string, raw: string | undefined, production: boolean): string {
  let u: URL;
  try {
    u = new URL(raw ?? '');
  } catch {
    throw new ConfigError(name, `must be an absolute URL, got ${JSON.stringify(raw)}`);
  }
  // the same rule applies to a jwks_uri found by discovery (token/jwks.ts)
  const problem = keyUrlProblem(u, production);
  if (problem) throw new ConfigError(name, problem);
  return raw!;
}

function required(name: string, raw: string | undefined, why: string): string {
  if (raw === undefined || raw.trim() === '') throw new ConfigError(name, `is required ${why}`);
  return raw;
}

/** Decodes a JWT payload without verifying it: only to recognise a service-role key by mistake. */
function unsafeJwtRole(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload?.role === 'string' ? payload.role : undefined;
  } catch {
    return undefined;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o) && !(o instanceof Uint8Array)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/**
 * Parses and validates the whole configuration. Throws ConfigError naming the variable.
 * `env` is the merged environment (see loadDotenv).
 */
export function parseConfig(env: RawEnv): Config {
  const get = reader(env);
  const nodeEnv = get('NODE_ENV')!;
  if (!['development', 'test', 'production'].includes(nodeEnv)) {
    throw new ConfigError('NODE_ENV', `must be development, test or production, got ${JSON.stringify(nodeEnv)}`);
  }
  const production = nodeEnv === 'production';
  const tolerance = int('AUTH_CLOCK_TOLERANCE_S', get('AUTH_CLOCK_TOLERANCE_S'), 0, 300);

  const modes = list(get('AUTH_MODE'));
  for (const m of modes) {
    if (!['jwks', 'supabase', 'hs256'].includes(m)) throw new ConfigError('AUTH_MODE', `unknown mode ${JSON.stringify(m)}; use jwks, supabase and/or hs256`);
  }
  if (modes.length === 0) {
    throw new ConfigError('AUTH_MODE', 'no issuer is configured: set AUTH_MODE to jwks, supabase and/or hs256 (tollgate never runs without auth)');
  }
  if (modes.includes('jwks') && modes.includes('hs256')) {
    throw new ConfigError('AUTH_MODE', 'jwks and hs256 both use AUTH_ISSUER; choose one of them (Supabase HS256 tokens go through `supabase` mode)');
  }

  const issuers: IssuerConfig[] = [];
  const minSecret = 32;
  const secretBytes = (name: string, raw: string): Uint8Array => {
    const bytes = new TextEncoder().encode(raw);
    if (production && bytes.length < minSecret) {
      throw new ConfigError(name, `is ${bytes.length} bytes; an HS256 secret must be at least ${minSecret} bytes in production`);
    }
    return bytes;
  };

  if (modes.includes('jwks') || modes.includes('hs256')) {
    const mode = modes.includes('jwks') ? 'jwks' : 'hs256';
    const issuer = url('AUTH_ISSUER', required('AUTH_ISSUER', get('AUTH_ISSUER'), `when AUTH_MODE includes ${mode}`), production);
    const audiences = list(required('AUTH_AUDIENCE', get('AUTH_AUDIENCE'), `when AUTH_MODE includes ${mode}`));
    if (!audiences.length) throw new ConfigError('AUTH_AUDIENCE', 'must list at least one audience (an empty list would refuse every token)');
    if (mode === 'jwks') {
      if (get('AUTH_JWT_SECRET') !== undefined) {
        throw new ConfigError('AUTH_JWT_SECRET', 'must not be set with AUTH_MODE=jwks: an HMAC secret is never accepted for an asymmetric issuer');
      }
      const algs = list(get('AUTH_ALGORITHMS'));
      for (const a of algs) {
        if (!ASYMMETRIC.includes(a)) throw new ConfigError('AUTH_ALGORITHMS', `${JSON.stringify(a)} is not allowed; use asymmetric algorithms only: ${ASYMMETRIC.join(', ')}`);
      }
      if (!algs.length) throw new ConfigError('AUTH_ALGORITHMS', 'must list at least one algorithm');
      const jwksRaw = get('AUTH_JWKS_URL');
      issuers.push({ kind: 'jwks', issuer, audiences, jwksAlgorithms: algs, jwksUrl: jwksRaw === undefined ? undefined : url('AUTH_JWKS_URL', jwksRaw, production), usesJwks: true, supabase: false });
    } else {
      if (get('AUTH_JWKS_URL') !== undefined) {
        throw new ConfigError('AUTH_JWKS_URL', 'must not be set with AUTH_MODE=hs256; use AUTH_MODE=jwks for asymmetric keys');
      }
      const secret = required('AUTH_JWT_SECRET', get('AUTH_JWT_SECRET'), 'when AUTH_MODE includes hs256');
      issuers.push({ kind: 'hs256', issuer, audiences, jwksAlgorithms: [], usesJwks: false, hmacSecret: secretBytes('AUTH_JWT_SECRET', secret), supabase: false });
    }
  }

  let supabase: Config['supabase'] = null;
  if (modes.includes('supabase')) {
    const base = url('SUPABASE_URL', required('SUPABASE_URL', get('SUPABASE_URL'), 'when AUTH_MODE includes supabase'), production).replace(/\/+$/, '');
    const secret = get('SUPABASE_JWT_SECRET');
    const anonKey = get('SUPABASE_ANON_KEY');
    if (anonKey !== undefined && (unsafeJwtRole(anonKey) === 'service_role' || anonKey.startsWith('sb_secret_'))) {
      throw new ConfigError('SUPABASE_ANON_KEY', 'is a service-role / secret key (a JWT with role service_role, or an sb_secret_ key); use the anon/publishable key: the service role bypasses RLS');
    }
    const allowUnconfirmed = bool('SUPABASE_ALLOW_UNCONFIRMED', get('SUPABASE_ALLOW_UNCONFIRMED'));
    if (production && allowUnconfirmed) {
      throw new ConfigError('SUPABASE_ALLOW_UNCONFIRMED', 'must not be true in production: unconfirmed email addresses may belong to anyone');
    }
    supabase = { url: base, anonKey, allowAnonymous: bool('SUPABASE_ALLOW_ANONYMOUS', get('SUPABASE_ALLOW_ANONYMOUS')), allowUnconfirmed };
    const issuer = `${base}/auth/v1`;
    if (issuers.some((i) => i.issuer === issuer)) throw new ConfigError('AUTH_ISSUER', `duplicates the Supabase issuer ${issuer}`);
    issuers.push({
      kind: 'supabase',
      issuer,
      audiences: ['authenticated'],
      // Supabase's asymmetric signing keys are ES256 (default) or RS256.
      jwksAlgorithms: ['ES256', 'RS256'],
      jwksUrl: `${issuer}/.well-known/jwks.json`,
      usesJwks: true,
      hmacSecret: secret === undefined ? undefined : secretBytes('SUPABASE_JWT_SECRET', secret),
      supabase: true,
    });
  }

  const { database, timezone } = parseStoreConfig(env);
  const failOpen = bool('QUOTA_FAIL_OPEN', get('QUOTA_FAIL_OPEN'));
  const allowed = list(get('AUTH_ALLOWED_CLIENTS'));

  const config: Config = {
    env: nodeEnv as Config['env'],
    host: get('HOST')!,
    port: int('PORT', get('PORT'), 0, 65535),
    logLevel: (() => {
      const l = get('LOG_LEVEL')!;
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(l)) throw new ConfigError('LOG_LEVEL', `unknown level ${JSON.stringify(l)}`);
      return l;
    })(),
    shutdownGraceMs: int('SHUTDOWN_GRACE_MS', get('SHUTDOWN_GRACE_MS'), 0, 600_000),
    auth: {
      issuers,
      front: (() => {
        const f = get('AUTH_FRONT')!.trim().toLowerCase();
        if (!(FRONTS as readonly string[]).includes(f)) throw new ConfigError('AUTH_FRONT', `unknown front ${JSON.stringify(f)}; use ${FRONTS.join(', ')}`);
        return f as Front;
      })(),
      clockToleranceS: tolerance,
      maxTokenBytes: int('AUTH_MAX_TOKEN_BYTES', get('AUTH_MAX_TOKEN_BYTES'), 256, 65536),
      jwks: {
        cacheTtlS: int('AUTH_JWKS_CACHE_TTL_S', get('AUTH_JWKS_CACHE_TTL_S'), 1, 86400),
        cooldownS: int('AUTH_JWKS_COOLDOWN_S', get('AUTH_JWKS_COOLDOWN_S'), 0, 3600),
        timeoutMs: int('AUTH_JWKS_TIMEOUT_MS', get('AUTH_JWKS_TIMEOUT_MS'), 100, 60000),
      },
      allowedClients: allowed.length ? allowed : null,
      requireEmailVerified: bool('AUTH_REQUIRE_EMAIL_VERIFIED', get('AUTH_REQUIRE_EMAIL_VERIFIED')),
      routeRules: parseRouteRules('AUTH_ROUTE_RULES', get('AUTH_ROUTE_RULES')!),
      decisionCache: {
        ttlS: int('AUTH_DECISION_CACHE_TTL_S', get('AUTH_DECISION_CACHE_TTL_S'), 0, 3600),
        max: int('AUTH_DECISION_CACHE_MAX', get('AUTH_DECISION_CACHE_MAX'), 1, 1_000_000),
      },
    },
    supabase,
    quota: {
      routes: parseRouteList('QUOTA_ROUTES', get('QUOTA_ROUTES') ?? ''),
      defaultTicks: int('QUOTA_DEFAULT_TICKS', get('QUOTA_DEFAULT_TICKS'), 1, 1_000_000),
      defaultDailyTicks: int('QUOTA_DEFAULT_DAILY_TICKS', get('QUOTA_DEFAULT_DAILY_TICKS'), 1, 1_000_000_000),
      timezone,
      failOpen,
      trustChargeId: bool('QUOTA_TRUST_CHARGE_ID', get('QUOTA_TRUST_CHARGE_ID')),
    },
    database,
  };
  return deepFreeze(config);
}

/**
 * The quota store's settings alone (DATABASE_*, DATA_DIR, MIGRATE_ON_START, QUOTA_DEFAULT_DAILY_TICKS,
 * QUOTA_TIMEZONE): what `npm run migrate` and `npm run quota` need, without any issuer.
 */
export function parseStoreConfig(env: RawEnv): { database: Config['database']; timezone: string } {
  const get = reader(env);
  const production = get('NODE_ENV') === 'production';
  const timezone = get('QUOTA_TIMEZONE')!;
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: timezone });
  } catch {
    throw new ConfigError('QUOTA_TIMEZONE', `${JSON.stringify(timezone)} is not an IANA time zone (e.g. UTC, Europe/Berlin)`);
  }
  const ssl = get('DATABASE_SSL')!;
  if (!['false', 'require', 'verify-full'].includes(ssl)) throw new ConfigError('DATABASE_SSL', `must be false, require or verify-full, got ${JSON.stringify(ssl)}`);
  const dbUrl = get('DATABASE_URL');
  if (dbUrl !== undefined && !/^postgres(ql)?:\/\//.test(dbUrl)) throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  const migrateRaw = get('MIGRATE_ON_START');
  return {
    timezone,
    database: {
      url: dbUrl,
      dataDir: get('DATA_DIR')!,
      poolMax: int('DATABASE_POOL_MAX', get('DATABASE_POOL_MAX'), 1, 1000),
      statementTimeoutMs: int('DATABASE_STATEMENT_TIMEOUT_MS', get('DATABASE_STATEMENT_TIMEOUT_MS'), 0, 600_000),
      ssl: ssl === 'false' ? false : (ssl as 'require' | 'verify-full'),
      defaultDailyTicks: int('QUOTA_DEFAULT_DAILY_TICKS', get('QUOTA_DEFAULT_DAILY_TICKS'), 1, 1_000_000_000),
      migrateOnStart: migrateRaw === undefined ? !production : bool('MIGRATE_ON_START', migrateRaw),
    },
  };
}
