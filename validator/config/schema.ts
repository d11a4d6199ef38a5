// Every configuration variable tollgate reads: name, default, meaning. docs/CONFIGURATION.md and
// .env.example are checked against this list by a test, so they cannot drift from the code.

export interface VariableDef {
  name: string;
  /** Default as written in the environment; undefined = no default (optional or required by a rule). */
  default?: string;
  /** One line: meaning, unit, when it applies. */
  doc: string;
  /** A secret: never logged, should come from keys.env or `<NAME>_FILE`. */
  secret?: boolean;
  group: 'server' | 'auth' | 'jwks' | 'supabase' | 'routes' | 'quota' | 'database' | 'cache';
}

export const CONFIG_VARIABLES: readonly VariableDef[] = Object.freeze([
  { group: 'server', name: 'NODE_ENV', default: 'development', doc: '`development`, `test` or `production`. Production refuses unsafe settings at start-up.' },
  { group: 'server', name: 'HOST', default: '127.0.0.1', doc: 'Listen address; `0.0.0.0` in containers.' },
  { group: 'server', name: 'PORT', default: '3000', doc: 'Listen port (0 = any free port, printed in the `listening` log line).' },
  { group: 'server', name: 'LOG_LEVEL', default: 'info', doc: 'pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.' },
  { group: 'server', name: 'SHUTDOWN_GRACE_MS', default: '10000', doc: 'On SIGTERM, how long in-flight decisions may take before the process exits anyway (ms).' },
  { group: 'auth', name: 'AUTH_MODE', doc: 'Issuers to trust, comma-separated: `jwks` (Keycloak or any OIDC IdP), `supabase`, `hs256`. Required in production; in development `npm start` sets it.' },
  { group: 'auth', name: 'AUTH_ISSUER', doc: 'Expected `iss` for `jwks` and `hs256` modes, e.g. `https://auth.example.com/realms/wavestack`.' },
  { group: 'auth', name: 'AUTH_AUDIENCE', doc: 'Accepted `aud` value(s) for `jwks` and `hs256`, comma-separated; the token must carry at least one.' },
  { group: 'jwks', name: 'AUTH_JWKS_URL', doc: 'JWKS of the `jwks` issuer. Default: `jwks_uri` from `${AUTH_ISSUER}/.well-known/openid-configuration`.' },
  { group: 'auth', name: 'AUTH_ALGORITHMS', default: 'RS256,ES256', doc: 'Signature algorithms accepted from the `jwks` issuer: any of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.' },
  { group: 'auth', name: 'AUTH_JWT_SECRET', secret: true, doc: 'HS256 shared secret for `hs256` mode (at least 32 bytes in production).' },
  { group: 'auth', name: 'AUTH_CLOCK_TOLERANCE_S', default: '30', doc: 'Leeway applied to `exp`, `nbf` and `iat` (seconds, 0–300).' },
  { group: 'auth', name: 'AUTH_MAX_TOKEN_BYTES', default: '8192', doc: 'Tokens longer than this are refused before parsing (bytes).' },
  { group: 'jwks', name: 'AUTH_JWKS_CACHE_TTL_S', default: '600', doc: 'How long fetched keys are fresh; they are refreshed in the background before that (seconds).' },
  { group: 'jwks', name: 'AUTH_JWKS_COOLDOWN_S', default: '30', doc: 'An unknown `kid` triggers at most one JWKS refetch per this interval (seconds).' },
  { group: 'jwks', name: 'AUTH_JWKS_TIMEOUT_MS', default: '5000', doc: 'Timeout of one discovery or JWKS fetch (ms).' },
  { group: 'auth', name: 'AUTH_FRONT', default: 'nginx', doc: 'How the front sends the original request: `nginx` (X-Original-Method/URI: NGINX auth_request, ingress-nginx), `forwarded` (X-Forwarded-Method/Uri: Traefik forwardAuth, Caddy forward_auth) or `envoy` (ext_authz HTTP with path_prefix `/api/auth/validate`). Only that spelling is read; without it a request is refused (400) whenever route rules or charged routes exist.' },
  { group: 'auth', name: 'AUTH_ALLOWED_CLIENTS', doc: 'If set, only tokens whose `azp` / `client_id` is in this comma list pass (`client_not_allowed`).' },
  { group: 'auth', name: 'AUTH_REQUIRE_EMAIL_VERIFIED', default: 'false', doc: '`jwks`/`hs256` issuers: tokens that identify a person (carry `email`) must have `email_verified: true`. Either way `X-User-Email` is only sent for a verified address (`email_verified: true`, or Supabase\'s `email_confirmed_at`).' },
  { group: 'routes', name: 'AUTH_ROUTE_RULES', default: '[]', doc: 'Scopes required per route, JSON: `{"POST /api/": ["api:write"], "GET /api/": ["api:read"]}` or `[{"method":"POST","path":"/api/","scopes":["api:write"]}]`. Longest matching path prefix wins, compared case-insensitively; method `*` matches any. Scopes are RFC 6749 scope-tokens (no comma); a token scope containing a comma is dropped and never meets a rule. Default: no scope required.' },
  { group: 'cache', name: 'AUTH_DECISION_CACHE_TTL_S', default: '60', doc: 'A verified token is not verified again for at most this long (and never past its `exp`); 0 disables the cache (seconds).' },
  { group: 'cache', name: 'AUTH_DECISION_CACHE_MAX', default: '10000', doc: 'Entries in the verified-token cache (LRU).' },
  { group: 'supabase', name: 'SUPABASE_URL', doc: 'Supabase project URL for `supabase` mode; issuer `${SUPABASE_URL}/auth/v1`, audience `authenticated`, JWKS `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`.' },
  { group: 'supabase', name: 'SUPABASE_JWT_SECRET', secret: true, doc: 'Legacy HS256 JWT secret of the Supabase project. Optional once the project uses asymmetric signing keys.' },
  { group: 'supabase', name: 'SUPABASE_ANON_KEY', secret: true, doc: 'Publishable/anon key for RLS-scoped access. A service-role key is refused.' },
  { group: 'supabase', name: 'SUPABASE_ALLOW_ANONYMOUS', default: 'false', doc: 'Let Supabase anonymous users (`is_anonymous: true`) pass.' },
  { group: 'supabase', name: 'SUPABASE_ALLOW_UNCONFIRMED', default: 'false', doc: 'Let Supabase users with an unconfirmed email pass. Development only: refused in production.' },
  { group: 'database', name: 'DATABASE_URL', secret: true, doc: 'Postgres server URL for quotas. Unset: the embedded Postgres (PGlite) in `DATA_DIR`.' },
  { group: 'database', name: 'DATA_DIR', default: './.data', doc: 'Data directory of the embedded Postgres (`memory://` for a throw-away one).' },
  { group: 'database', name: 'DATABASE_POOL_MAX', default: '10', doc: 'Maximum pooled connections to the Postgres server.' },
  { group: 'database', name: 'DATABASE_STATEMENT_TIMEOUT_MS', default: '2000', doc: 'Server-side statement timeout; a charge that takes longer fails closed with 503 (ms). Connecting times out after 3 s.' },
  { group: 'database', name: 'DATABASE_SSL', default: 'false', doc: 'TLS to Postgres: `false`, `require` (encrypted) or `verify-full` (encrypted, CA and host checked).' },
  { group: 'database', name: 'MIGRATE_ON_START', doc: 'Apply pending migrations at start-up. Default `true` in development, `false` in production.' },
  { group: 'quota', name: 'QUOTA_ROUTES', default: 'POST /api/tasks', doc: 'Quota-charged routes, comma-separated `METHOD /path-prefix`, matched like `AUTH_ROUTE_RULES` (path prefix, letter case ignored: `POST /api/TASKS` is charged). An empty value takes the default, like every variable; a lone `,` charges nothing.' },
  { group: 'quota', name: 'QUOTA_DEFAULT_TICKS', default: '1', doc: 'Ticks charged when the request carries no `X-Max-Ticks` header or `max_ticks` query parameter.' },
  { group: 'quota', name: 'QUOTA_DEFAULT_DAILY_TICKS', default: '32', doc: 'Daily tick limit of a profile created on its first charge.' },
  { group: 'quota', name: 'QUOTA_TIMEZONE', default: 'UTC', doc: 'IANA time zone whose midnight resets the daily quota.' },
  { group: 'quota', name: 'QUOTA_TRUST_CHARGE_ID', default: 'false', doc: '`true`: charge each `X-Tollgate-Charge-Id` (32 lower-case hex) once per user, so a decision the front retries on another instance is not charged twice. Only behind a front that sets that header to its own random id of every client request and never passes a client\'s: tollgate\'s NGINX template does (compose sets `true`); ingress-nginx, Caddy `forward_auth` and Traefik `forwardAuth` pass the client\'s headers to the validator unless configured otherwise, and a client that picks the id can make two requests count as one. `false`: the header is ignored and every decision charges.' },
  { group: 'quota', name: 'QUOTA_FAIL_OPEN', default: 'false', doc: 'When the database is unreachable, let charged routes pass uncharged instead of 503 (logged as a warning at start-up and on every such pass).' },
] satisfies VariableDef[]);
