// Seen DPoP proofs (RFC 9449 §11.1): a proof's jti is accepted once while its iat is in the window.
// With a store, the answer comes from Postgres (migrations/006), one statement shared by every
// instance on the database; without one, from this process's bounded LRU, which stops a replay to
// this instance only (docs/DPOP.md says what that allows).
import { hash } from 'node:crypto';
import { unavailable } from '../errors';

/** The one question the replay check asks the store (validator/store's proofs repository answers it). */
export interface ProofLedger {
  firstUse(hash: string, issuer: string, expiresAt: Date): Promise<boolean>;
}

/** Where seen proofs are kept: `shared` (the store) or `local` (this process). */
export type ReplayScope = 'shared' | 'local';

export interface ReplayGuard {
  readonly scope: ReplayScope;
  /** True when the proof (its key's thumbprint and jti) was not seen before `expiresAtMs`. */
  firstUse(thumbprint: string, jti: string, issuer: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
}

/**
 * The key a proof is remembered by: its key's thumbprint with its jti, hashed. With the thumbprint, a
 * client can spend only its own jtis (another key's proof with the same jti is another proof); hashed,
 * so the table holds neither. A separator that cannot occur in a thumbprint keeps the pair unambiguous.
 */
export const proofKey = (thumbprint: string, jti: string): string => hash('sha256', `${thumbprint}.${jti}`, 'base64url');

/**
 * Seen proofs in this process: bounded, oldest first out. Past `max` live proofs, the oldest is
 * forgotten before its window ends and could be replayed here: the bound trades that (under a flood
 * of more than `max` proofs per window) against unbounded memory.
 */
export class LocalReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.seen.size;
  }

  firstUse(key: string, expiresAtMs: number, nowMs: number): boolean {
    const until = this.seen.get(key);
    if (until !== undefined && until > nowMs) return false;
    this.seen.delete(key);
    // Entries come in roughly by expiry (expiry = iat + window): drop expired ones from the front.
    for (const [k, t] of this.seen) {
      if (t > nowMs && this.seen.size < this.max) break;
      this.seen.delete(k);
    }
    this.seen.set(key, expiresAtMs);
    return true;
  }
}

/** The store's guard when there is a store, else a local one. A store that fails refuses (503): fail closed. */
export function createReplayGuard(ledger: ProofLedger | undefined, max: number): ReplayGuard {
  if (ledger === undefined) {
    const local = new LocalReplayCache(max);
    return {
      scope: 'local',
      firstUse: async (thumbprint, jti, _issuer, expiresAtMs, nowMs) => local.firstUse(proofKey(thumbprint, jti), expiresAtMs, nowMs),
    };
  }
  return {
    scope: 'shared',
    async firstUse(thumbprint, jti, issuer, expiresAtMs) {
      try {
        return await ledger.firstUse(proofKey(thumbprint, jti), issuer, new Date(expiresAtMs));
      } catch {
        // Without the answer a replay through another instance could pass; refuse rather than guess.
        throw unavailable('quota_unavailable', 'the DPoP replay check cannot be made: the database is unavailable');
      }
    },
  };
}
