// Every configuration variable tollgate reads, declared once: its parser (type and range), default
// or whether it is required, meaning, secrecy and doc group. parseConfig reads values through this
// table only; docs/CONFIGURATION.md and .env.example are generated from it and tested against it.
import { ASYMMETRIC_ALGORITHMS } from '../lib/algorithms';
import { MAX_DAILY_LIMIT } from '../lib/daily-limit';
import { PRESET_NAMES } from '../lib/presets';
import { algorithmAdvice, issuerList } from './issuer-entries';
import { AUTH_SUBJECT_PREFIX_VARIABLE, SUPABASE_SUBJECT_PREFIX_VARIABLE } from './subjects';
import { bool, httpUrl, int, list, oneOf, postgresUrl, supabaseAnonKey, text, timeZone, type Parser } from './parsers';
import { parseRouteList, parseRouteRules } from './routes';
import { LISTEN_SOCKET_VARIABLES } from './listen-socket';
import { DPOP_VARIABLES, INTROSPECTION_VARIABLES } from './schema-bindings';

export type Group = 'server' | 'auth' | 'jwks' | 'introspection' | 'dpop' | 'supabase' | 'routes' | 'quota' | 'database' | 'cache';

export interface VariableDef<T = unknown> {
  readonly group: Group;
  /** Turns the raw value (or the default) into the typed value; throws a ConfigError naming the fix. */
  readonly parse: Parser<T>;
  /** Default as written in the environment; it goes through `parse` like a value. */
  readonly default?: string;
  /** No default, and tollgate needs it: when (checked by the cross-field rules in issuers.ts). */
  readonly required?: string;
  /** No default, and unset has a meaning of its own (said in `doc`). */
  readonly optional?: true;
  /** One line: meaning, unit, when it applies. */
  readonly doc: string;
  /** A secret: never logged or echoed, should come from keys.env or `<NAME>_FILE`. */
  readonly secret?: boolean;
}

