#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory (docker-entrypoint-initdb.d):
# gives Keycloak its own login role and database, so it never shares tollgate's tables or credentials.
set -eu
pw="$(cat "${KEYCLOAK_DB_PASSWORD_FILE:?KEYCLOAK_DB_PASSWORD_FILE is not set}")"
# psql's :'pw' quotes the value as a literal, so any character in the password is safe.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v pw="$pw" <<'SQL'
CREATE ROLE keycloak LOGIN PASSWORD :'pw';
CREATE DATABASE keycloak OWNER keycloak;
SQL
