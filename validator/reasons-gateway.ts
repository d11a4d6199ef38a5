// The gateway's own reason codes (nginx/templates, nginx/njs, deploy/caddy): refusals made before
// or instead of asking the validator. Part of the one table in reasons.ts, which checks their shape.

export const GATEWAY_REASONS = {
  header_forbidden: {
    status: 400,
    emitter: 'gateway',
    doc: 'A client header of a gateway-owned family (`X-User*`, `X-Auth-*`, …) that the gateway does not strip (NGINX; Caddy deletes such headers instead).',
  },
  header_duplicate: {
    status: 400,
    emitter: 'gateway',
    doc: 'A second `X-Max-Ticks`, `DPoP` (or `Authorization`) header.',
  },
  token_in_uri: {
    status: 400,
    emitter: 'gateway',
    doc: 'A token-named parameter (`access_token`, `id_token`, `refresh_token`, `token`, in any spelling) in the URI or the `Referer`: no token in a log.',
  },
  host_unknown: {
    status: 421,
    emitter: 'gateway',
    doc: 'A `Host` (or request-line host, or HTTP/2 `:authority`) that is not in `GATEWAY_SERVER_NAME`: the application, which builds links from `Host` and `X-Forwarded-Host`, never sees a name the client chose.',
  },
  client_certificate_invalid: {
    status: 400,
    emitter: 'gateway',
    doc: 'With `GATEWAY_MTLS=optional`, the client certificate does not verify against `GATEWAY_CLIENT_CA` (another CA, expired): NGINX refuses the request before anything else.',
  },
  cors_origin_refused: {
    status: 403,
    emitter: 'gateway',
    doc: 'A CORS preflight from an origin not in `CORS_ORIGINS`.',
  },
  rate_limited: {
    status: 429,
    emitter: 'gateway',
    doc: "NGINX's per-IP or per-credential request rate limit (`GATEWAY_RATE_PER_IP`, `GATEWAY_RATE_PER_CREDENTIAL`).",
  },
  headers_too_large: {
    status: 431,
    emitter: 'gateway',
    doc: "The validator (Node) answered 431 to the forwarded headers: the client's headers are too large, not an outage.",
  },
  validator_unavailable: {
    status: 502,
    emitter: 'gateway',
    doc: 'No validator instance answered, or one answered a status the gateway does not map; fails closed, the app is never called.',
  },
  validator_timeout: {
    status: 504,
    emitter: 'gateway',
    doc: 'The validator did not answer in time (NGINX `proxy_read_timeout`, 5 s).',
  },
} as const;
