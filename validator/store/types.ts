// The store's contract: what the pipeline, /api/ready and the operator CLI need from Postgres.
// Types only (the one import is a type from config, below every stage), so the stages can name
// these shapes without loading the store.

/** Outcome of one atomic charge. `exhausted` and `exceeds_limit` charge nothing. */
export type ChargeStatus = 'charged' | 'exhausted' | 'exceeds_limit';

export interface ChargeResult {
  status: ChargeStatus;
  /** Ticks charged by this call (0 unless status is 'charged'). */
  charged: number;
  /** Ticks used today after this call. */
  used: number;
  /** The user's daily limit. */
  limit: number;
  /** limit - used, never negative. */
  remaining: number;
  /**
   * True when the charge id already had a receipt for this user: nothing was charged now, and
   * `charged` is what the original call charged (a retried decision reports the same charge).
   */
  replayed?: boolean;
}

export interface UsageRow {
  userId: string;
  usageDate: string; // YYYY-MM-DD
  ticksUsed: number;
  limit: number;
}

import type { SchemaStatus } from './schema';

/** Options to open a store: the DATABASE_* settings, declared once with the rest of the configuration. */
export type { StoreOptions } from '../config/store';

/** Daily tick quotas (public.profiles, public.user_daily_usage): store/ticks.ts. */
export interface TickRepository {
  /**
   * Atomically charge `ticks` to `userId` for `usageDate` (YYYY-MM-DD in the quota timezone).
   * Creates the profile with the default limit on first use. One SQL statement (consume_ticks).
   * With `chargeId` (the gateway's id of the client request, the same for every retry of it), the
   * charge is idempotent per (chargeId, userId): a repeat charges nothing and reports the original
   * charge with `replayed: true` (consume_ticks_once, migrations/004). Without it, every call charges.
   */
  charge(userId: string, ticks: number, usageDate: string, chargeId?: string): Promise<ChargeResult>;
  /**
   * What charge() would answer now, without charging: the same statement in a transaction that is
   * rolled back (`tollgate explain`'s dry run). It holds the user's row lock for that moment.
   */
  preview(userId: string, ticks: number, usageDate: string): Promise<ChargeResult>;
  /** A user's usage and limit on a day; undefined when the user has no profile. */
  usage(userId: string, usageDate: string): Promise<UsageRow | undefined>;
  /**
   * Set a user's daily limit (1 to MAX_DAILY_LIMIT). Throws QuotaStoreError 'unknown_user' when the
   * user has no profile, unless `create` is set (pre-provisioning a user who has not called yet).
   */
  setLimit(userId: string, limit: number, opts?: { create?: boolean }): Promise<void>;
  /** Forget a user's usage on a day; false when there was none. */
  reset(userId: string, usageDate: string): Promise<boolean>;
  /** The `n` biggest spenders of a day, biggest first. */
  top(usageDate: string, n: number): Promise<UsageRow[]>;
}

/** How a user is confirmed: by e-mail (auth.users.email_confirmed_at), by phone (phone_confirmed_at). */
export interface Confirmation {
  readonly email: boolean;
  readonly phone: boolean;
}

/** The identity provider's users (auth.users): store/users.ts. */
export interface UserRepository {
  /**
   * Supabase users: true when auth.users.email_confirmed_at is set, false when it is null,
   * undefined when the user is not in auth.users (the caller decides; it fails closed).
   */
  emailConfirmed(userId: string): Promise<boolean | undefined>;
  /**
   * Supabase users: whether their e-mail address and their phone number are confirmed; undefined
   * when the user is not in auth.users. A table without phone_confirmed_at answers `phone: false`.
   */
  confirmation(userId: string): Promise<Confirmation | undefined>;
}

/** DPoP proofs already presented (public.tollgate_dpop_proofs, migrations/006): store/proofs.ts. */
export interface ProofRepository {
  /**
   * Records a proof by `hash` (of its key and jti) until `expiresAt`; true when it was new, false
   * when the same hash is recorded and not yet expired (a replay). Atomic across instances.
   */
  firstUse(hash: string, issuer: string, expiresAt: Date): Promise<boolean>;
}

/** The repositories over one pool, and the pool's own operations (store/index.ts). */
export interface QuotaStore extends TickRepository, UserRepository, ProofRepository {
  /** 'embedded' or 'server', for logs and /api/ready. */
  readonly kind: 'embedded' | 'server';
  /** The database, fit for a message: the server URL without its password, or the data directory. */
  readonly target: string;
  /** Cheap round trip (SELECT 1) for /api/ready. Throws StoreUnavailableError when the database does not answer. */
  ping(): Promise<void>;
  /** Migrations applied, pending or changed, and RLS on the quota tables (store/schema.ts). */
  schema(): Promise<SchemaStatus>;
  /** Pool usage for metrics: total, idle, waiting clients. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}