const NODE_ENVS = ['development', 'test', 'production'] as const;
const AUTH_MODES = ['jwks', 'supabase', 'hs256'] as const;
/** The fronts tollgate can sit behind (AUTH_FRONT); validator/http/front.ts reads each one's headers. */
export type Front = 'nginx' | 'forwarded' | 'envoy';
const FRONTS: readonly Front[] = ['nginx', 'forwarded', 'envoy'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Declares one variable (keeps each entry's value type for `Values`). */
const v = <T>(d: VariableDef<T>): VariableDef<T> => Object.freeze(d);

/** The table, in the order of the generated docs within each group. */
export const VARIABLES = Object.freeze({
  NODE_ENV: v({
    group: 'server',
    parse: oneOf(NODE_ENVS),
    default: 'development',
    doc: '`development`, `test` or `production`. Production refuses unsafe settings at start-up.',
  }),
  HOST: v({ group: 'server', parse: text, default: '127.0.0.1', doc: 'Listen address; `0.0.0.0` in containers.' }),
  PORT: v({ group: 'server', parse: int(0, 65535), default: '3000', doc: 'Listen port (0 = any free port, printed in the `listening` log line).' }),
  ...LISTEN_SOCKET_VARIABLES,
  LOG_LEVEL: v({
    group: 'server',
    parse: oneOf(LOG_LEVELS, { refuse: (l) => `unknown level ${JSON.stringify(l)}; use ${LOG_LEVELS.join(', ')}` }),
    default: 'info',
    doc: 'pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
  }),
  SHUTDOWN_GRACE_MS: v({
    group: 'server',
    parse: int(0, 600_000),
    default: '10000',
    doc: 'On SIGTERM, how long in-flight decisions may take before the process exits anyway (ms).',
  }),
  TOLLGATE_TRACING: v({
    group: 'server',
    parse: oneOf(['off', 'otlp'] as const, { fold: true }),
    default: 'off',
    doc: '`otlp`: OpenTelemetry spans of each decision and its stages (JWKS fetch, store call) exported over OTLP/HTTP, set up by the standard `OTEL_*` variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`…), which the SDK reads itself. `off`: the SDK is not even loaded. Read at start-up only.',
  }),

  AUTH_ISSUERS: v({
    group: 'auth',
    parse: issuerList,
    optional: true,
    doc: 'Trusted issuers, a JSON array; usable alone or beside `AUTH_MODE` (one `iss`, one entry). Entry: `issuer` (exact `iss`), `audience` (string or array), optional `jwksUrl` (default: discovery), `algorithms` (default `RS256`,`ES256` or the preset\'s; RS/PS/ES 256–512, EdDSA), `tokenTypes` (accepted header `typ`; default `JWT`, `at+jwt` or none; `["at+jwt"]` enforces RFC 9068), `preset` (keycloak, auth0, entra, okta, cognito, google), `claims` (`subject`, `scopes`, `roles`, `email`, `clientId` paths), `hmacSecret`/`hmacSecretFile` (an HS256 issuer), `subjectPrefix` (put before the subject in `X-User-Id` and the quota key; production with several issuers needs one stated per issuer, `""` for issuers that share users), or `"kind": "supabase"` with `url`. See docs/IDENTITY-PROVIDERS.md.',
  }),
  AUTH_MODE: v({
    group: 'auth',
    parse: list(oneOf(AUTH_MODES, { refuse: (m) => `unknown mode ${JSON.stringify(m)}; use jwks, supabase and/or hs256` })),
    required: 'unless `AUTH_ISSUERS` is set',
    doc: 'The single-issuer shorthand, comma-separated: `jwks` (Keycloak or any OIDC IdP: `AUTH_ISSUER`…), `supabase` (`SUPABASE_URL`…), `hs256`. Each is one issuer; `AUTH_ISSUERS` lists any number. In development `npm start` sets it.',
  }),
  AUTH_ISSUER: v({
    group: 'auth',
    parse: httpUrl,
    required: 'with `jwks` or `hs256`',
    doc: 'Expected `iss` for `jwks` and `hs256` modes, e.g. `https://auth.example.com/realms/wavestack`.',
  }),
  AUTH_AUDIENCE: v({
    group: 'auth',
    parse: list(),
    required: 'with `jwks` or `hs256`',
    doc: 'Accepted `aud` value(s) for `jwks` and `hs256`, comma-separated; the token must carry at least one.',
  }),
  AUTH_JWKS_URL: v({
    group: 'jwks',
    parse: httpUrl,
    optional: true,
    doc: 'JWKS of the `jwks` issuer. Default: `jwks_uri` from `${AUTH_ISSUER}/.well-known/openid-configuration`.',
  }),
  AUTH_ALGORITHMS: v({
    group: 'auth',
    parse: list(oneOf(ASYMMETRIC_ALGORITHMS, { refuse: (a) => `${JSON.stringify(a)} is not allowed: ${algorithmAdvice([a])}` })),
    default: 'RS256,ES256',
    doc: `Signature algorithms accepted from the \`jwks\` issuer: any of ${ASYMMETRIC_ALGORITHMS.join(', ')} (with \`AUTH_PRESET\`, unset means the preset's).`,
  }),
  AUTH_PRESET: v({
    group: 'auth',
    parse: oneOf(PRESET_NAMES, { refuse: (p) => `unknown preset ${JSON.stringify(p)}; use ${PRESET_NAMES.filter((n) => n !== 'supabase').join(', ')}` }),
    optional: true,
    doc: 'Claim mapping and audience hints of a known IdP for the `AUTH_ISSUER` issuer: keycloak, auth0, entra, okta, cognito or google (see docs/IDENTITY-PROVIDERS.md). Unset: `scope`/`scp`, `roles`, `email`, `azp`/`client_id`.',
  }),
  ...AUTH_SUBJECT_PREFIX_VARIABLE,
  AUTH_JWT_SECRET: v({
    group: 'auth',
    parse: text,
    secret: true,
    required: 'with `hs256`',
    doc: 'HS256 shared secret for `hs256` mode (at least 32 bytes in production).',
  }),
  AUTH_CLOCK_TOLERANCE_S: v({ group: 'auth', parse: int(0, 300), default: '30', doc: 'Leeway applied to `exp`, `nbf` and `iat` (seconds, 0–300).' }),
  AUTH_MAX_TOKEN_BYTES: v({ group: 'auth', parse: int(256, 65536), default: '8192', doc: 'Tokens longer than this are refused before parsing (bytes).' }),
  AUTH_JWKS_CACHE_TTL_S: v({
    group: 'jwks',
    parse: int(1, 86400),
    default: '600',
    doc: 'How long fetched keys are fresh; they are refreshed in the background before that (seconds).',
  }),
  AUTH_JWKS_COOLDOWN_S: v({
    group: 'jwks',
    parse: int(0, 3600),
    default: '30',
    doc: 'An unknown `kid` triggers at most one JWKS refetch per this interval (seconds).',
  }),
  AUTH_JWKS_TIMEOUT_MS: v({ group: 'jwks', parse: int(100, 60000), default: '5000', doc: 'Timeout of one discovery or JWKS fetch (ms).' }),
  ...INTROSPECTION_VARIABLES,
  AUTH_FRONT: v({
    group: 'auth',
    parse: oneOf(FRONTS, { fold: true, refuse: (f) => `unknown front ${JSON.stringify(f)}; use ${FRONTS.join(', ')}` }),
    default: 'nginx',
    doc: 'How the front sends the original request: `nginx` (X-Original-Method/URI: NGINX auth_request, ingress-nginx), `forwarded` (X-Forwarded-Method/Uri: Traefik forwardAuth, Caddy forward_auth) or `envoy` (ext_authz HTTP with path_prefix `/api/auth/validate`). Only that spelling is read; without it a request is refused (400) whenever route rules or charged routes exist.',
  }),
  AUTH_MTLS_TRUST_HEADER: v({
    group: 'auth',
    parse: bool,
    default: 'false',
    doc: "`true`: read the client certificate's thumbprint (base64url SHA-256 of its DER, RFC 8705 §3.1) from `X-Client-Cert-S256`, so that a token bound to a certificate (`cnf` `x5t#S256`) passes with that certificate. Only behind a front that sets the header from the TLS connection and never passes a client's: tollgate's NGINX template does (with `GATEWAY_MTLS`); ingress-nginx, Caddy `forward_auth` and Traefik `forwardAuth` pass the client's headers unless configured otherwise, and the thumbprint is no secret (it is in the token). `false`: the header is ignored and every certificate-bound token is refused (401 `client_certificate_missing`); unbound tokens are unaffected either way.",
  }),
  AUTH_ALLOWED_CLIENTS: v({
    group: 'auth',
    parse: list(),
    optional: true,
    doc: 'If set, only tokens whose `azp` / `client_id` is in this comma list pass (`client_not_allowed`).',
  }),
  AUTH_REQUIRE_EMAIL_VERIFIED: v({
    group: 'auth',
    parse: bool,
    default: 'false',
    doc: "`jwks`/`hs256` issuers: tokens that identify a person (carry `email`) must have `email_verified: true`. Either way `X-User-Email` is only sent for a verified address (`email_verified: true`, or Supabase's `email_confirmed_at`).",
  }),
  AUTH_ROUTE_RULES: v({
    group: 'routes',
    parse: (raw, name) => parseRouteRules(name, raw),
    default: '[]',
    doc: 'What each route requires, JSON: `{"POST /api/": ["api:write"], "GET /api/": ["api:read"]}` or `[{"method":"POST","path":"/api/","scopes":["api:write"]}]`. A rule\'s value is scopes, or `{"scopes": […], "roles": […], "claims": {"aal": "aal2", "app_metadata.plan": ["pro", "team"]}, "any": [{…}, {…}]}`: everything listed must hold, and one of `any`. Claim names may be dotted paths; a claim holds when it equals one of the values (`===`) or, an array, contains one. Longest matching path prefix wins, compared case-insensitively, on a segment boundary (`/api/tasks` covers `/api/tasks/1` and, as Rails reads a format suffix, `/api/tasks.json`; not `/api/tasksx`); method `*` matches any; HEAD must also pass the GET rule. Scopes are RFC 6749 scope-tokens (no comma); a token scope containing a comma is dropped and never meets a rule. Default: nothing required.',
  }),
  AUTH_DEFAULT_POLICY: v({
    group: 'routes',
    parse: oneOf(['allow', 'deny'] as const, { fold: true }),
    default: 'allow',
    doc: 'A route that no `AUTH_ROUTE_RULES` rule matches: `allow` lets any valid token through; `deny` refuses it (403 `route_not_allowed`), so only routes with a rule are reachable (a rule with no requirement, `[]`, opens one to any valid token).',
  }),
  AUTH_DECISION_CACHE_TTL_S: v({
    group: 'cache',
    parse: int(0, 3600),
    default: '60',
    doc: 'A verified token is not verified again for at most this long (and never past its `exp`); also caps how long the NGINX edge decision cache keeps a grant; 0 disables both (seconds).',
  }),
  AUTH_DECISION_CACHE_MAX: v({ group: 'cache', parse: int(1, 1_000_000), default: '10000', doc: 'Entries in the verified-token cache (LRU).' }),

  ...DPOP_VARIABLES,
  SUPABASE_URL: v({
    group: 'supabase',
    parse: httpUrl,
    required: 'with `supabase`',
    doc: 'Supabase project URL for `supabase` mode; issuer `${SUPABASE_URL}/auth/v1`, audience `authenticated`, JWKS `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`.',
  }),
  ...SUPABASE_SUBJECT_PREFIX_VARIABLE,
  SUPABASE_JWT_SECRET: v({
    group: 'supabase',
    parse: text,
    secret: true,
    optional: true,
    doc: 'Legacy HS256 JWT secret of the Supabase project. Optional once the project uses asymmetric signing keys.',
  }),
  SUPABASE_ANON_KEY: v({
    group: 'supabase',
    parse: supabaseAnonKey,
    secret: true,
    optional: true,
    doc: 'Publishable/anon key of the project. The validator does not use it; it is accepted so that one keys.env serves the whole Supabase setup, and a service-role or `sb_secret_` key here is refused (it bypasses RLS).',
  }),
  SUPABASE_ALLOW_ANONYMOUS: v({ group: 'supabase', parse: bool, default: 'false', doc: 'Let Supabase anonymous users (`is_anonymous: true`) pass.' }),
  SUPABASE_ALLOW_UNCONFIRMED: v({
    group: 'supabase',
    parse: bool,
    default: 'false',
    doc: 'Let Supabase users with an unconfirmed email pass. Development only: refused in production.',
  }),

  DATABASE_URL: v({
    group: 'database',
    parse: postgresUrl,
    secret: true,
    optional: true,
    doc: 'Postgres server URL for quotas. Unset: the embedded Postgres (PGlite) in `DATA_DIR`.',
  }),
  DATA_DIR: v({ group: 'database', parse: text, default: './.data', doc: 'Data directory of the embedded Postgres (`memory://` for a throw-away one).' }),
  DATABASE_POOL_MAX: v({
    group: 'database',
    parse: int(1, 1000),
    default: '10',
    doc:
      'Maximum pooled connections to the Postgres server. A charge holds one for a round trip and its commit (an fsync); charges beyond it queue, ' +
      'and commits share an fsync only when several are in flight. With Postgres on the same 2 cores, 2 or 4 gave about a third fewer charges a second ' +
      'than 10, and 20 or 50 no more (bench/charged-load.js). Keep it × validator instances below `max_connections` of the server (or the client limit of a pooler).',
  }),
  DATABASE_STATEMENT_TIMEOUT_MS: v({
    group: 'database',
    parse: int(0, 600_000),
    default: '2000',
    doc: 'Server-side statement timeout; a charge that takes longer fails closed with 503 (ms). Connecting times out after 3 s.',
  }),
  DATABASE_SSL: v({
    group: 'database',
    parse: oneOf(['false', 'require', 'verify-full'] as const),
    default: 'false',
    doc: 'TLS to Postgres: `false`, `require` (encrypted) or `verify-full` (encrypted, CA and host checked).',
  }),
  MIGRATE_ON_START: v({
    group: 'database',
    parse: bool,
    optional: true,
    doc: 'Apply pending migrations at start-up. Default `true` in development, `false` in production.',
  }),

  QUOTA_ROUTES: v({
    group: 'quota',
    parse: (raw, name) => parseRouteList(name, raw),
    default: 'POST /api/tasks',
    doc: 'Quota-charged routes, comma-separated `METHOD /path-prefix`, matched like `AUTH_ROUTE_RULES` (path prefix, letter case ignored: `POST /api/TASKS` is charged). An empty value takes the default, like every variable; a lone `,` charges nothing.',
  }),
  QUOTA_DEFAULT_TICKS: v({
    group: 'quota',
    parse: int(1, 1_000_000),
    default: '1',
    doc: 'Ticks charged when the request carries no `X-Max-Ticks` header or `max_ticks` query parameter.',
  }),
  QUOTA_DEFAULT_DAILY_TICKS: v({
    group: 'quota',
    parse: int(1, MAX_DAILY_LIMIT),
    default: '32',
    doc: 'Daily tick limit of a profile created on its first charge.',
  }),
  QUOTA_TIMEZONE: v({ group: 'quota', parse: timeZone, default: 'UTC', doc: 'IANA time zone whose midnight resets the daily quota.' }),
  QUOTA_TRUST_CHARGE_ID: v({
    group: 'quota',
    parse: bool,
    default: 'false',
    doc: "`true`: charge each `X-Tollgate-Charge-Id` (32 lower-case hex) once per user, so a decision the front retries on another instance is not charged twice. Only behind a front that sets that header to its own random id of every client request and never passes a client's: tollgate's NGINX template does (compose sets `true`); ingress-nginx, Caddy `forward_auth` and Traefik `forwardAuth` pass the client's headers to the validator unless configured otherwise, and a client that picks the id can make two requests count as one. `false`: the header is ignored and every decision charges.",
  }),
  QUOTA_FAIL_OPEN: v({
    group: 'quota',
    parse: bool,
    default: 'false',
    doc: 'When the database is unreachable, let charged routes pass uncharged instead of 503 (logged as a warning at start-up and on every such pass).',
  }),
});

export type VariableName = keyof typeof VARIABLES;
/** The parsed type of one variable. */
type ValueOf<K extends VariableName> = (typeof VARIABLES)[K] extends VariableDef<infer T> ? T : never;
/** Parsed values; undefined when unset without a default, or when the value was refused. */
export type Values = { [K in VariableName]: ValueOf<K> | undefined };

/** The table as a list, for the docs generator, deployment checks and tests. */
export const CONFIG_VARIABLES: ReadonlyArray<VariableDef & { readonly name: string }> = Object.freeze(
  (Object.keys(VARIABLES) as VariableName[]).map((name) => Object.freeze({ name, ...VARIABLES[name] })),
);
