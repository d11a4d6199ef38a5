-- Idempotent charges: a receipt per (charge id, user), written in the same transaction as the
-- charge, so a decision that a front retries on another validator is charged once.
-- Idempotent (IF NOT EXISTS / OR REPLACE) so it can be re-run safely.
--
-- Why: NGINX's `proxy_next_upstream error` also covers an error while READING the answer. A
-- validator that committed a charge and then lost the connection makes NGINX ask the next instance,
-- which charged again. The gateway now sends its own random per-request id with every attempt of
-- one client request (docs/GATEWAY.md); consume_ticks_once() charges each (id, user) at most once.

-- Prefixed: a Supabase project may well have a `charge_receipts` table of its own for billing, and
-- CREATE TABLE IF NOT EXISTS would silently keep it.
CREATE TABLE IF NOT EXISTS public.tollgate_charge_receipts (
  charge_id text NOT NULL CHECK (length(charge_id) BETWEEN 1 AND 128),
  user_id text NOT NULL,
  usage_date date NOT NULL,
  ticks integer NOT NULL CHECK (ticks > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Keyed on the id AND the user: an id only ever coalesces with the same user's own earlier
  -- charge. The same id under another user is a receipt of its own, i.e. a fresh, full charge: it
  -- can never be free work for that user, and no user can block another's charges by using an id
  -- first (which refusing a foreign id with a 400 would allow wherever a front lets ids through).
  PRIMARY KEY (charge_id, user_id)
);

-- For the purge of expired receipts (oldest first) in consume_ticks_once().
CREATE INDEX IF NOT EXISTS tollgate_charge_receipts_created_idx
  ON public.tollgate_charge_receipts (created_at);

-- Internal bookkeeping: nobody reads or writes it but consume_ticks_once() (SECURITY DEFINER).
-- RLS on with no policy, and no table privileges for Supabase's API roles (PostgREST exposes the
-- public schema, and Supabase grants new public tables to anon/authenticated by default).
ALTER TABLE public.tollgate_charge_receipts ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.tollgate_charge_receipts FROM PUBLIC, anon, authenticated;

-- consume_ticks() with a charge id, in one transaction (one statement for the caller):
--   * the (id, user) already has a receipt → the original charge is reported again (replayed =
--     true, charged = its ticks, used/limit as they are now for its day), nothing is charged;
--   * otherwise the receipt is claimed, consume_ticks() runs, and a refused charge (exhausted,
--     exceeds_limit) removes its claim again: refusals record nothing, and a retry of a refused
--     request is judged afresh.
-- Concurrent calls with the same (id, user) serialise on the receipt's primary key: the second
-- INSERT ... ON CONFLICT waits for the first transaction, then conflicts (it charged: replay) or
-- goes through (it was refused and removed its claim). A NULL id charges as consume_ticks() does.
-- Bounded: each call that claims an id deletes up to two receipts older than two days (SKIP
-- LOCKED, so concurrent charges never queue on the same old rows). A call adds at most one receipt
-- and removes up to two expired ones, so the table holds about two days of charged requests with
-- no scheduler, CLI run or cron job. A retry comes seconds after the original (the gateway's
-- proxy_read_timeout is 5 s): two days is generous, and the receipts stay readable for support.
CREATE OR REPLACE FUNCTION public.consume_ticks_once(
  p_charge_id text, p_user text, p_ticks integer, p_date date, p_default_limit integer
) RETURNS TABLE (status text, charged integer, used integer, daily_limit integer, replayed boolean)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, public
AS $fn$
DECLARE
  r record;
  v_date date;
  v_ticks integer;
BEGIN
  IF p_charge_id IS NULL THEN
    RETURN QUERY SELECT c.status, c.charged, c.used, c.daily_limit, false
      FROM public.consume_ticks(p_user, p_ticks, p_date, p_default_limit) c;
    RETURN;
  END IF;
  IF p_charge_id = '' OR length(p_charge_id) > 128
     OR p_user IS NULL OR p_user = '' OR p_ticks IS NULL OR p_ticks <= 0 OR p_date IS NULL THEN
    RAISE EXCEPTION 'consume_ticks_once: a charge id of 1 to 128 characters, user, a positive tick count and a date are required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  LOOP
    INSERT INTO public.tollgate_charge_receipts (charge_id, user_id, usage_date, ticks)
    VALUES (p_charge_id, p_user, p_date, p_ticks)
    ON CONFLICT (charge_id, user_id) DO NOTHING;
    EXIT WHEN FOUND;

    SELECT rc.usage_date, rc.ticks INTO v_date, v_ticks
    FROM public.tollgate_charge_receipts rc
    WHERE rc.charge_id = p_charge_id AND rc.user_id = p_user;
    IF FOUND THEN
      RETURN QUERY SELECT 'charged'::text, v_ticks,
        coalesce((SELECT u.ticks_used FROM public.user_daily_usage u
                  WHERE u.user_id = p_user AND u.usage_date = v_date), 0),
        (SELECT p.daily_tick_limit FROM public.profiles p WHERE p.user_id = p_user),
        true;
      RETURN;
    END IF;
    -- The receipt went away between the two statements (purged as expired): claim it again.
  END LOOP;

  SELECT c.status, c.charged, c.used, c.daily_limit INTO r
  FROM public.consume_ticks(p_user, p_ticks, p_date, p_default_limit) c;

  IF r.status <> 'charged' THEN
    DELETE FROM public.tollgate_charge_receipts rc
    WHERE rc.charge_id = p_charge_id AND rc.user_id = p_user;
  END IF;

  DELETE FROM public.tollgate_charge_receipts rc
  WHERE (rc.charge_id, rc.user_id) IN (
    SELECT o.charge_id, o.user_id FROM public.tollgate_charge_receipts o
    WHERE o.created_at < now() - interval '2 days'
    ORDER BY o.created_at
    LIMIT 2
    FOR UPDATE SKIP LOCKED);

  RETURN QUERY SELECT r.status, r.charged, r.used, r.daily_limit, false;
END
$fn$;

REVOKE ALL ON FUNCTION public.consume_ticks_once(text, text, integer, date, integer)
  FROM PUBLIC, anon, authenticated;
