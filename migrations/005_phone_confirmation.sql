-- Phone sign-ups: Supabase Auth confirms a user by e-mail (auth.users.email_confirmed_at) or by
-- phone (auth.users.phone_confirmed_at, SMS/WhatsApp OTP); tollgate counts either as a confirmed
-- user, and forwards X-User-Email only for a confirmed e-mail. Supabase's auth.users has both
-- columns; the stand-in from 001 had only the e-mail one.
-- Only the stand-in (text ids) is altered: a Supabase project's auth.users (uuid ids) belongs to
-- Supabase, and the store reads phone_confirmed_at only where it exists.
-- Idempotent (ADD COLUMN IF NOT EXISTS) so it can be re-run safely.
DO $phone$
BEGIN
  IF (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = to_regclass('auth.users') AND a.attname = 'id' AND NOT a.attisdropped) = 'text' THEN
    ALTER TABLE auth.users ADD COLUMN IF NOT EXISTS phone text;
    ALTER TABLE auth.users ADD COLUMN IF NOT EXISTS phone_confirmed_at timestamptz;
  END IF;
END
$phone$;
