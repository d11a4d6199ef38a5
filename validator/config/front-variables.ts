// Names of the variables that tollgate's fronts and deployment files read, not the validator: one
// list that devkit/nginx.ts and devkit/caddy.ts type their defaults against, and that the
// validator's unknown-variable check (unknown.ts) accepts when a shared environment carries them.
// A leaf: no imports.

/** Read by nginx/templates (rendered by devkit/nginx.ts and the official NGINX image's envsubst). */
export const GATEWAY_VARIABLES = [
  'GATEWAY_LISTEN_ADDR',
  'GATEWAY_HTTPS_PORT',
  'GATEWAY_HTTP_PORT',
  'GATEWAY_REDIRECT_HTTPS_PORT',
  'GATEWAY_SERVER_NAME',
  'GATEWAY_TLS_CERT',
  'GATEWAY_TLS_KEY',
  'GATEWAY_HSTS_MAX_AGE',
  'GATEWAY_VALIDATOR_SERVERS',
  'GATEWAY_APP_SERVERS',
  'GATEWAY_FILES_ROOT',
  'GATEWAY_PUBLIC_PATHS',
  'GATEWAY_RATE_PER_IP',
  'GATEWAY_BURST_PER_IP',
  'GATEWAY_RATE_PER_CREDENTIAL',
  'GATEWAY_BURST_PER_CREDENTIAL',
  'CORS_ORIGINS',
  'GATEWAY_ACCESS_LOG',
  'GATEWAY_AUTH_CACHE',
  'GATEWAY_MTLS',
  'GATEWAY_CLIENT_CA',
] as const;
export type GatewayVariable = (typeof GATEWAY_VARIABLES)[number];

/** Read by deploy/caddy/Caddyfile besides some GATEWAY_* ones (rendered by devkit/caddy.ts). */
export const CADDY_VARIABLES = ['CADDY_VALIDATORS', 'CADDY_APPS', 'CADDY_SERVER_ALIASES'] as const;
export type CaddyVariable = (typeof CADDY_VARIABLES)[number];

/**
 * Read outside any tollgate process, yet under its prefixes: compose.yaml's interpolation
 * (GATEWAY_CERTS_DIR, TOLLGATE_TAG), the Keycloak realm import and keys.env (GATEWAY_CLIENT_SECRET),
 * scripts/smoke.sh (GATEWAY_URL) and the test harness (TOLLGATE_E2E_STUB, TOLLGATE_TEST_TMPDIR).
 */
export const TOOL_VARIABLES = [
  'GATEWAY_CERTS_DIR',
  'GATEWAY_CLIENT_SECRET',
  'GATEWAY_URL',
  'TOLLGATE_TAG',
  'TOLLGATE_E2E_STUB',
  'TOLLGATE_TEST_TMPDIR',
] as const;
