// The DPoP proofs repository: which proofs were already presented (migrations/006), shared by every
// validator on the database, one SQL statement per proof. Bounded by the statement itself.
import type pg from 'pg';
import type { ProofRepository } from './types';

export function createProofs(pool: pg.Pool): ProofRepository {
  return {
    async firstUse(hash: string, issuer: string, expiresAt: Date): Promise<boolean> {
      const { rows } = await pool.query<{ first: boolean }>('SELECT public.tollgate_dpop_proof_first_use($1, $2, $3) AS first', [
        hash,
        issuer,
        expiresAt.toISOString(),
      ]);
      return rows[0]?.first === true;
    },
  };
}
