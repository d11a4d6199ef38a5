#!/bin/sh
# Turns keys.env into one file per secret under .secrets/, the files compose.yaml mounts as Docker
# secrets (/run/secrets/<name>, read through the validator's `<NAME>_FILE` variables).
#
#   sh deploy/compose/secrets.sh [keys.env] [.secrets]
#
# Database, Keycloak admin and gateway client passwords left empty in keys.env are generated
# (and written back nowhere: the .secrets/ file is then the only copy). Existing files are kept
# unless keys.env gives a value, so re-running never rotates a password behind Postgres's back.
# keys.env: plain NAME=value lines; `#` comments; optional single or double quotes around values.
set -eu
umask 077

KEYS_FILE="${1:-keys.env}"
OUT_DIR="${2:-.secrets}"

if [ ! -f "$KEYS_FILE" ]; then
  echo "secrets.sh: $KEYS_FILE not found; copy keys.env.example to keys.env and fill it in" >&2
  exit 1
fi

# value NAME: the last NAME=... line of keys.env, quotes stripped; empty when absent.
value() {
  sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$KEYS_FILE" | tail -n 1 |
    sed -e 's/[[:space:]]*$//' -e "s/^\"\(.*\)\"$/\1/" -e "s/^'\(.*\)'$/\1/"
}

random_secret() {
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

mkdir -p "$OUT_DIR"
chmod 700 "$OUT_DIR"

# write NAME CONTENT: 0644 inside the 0700 directory. Compose bind-mounts the file into containers
# whose users differ (postgres 999, node 1000, keycloak 1000), so it must be world-readable there;
# the directory keeps other users of this machine out.
write() {
  printf '%s' "$2" > "$OUT_DIR/$1"
  chmod 644 "$OUT_DIR/$1"
}

# secret FILE VAR generate|empty: value from keys.env, else the existing file, else generated/empty.
secret() {
  v="$(value "$2")"
  if [ -n "$v" ]; then
    write "$1" "$v"
  elif [ ! -f "$OUT_DIR/$1" ]; then
    if [ "$3" = generate ]; then write "$1" "$(random_secret)"; else write "$1" ""; fi
  fi
}

secret postgres_password POSTGRES_PASSWORD generate
secret keycloak_db_password KEYCLOAK_DB_PASSWORD generate
secret keycloak_admin_password KEYCLOAK_ADMIN_PASSWORD generate
secret gateway_client_secret GATEWAY_CLIENT_SECRET generate
secret supabase_url SUPABASE_URL empty
secret supabase_jwt_secret SUPABASE_JWT_SECRET empty
secret supabase_anon_key SUPABASE_ANON_KEY empty

# The validator's DATABASE_URL: an explicit one from keys.env (e.g. a managed Postgres), else the
# compose postgres service with the password above (hex, so no URL escaping is needed when generated).
url="$(value DATABASE_URL)"
if [ -z "$url" ]; then
  pw="$(cat "$OUT_DIR/postgres_password")"
  case "$pw" in
    *[!A-Za-z0-9._~-]*)
      echo "secrets.sh: POSTGRES_PASSWORD has characters that need URL-encoding; set DATABASE_URL in $KEYS_FILE yourself" >&2
      exit 1 ;;
  esac
  url="postgres://tollgate:${pw}@postgres:5432/tollgate"
fi
write database_url "$url"

echo "secrets.sh: wrote $(ls "$OUT_DIR" | wc -l | tr -d ' ') files to $OUT_DIR/ (values not shown)"
