-- Cap daily limits at 1,000,000,000 ticks. consume_ticks() adds a charge (at most the limit) to
-- ticks_used (at most the limit) in 32-bit integers: with a limit near 2^31 the sum overflowed and
-- every charge of that user failed (503, or passed uncharged with QUOTA_FAIL_OPEN).
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_constraint
    WHERE conrelid = 'public.profiles'::regclass AND conname = 'profiles_daily_tick_limit_max'
  ) THEN
    UPDATE public.profiles SET daily_tick_limit = 1000000000 WHERE daily_tick_limit > 1000000000;
    ALTER TABLE public.profiles
      ADD CONSTRAINT profiles_daily_tick_limit_max CHECK (daily_tick_limit <= 1000000000);
  END IF;
END
$$;
