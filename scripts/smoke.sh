#!/usr/bin/env bash
# Smoke test of a running tollgate gateway: token, public health, 401 without a token,
# identity with one, spoofing ignored, one charged call. Stops at the first failure.
#
#   GATEWAY_URL    https://localhost:8443           (required)
#   TOKEN_URL      the IdP's token endpoint           (required)
#   CLIENT_ID      a client_credentials client        (required)
#   CLIENT_SECRET  its secret                         (required)
#   CURL_CA_FILE   PEM to trust for the gateway (e.g. .certs/localhost.crt)   optional
#   CURL_INSECURE  1 = do not verify the gateway's certificate                optional
#   SMOKE_PATH     protected path to call (default /api/whoami)
#   SMOKE_TASK_PATH  charged route (default /api/tasks)
#
# Works unchanged against the local stack (`npm start`) and a real Keycloak deployment.
set -euo pipefail

for v in GATEWAY_URL TOKEN_URL CLIENT_ID CLIENT_SECRET; do
  if [[ -z "${!v:-}" ]]; then echo "smoke: $v is not set" >&2; exit 2; fi
done
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool is required" >&2; exit 2; }
done

GATEWAY_URL=${GATEWAY_URL%/}
SMOKE_PATH=${SMOKE_PATH:-/api/whoami}
SMOKE_TASK_PATH=${SMOKE_TASK_PATH:-/api/tasks}
gw_tls=()
[[ -n "${CURL_CA_FILE:-}" ]] && gw_tls+=(--cacert "$CURL_CA_FILE")
[[ "${CURL_INSECURE:-0}" == 1 ]] && gw_tls+=(--insecure)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checks=0

# call NAME CURL_ARGS... → sets $status, body in $tmp/body, headers in $tmp/headers
call() {
  status=$(curl -sS --max-time 10 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@") || status="curl-error-$?"
}
header() { grep -i "^$1:" "$tmp/headers" | tail -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
fail() {
  echo "FAIL - $1" >&2
  echo "  expected: $2" >&2
  echo "  got:      $3" >&2
  [[ -s "$tmp/body" ]] && echo "  body:     $(head -c 400 "$tmp/body")" >&2
  exit 1
}
ok() { checks=$((checks + 1)); echo "ok - $1"; }
expect_status() { [[ "$status" == "$2" ]] || fail "$1" "HTTP $2" "HTTP $status"; }

# 1. A client_credentials token from the IdP.
call -X POST "$TOKEN_URL" -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials
expect_status "token from $TOKEN_URL" 200
token=$(jq -r '.access_token // empty' "$tmp/body")
[[ -n "$token" ]] || fail "token response has access_token" "a non-empty access_token" "$(head -c 200 "$tmp/body")"
ok "client_credentials token for $CLIENT_ID"

# 2. Public health through the gateway.
call "${gw_tls[@]}" "$GATEWAY_URL/api/health"
expect_status "GET /api/health" 200
ok "GET /api/health → 200"

# 3. No token → 401 with a Bearer challenge.
call "${gw_tls[@]}" "$GATEWAY_URL$SMOKE_PATH"
expect_status "GET $SMOKE_PATH without a token" 401
[[ "$(header WWW-Authenticate)" == Bearer* ]] || fail "401 carries WWW-Authenticate" "Bearer realm=..." "$(header WWW-Authenticate)"
ok "GET $SMOKE_PATH without a token → 401 + WWW-Authenticate"

# 4. With the token → 200 and the upstream sees X-User-Id.
call "${gw_tls[@]}" -H "Authorization: Bearer $token" "$GATEWAY_URL$SMOKE_PATH"
expect_status "GET $SMOKE_PATH with the token" 200
user=$(jq -r '.headers["x-user-id"] // empty' "$tmp/body" 2>/dev/null || true)
[[ -n "$user" ]] || fail "upstream echoes X-User-Id" "a non-empty headers.x-user-id" "$(head -c 200 "$tmp/body")"
ok "GET $SMOKE_PATH with the token → 200, X-User-Id=$user"

# 5. A spoofed X-User-Id never reaches the upstream.
call "${gw_tls[@]}" -H "Authorization: Bearer $token" -H "X-User-Id: admin" -H "X-Scopes: api:admin" "$GATEWAY_URL$SMOKE_PATH"
expect_status "GET $SMOKE_PATH with a spoofed X-User-Id" 200
spoofed=$(jq -r '.headers["x-user-id"] // empty' "$tmp/body")
[[ "$spoofed" == "$user" ]] || fail "spoofed X-User-Id is overwritten" "X-User-Id=$user" "X-User-Id=$spoofed"
ok "spoofed X-User-Id: admin ignored"

# 6. One charged call.
call "${gw_tls[@]}" -X POST -H "Authorization: Bearer $token" -H "X-Max-Ticks: 1" -H "Content-Type: application/json" -d '{}' "$GATEWAY_URL$SMOKE_TASK_PATH"
expect_status "POST $SMOKE_TASK_PATH with X-Max-Ticks: 1" 200
charged=$(header X-Ticks-Charged)
[[ "$charged" == 1 ]] || fail "charged call reports X-Ticks-Charged" "X-Ticks-Charged: 1" "X-Ticks-Charged: ${charged:-<missing>}"
ok "POST $SMOKE_TASK_PATH → 200, X-Ticks-Charged=1, X-Ticks-Remaining=$(header X-Ticks-Remaining)"

echo "all $checks checks passed against $GATEWAY_URL"
