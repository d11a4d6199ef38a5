// The quota store: a repository over a pg pool (server or embedded), one SQL statement per
// operation. Charging is delegated to the atomic consume_ticks() defined in migrations/.
import type pg from 'pg';
import { openDb, type Db } from './db';
import { isIsoDate } from '../quota/day';
import { QuotaStoreError } from './errors';
import { silentLogger, type QuotaLogger } from './log';
import { migrate } from './migrate';
import { isAcceptableSubject, MAX_SUBJECT_BYTES } from '../lib/subject';
import type { ChargeResult, ChargeStatus, QuotaStore, StoreOptions, UsageRow } from './types';

/**
 * Highest daily limit (migrations/003): ticks_used + a charge (both at most the limit) must stay
 * inside Postgres's 32-bit integer, or consume_ticks() would fail with an overflow.
 */
export const MAX_DAILY_LIMIT = 1_000_000_000;

/** Positive email-confirmation answers kept in memory (confirmation never reverts). */
const CONFIRMED_CACHE_MAX = 10_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Open the store described by `opts` (server when `opts.url` is set, else embedded PGlite).
 * With `opts.migrate`, pending migrations are applied first. Rejects when the database
 * cannot be opened; the caller decides whether that is fatal.
 */
export async function openStore(opts: StoreOptions, log: QuotaLogger = silentLogger): Promise<QuotaStore> {
  checkOptions(opts);
  const started = Date.now();
  const db = await openDb(opts, log);
  try {
    if (opts.migrate) {
      const r = await migrate(db.pool);
      if (r.applied.length) log.info({ applied: r.applied }, 'quota db: migrations applied');
    }
    log.info({ kind: db.kind, ms: Date.now() - started }, 'quota db: open');
    return createStore(db, opts);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

/** Options are checked once, here, so a bad value fails at start-up rather than per request. */
function checkOptions(o: StoreOptions): void {
  const bad = (m: string) => new QuotaStoreError('invalid_argument', m);
  if (!o.url && !o.dataDir) throw bad('dataDir is required for the embedded store (DATA_DIR)');
  if (!Number.isInteger(o.poolMax) || o.poolMax < 1) throw bad(`poolMax must be an integer >= 1 (DATABASE_POOL_MAX), got ${o.poolMax}`);
  if (!Number.isInteger(o.statementTimeoutMs) || o.statementTimeoutMs < 0) throw bad(`statementTimeoutMs must be an integer >= 0 (DATABASE_STATEMENT_TIMEOUT_MS), got ${o.statementTimeoutMs}`);
  if (!Number.isInteger(o.defaultDailyTicks) || o.defaultDailyTicks < 1) throw bad(`defaultDailyTicks must be an integer >= 1 (QUOTA_DEFAULT_DAILY_TICKS), got ${o.defaultDailyTicks}`);
}

/**
 * auth.users.id is uuid on Supabase and text in our stand-in. Asked on first use (not at
 * open, so a validator can start while its database is down) and remembered, so lookups
 * compare `id = $1::uuid` (index-friendly) instead of `id::text = $1` (a scan).
 */
async function authUsersIdType(pool: pg.Pool): Promise<'uuid' | 'text' | undefined> {
  const { rows } = await pool.query<{ t: string }>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = to_regclass('auth.users') AND a.attname = 'id' AND NOT a.attisdropped`,
  );
  if (!rows.length) return undefined; // not migrated yet: emailConfirmed answers undefined
  return rows[0].t === 'uuid' ? 'uuid' : 'text';
}

/** A store over an already open pool (tests share its pool; `close()` closes `db`). */
export function createStore(db: Db, opts: StoreOptions): QuotaStore {
  const { pool } = db;
  const confirmed = new Map<string, true>();
  let usersIdType: 'uuid' | 'text' | undefined;

  return {
    kind: db.kind,

    async charge(userId: string, ticks: number, date: string, chargeId?: string): Promise<ChargeResult> {
      checkUser(userId);
      if (!Number.isSafeInteger(ticks) || ticks < 1) throw new QuotaStoreError('invalid_argument', `ticks must be a positive integer, got ${ticks}`);
      checkDate(date);
      if (chargeId === undefined) {
        const { rows } = await pool.query<RawCharge>(
          'SELECT status, charged, used, daily_limit FROM public.consume_ticks($1, $2, $3::date, $4)',
          [userId, ticks, date, opts.defaultDailyTicks],
        );
        return toCharge(rows[0]!);
      }
      checkChargeId(chargeId);
      const { rows } = await pool.query<RawCharge>(
        'SELECT status, charged, used, daily_limit, replayed FROM public.consume_ticks_once($1, $2, $3, $4::date, $5)',
        [chargeId, userId, ticks, date, opts.defaultDailyTicks],
      );
      return toCharge(rows[0]!);
    },

    async emailConfirmed(userId: string): Promise<boolean | undefined> {
      checkUser(userId);
      if (confirmed.has(userId)) return true;
      usersIdType ??= await authUsersIdType(pool);
      if (!usersIdType) return undefined;
      // A non-uuid subject cannot be a Supabase user; casting it would raise 22P02.
      if (usersIdType === 'uuid' && !UUID_RE.test(userId)) return undefined;
      const { rows } = await pool.query<{ confirmed: boolean }>(
        usersIdType === 'uuid'
          ? 'SELECT email_confirmed_at IS NOT NULL AS confirmed FROM auth.users WHERE id = $1::uuid'
          : 'SELECT email_confirmed_at IS NOT NULL AS confirmed FROM auth.users WHERE id = $1',
        [userId],
      );
      if (!rows.length) return undefined;
      if (rows[0].confirmed) {
        // Bounded: drop the oldest entry (Map keeps insertion order) instead of growing forever.
        if (confirmed.size >= CONFIRMED_CACHE_MAX) confirmed.delete(confirmed.keys().next().value as string);
        confirmed.set(userId, true);
      }
      return rows[0].confirmed;
    },

    async ping(): Promise<void> {
      await pool.query('SELECT 1');
    },

    async usage(userId: string, date: string): Promise<UsageRow | undefined> {
      checkUser(userId);
      checkDate(date);
      const { rows } = await pool.query<RawUsage>(
        `SELECT p.user_id, $2::date::text AS usage_date, coalesce(u.ticks_used, 0) AS ticks_used, p.daily_tick_limit
         FROM public.profiles p
         LEFT JOIN public.user_daily_usage u ON u.user_id = p.user_id AND u.usage_date = $2::date
         WHERE p.user_id = $1`,
        [userId, date],
      );
      return rows.length ? toUsage(rows[0]) : undefined;
    },

    async setLimit(userId: string, limit: number, o: { create?: boolean } = {}): Promise<void> {
      checkUser(userId);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_DAILY_LIMIT) {
        throw new QuotaStoreError('invalid_argument', `limit must be a whole number from 1 to ${MAX_DAILY_LIMIT}, got ${limit}`);
      }
      const { rowCount } = await pool.query(
        o.create
          ? `INSERT INTO public.profiles (user_id, daily_tick_limit) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET daily_tick_limit = excluded.daily_tick_limit, updated_at = now()`
          : 'UPDATE public.profiles SET daily_tick_limit = $2, updated_at = now() WHERE user_id = $1',
        [userId, limit],
      );
      if (!rowCount) throw new QuotaStoreError('unknown_user', `unknown user: ${userId}`);
    },

    async reset(userId: string, date: string): Promise<boolean> {
      checkUser(userId);
      checkDate(date);
      const { rowCount } = await pool.query('DELETE FROM public.user_daily_usage WHERE user_id = $1 AND usage_date = $2::date', [userId, date]);
      return (rowCount ?? 0) > 0;
    },

    async top(date: string, n: number): Promise<UsageRow[]> {
      checkDate(date);
      if (!Number.isSafeInteger(n) || n < 1) throw new QuotaStoreError('invalid_argument', `n must be a positive integer, got ${n}`);
      const { rows } = await pool.query<RawUsage>(
        `SELECT u.user_id, u.usage_date::text AS usage_date, u.ticks_used, p.daily_tick_limit
         FROM public.user_daily_usage u JOIN public.profiles p ON p.user_id = u.user_id
         WHERE u.usage_date = $1::date
         ORDER BY u.ticks_used DESC, u.user_id LIMIT $2`,
        [date, n],
      );
      return rows.map(toUsage);
    },

    poolStats() {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },

    close: () => db.close(),
  };
}

interface RawCharge {
  status: ChargeStatus;
  charged: number;
  used: number;
  daily_limit: number;
  replayed?: boolean;
}

function toCharge(r: RawCharge): ChargeResult {
  const c: ChargeResult = { status: r.status, charged: r.charged, used: r.used, limit: r.daily_limit, remaining: Math.max(0, r.daily_limit - r.used) };
  if (r.replayed) c.replayed = true;
  return c;
}

interface RawUsage {
  user_id: string;
  usage_date: string;
  ticks_used: number;
  daily_tick_limit: number;
}

function toUsage(r: RawUsage): UsageRow {
  return { userId: r.user_id, usageDate: r.usage_date, ticksUsed: r.ticks_used, limit: r.daily_tick_limit };
}

/**
 * Defence in depth: the claims stage already refuses such a subject (401 claim_invalid) before any
 * store call, with the same limit; the CLI and other callers meet it here.
 */
function checkUser(userId: string): void {
  if (!isAcceptableSubject(userId)) {
    throw new QuotaStoreError('invalid_argument', `user id must be a non-empty string of at most ${MAX_SUBJECT_BYTES} UTF-8 bytes`);
  }
}

/** Same bounds as the receipts table (migrations/004); the HTTP layer accepts a narrower shape. */
const CHARGE_ID = /^[\x21-\x7e]{1,128}$/;

function checkChargeId(id: string): void {
  if (typeof id !== 'string' || !CHARGE_ID.test(id)) throw new QuotaStoreError('invalid_argument', 'charge id must be 1 to 128 printable ASCII characters');
}

function checkDate(date: string): void {
  if (typeof date !== 'string' || !isIsoDate(date)) throw new QuotaStoreError('invalid_argument', `date must be YYYY-MM-DD, got ${date}`);
}
