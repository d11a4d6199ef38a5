-- Supabase-compatible `auth` schema for plain Postgres and PGlite; a no-op on Supabase.
-- Every object is created only when missing: on Supabase, auth.uid(), auth.users and the
-- anon/authenticated roles already exist and belong to Supabase, so we never replace them.
-- Statements are idempotent so this file can also be pasted into a SQL editor and re-run.

-- Roles are cluster-wide: two databases migrated at once (parallel tests, two validators)
-- can race between the NOT EXISTS check and CREATE ROLE, hence the exception handlers.
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
    BEGIN
      CREATE ROLE anon NOLOGIN NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    BEGIN
      CREATE ROLE authenticated NOLOGIN NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END
$roles$;

-- Wrapped in DO blocks rather than IF NOT EXISTS: CREATE SCHEMA/TABLE IF NOT EXISTS still
-- checks the CREATE privilege first, which a Supabase migration role may lack on `auth`.
DO $schema$
BEGIN
  IF to_regnamespace('auth') IS NULL THEN
    CREATE SCHEMA auth;
    GRANT USAGE ON SCHEMA auth TO anon, authenticated;
  END IF;
END
$schema$;

-- Same contract as Supabase's auth.uid(): the `sub` claim PostgREST puts in
-- request.jwt.claims. Returns text because our subjects are opaque (Keycloak, other IdPs),
-- whereas Supabase's returns uuid; policies compare `auth.uid()::text`, which fits both.
-- nullif: once a transaction has set the GUC, current_setting(..., true) yields '' not NULL.
DO $uid$
BEGIN
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS text
      LANGUAGE sql STABLE
      AS $fn$ SELECT nullif(current_setting('request.jwt.claims', true), '')::json ->> 'sub' $fn$;
  END IF;
END
$uid$;

-- Minimal stand-in for Supabase's auth.users: only what tollgate reads (email confirmation)
-- plus the trigger hook. `id` is text here; on Supabase it is uuid and the store adapts.
DO $users$
BEGIN
  IF to_regclass('auth.users') IS NULL THEN
    CREATE TABLE auth.users (
      id text PRIMARY KEY,
      email text,
      email_confirmed_at timestamptz,
      raw_user_meta_data jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  END IF;
END
$users$;
