-- Daily tick quotas: profiles, per-day usage, RLS, the atomic consume_ticks() and the
-- Supabase-style trigger that creates a profile when an auth user signs up.
-- Idempotent (IF NOT EXISTS / OR REPLACE / DROP ... IF EXISTS) so it can be re-run safely.

-- A Supabase project often already has a `profiles` table from the starter templates
-- (id uuid references auth.users). CREATE TABLE IF NOT EXISTS would silently keep that
-- one and every charge would then fail obscurely, so refuse with a message instead.
DO $guard$
BEGIN
  IF to_regclass('public.profiles') IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'profiles' AND column_name = 'daily_tick_limit'
  ) THEN
    RAISE EXCEPTION 'public.profiles already exists without daily_tick_limit'
      USING HINT = 'See docs/SUPABASE_SETUP.md, "Existing profiles table".';
  END IF;
END
$guard$;

CREATE TABLE IF NOT EXISTS public.profiles (
  user_id text PRIMARY KEY,
  daily_tick_limit integer NOT NULL DEFAULT 32 CHECK (daily_tick_limit > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.user_daily_usage (
  user_id text NOT NULL,
  usage_date date NOT NULL,
  ticks_used integer NOT NULL DEFAULT 0 CHECK (ticks_used >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, usage_date)
);

-- For `quota top <date>`: the primary key leads with user_id, so it cannot serve it.
CREATE INDEX IF NOT EXISTS user_daily_usage_date_idx
  ON public.user_daily_usage (usage_date, ticks_used DESC);

ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_daily_usage ENABLE ROW LEVEL SECURITY;

-- Users may read their own rows, nothing else. `(select auth.uid())` is evaluated once per
-- statement instead of once per row (Supabase's RLS performance advice).
DROP POLICY IF EXISTS profiles_select_own ON public.profiles;
CREATE POLICY profiles_select_own ON public.profiles
  FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid())::text);

DROP POLICY IF EXISTS usage_select_own ON public.user_daily_usage;
CREATE POLICY usage_select_own ON public.user_daily_usage
  FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid())::text);

-- No INSERT/UPDATE/DELETE policy: with RLS on, users cannot write. Supabase also grants
-- table privileges to anon/authenticated by default; revoke the write ones too, so a
-- direct write fails loudly (permission denied) instead of silently matching zero rows.
REVOKE ALL ON public.profiles, public.user_daily_usage FROM PUBLIC, anon, authenticated;
GRANT SELECT ON public.profiles, public.user_daily_usage TO authenticated;

-- The only write path. Check and increment happen in ONE INSERT ... ON CONFLICT DO UPDATE
-- ... WHERE statement: the conflicting row is locked and the WHERE re-evaluated against its
-- latest committed version, so concurrent callers (several validators) can never push
-- ticks_used past the limit. A refused charge writes nothing.
CREATE OR REPLACE FUNCTION public.consume_ticks(
  p_user text, p_ticks integer, p_date date, p_default_limit integer
) RETURNS TABLE (status text, charged integer, used integer, daily_limit integer)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, public
AS $fn$
DECLARE
  v_limit integer;
  v_used integer;
BEGIN
  IF p_user IS NULL OR p_user = '' OR p_ticks IS NULL OR p_ticks <= 0 OR p_date IS NULL THEN
    RAISE EXCEPTION 'consume_ticks: user, a positive tick count and a date are required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- First charge creates the profile; an existing profile keeps its limit.
  INSERT INTO public.profiles AS p (user_id, daily_tick_limit)
  VALUES (p_user, p_default_limit)
  ON CONFLICT (user_id) DO NOTHING;

  INSERT INTO public.user_daily_usage AS u (user_id, usage_date, ticks_used)
  SELECT p_user, p_date, p_ticks
  FROM public.profiles p
  WHERE p.user_id = p_user AND p_ticks <= p.daily_tick_limit
  ON CONFLICT (user_id, usage_date) DO UPDATE
    SET ticks_used = u.ticks_used + excluded.ticks_used, updated_at = now()
    WHERE u.ticks_used + excluded.ticks_used
          <= (SELECT p2.daily_tick_limit FROM public.profiles p2 WHERE p2.user_id = p_user)
  RETURNING u.ticks_used INTO v_used;

  SELECT p.daily_tick_limit INTO v_limit FROM public.profiles p WHERE p.user_id = p_user;

  IF v_used IS NOT NULL THEN
    RETURN QUERY SELECT 'charged'::text, p_ticks, v_used, v_limit;
    RETURN;
  END IF;

  -- Refused: report today's usage so the caller can build RateLimit-* headers.
  SELECT coalesce(max(u.ticks_used), 0) INTO v_used
  FROM public.user_daily_usage u WHERE u.user_id = p_user AND u.usage_date = p_date;

  RETURN QUERY SELECT
    CASE WHEN p_ticks > v_limit THEN 'exceeds_limit' ELSE 'exhausted' END::text,
    0, v_used, v_limit;
END
$fn$;

REVOKE ALL ON FUNCTION public.consume_ticks(text, integer, date, integer)
  FROM PUBLIC, anon, authenticated;

-- Supabase's handle_new_user pattern, namespaced: starter templates already define a
-- public.handle_new_user() for their own profiles table, and replacing it would break them.
CREATE OR REPLACE FUNCTION public.tollgate_handle_new_user() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, public
AS $fn$
BEGIN
  INSERT INTO public.profiles (user_id) VALUES (NEW.id::text) ON CONFLICT (user_id) DO NOTHING;
  RETURN NEW;
END
$fn$;

REVOKE ALL ON FUNCTION public.tollgate_handle_new_user() FROM PUBLIC, anon, authenticated;

CREATE OR REPLACE TRIGGER tollgate_on_auth_user_created
  AFTER INSERT ON auth.users
  FOR EACH ROW EXECUTE FUNCTION public.tollgate_handle_new_user();
