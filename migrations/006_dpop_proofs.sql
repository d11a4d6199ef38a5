-- DPoP proofs already seen (RFC 9449 §11.1): a proof's jti is accepted once while its iat is inside
-- the validator's window, by every validator on this database, so a captured proof cannot be
-- replayed through another instance. Idempotent (IF NOT EXISTS / OR REPLACE) so it can be re-run safely.

-- Prefixed, as the charge receipts are: a Supabase project's public schema is shared.
CREATE TABLE IF NOT EXISTS public.tollgate_dpop_proofs (
  -- base64url SHA-256 of the proof key's thumbprint and the jti: never the proof itself, and one
  -- client cannot spend another's jti (the key is part of it).
  jti_hash text PRIMARY KEY CHECK (length(jti_hash) BETWEEN 1 AND 128),
  -- the token's issuer, for an operator reading the table
  issuer text NOT NULL,
  -- the end of the proof's iat window: after it the proof is refused for its iat anyway
  expires_at timestamptz NOT NULL
);

-- For the purge of expired rows (oldest first) in tollgate_dpop_proof_first_use().
CREATE INDEX IF NOT EXISTS tollgate_dpop_proofs_expires_idx ON public.tollgate_dpop_proofs (expires_at);

-- Internal bookkeeping, as in 004: RLS on with no policy, no privileges for Supabase's API roles.
ALTER TABLE public.tollgate_dpop_proofs ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.tollgate_dpop_proofs FROM PUBLIC, anon, authenticated;

-- Records one proof; true when it was not seen before (or only by a proof whose window has ended),
-- false for a replay. One statement: concurrent calls with the same hash serialise on the primary
-- key, so of two instances racing with one proof exactly one gets true. Bounded without a scheduler:
-- every call first removes up to two expired rows of other proofs (SKIP LOCKED, so concurrent calls
-- never queue on the same old rows); a call adds at most one, so the table holds about one window of
-- proofs. The purge skips the caller's own hash: one statement must not delete and upsert one row.
CREATE OR REPLACE FUNCTION public.tollgate_dpop_proof_first_use(p_hash text, p_issuer text, p_expires timestamptz)
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  WITH purged AS (
    DELETE FROM public.tollgate_dpop_proofs d
    WHERE d.jti_hash IN (
      SELECT o.jti_hash FROM public.tollgate_dpop_proofs o
      WHERE o.expires_at < now() AND o.jti_hash <> p_hash
      ORDER BY o.expires_at
      LIMIT 2
      FOR UPDATE SKIP LOCKED)
  ), recorded AS (
    INSERT INTO public.tollgate_dpop_proofs AS t (jti_hash, issuer, expires_at)
    VALUES (p_hash, p_issuer, p_expires)
    ON CONFLICT (jti_hash) DO UPDATE SET issuer = EXCLUDED.issuer, expires_at = EXCLUDED.expires_at
      WHERE t.expires_at < now()
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM recorded);
$fn$;

REVOKE ALL ON FUNCTION public.tollgate_dpop_proof_first_use(text, text, timestamptz) FROM PUBLIC, anon, authenticated;
