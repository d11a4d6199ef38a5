// The ticks repository: daily tick quotas over a pg pool (server or embedded), one SQL statement
// per operation. Charging is delegated to the atomic consume_ticks() defined in migrations/.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { MAX_DAILY_LIMIT } from '../lib/daily-limit';
import { checkDate, checkUser } from './checks';
import { QuotaStoreError } from './errors';
import type { ChargeResult, ChargeStatus, TickRepository, UsageRow } from './types';

/** `defaultDailyTicks`: the limit of a profile created by its first charge (QUOTA_DEFAULT_DAILY_TICKS). */
export function createTicks(pool: pg.Pool, defaultDailyTicks: number): TickRepository {
  let prepared = true;
  /**
   * The charge as a named statement: each connection parses and plans it once, then sends only
   * Bind/Execute. Where the name is unknown or taken on the connection that runs it (26000, 42P05:
   * a transaction-mode pooler without prepared-statement support, such as PgBouncer before 1.21 or
   * with max_prepared_statements = 0, or the embedded backend, whose statements outlive the client
   * that made them), nothing has run: the call is repeated unnamed, and so is every later one.
   */
  async function run<R extends pg.QueryResultRow>(s: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (prepared) {
      try {
        return await pool.query<R>({ name: s.name, text: s.text, values });
      } catch (e) {
        if (!NOT_PREPARED.has((e as { code?: string }).code ?? '')) throw e;
        prepared = false;
      }
    }
    return pool.query<R>(s.text, values);
  }

  return {
    async charge(userId: string, ticks: number, date: string, chargeId?: string): Promise<ChargeResult> {
      checkUser(userId);
      if (!Number.isSafeInteger(ticks) || ticks < 1) throw new QuotaStoreError('invalid_argument', `ticks must be a positive integer, got ${ticks}`);
      checkDate(date);
      if (chargeId === undefined) {
        const { rows } = await run<RawCharge>(CHARGE, [userId, ticks, date, defaultDailyTicks]);
        return toCharge(rows[0]!);
      }
      checkChargeId(chargeId);
      const { rows } = await run<RawCharge>(CHARGE_ONCE, [chargeId, userId, ticks, date, defaultDailyTicks]);
      return toCharge(rows[0]!);
    },

    async preview(userId: string, ticks: number, date: string): Promise<ChargeResult> {
      checkUser(userId);
      if (!Number.isSafeInteger(ticks) || ticks < 1) throw new QuotaStoreError('invalid_argument', `ticks must be a positive integer, got ${ticks}`);
      checkDate(date);
      // The very statement charge() runs, rolled back: the answer is the charge's, nothing is written.
      const c = await pool.connect();
      let broken: Error | undefined;
      try {
        await c.query('BEGIN');
        const { rows } = await c.query<RawCharge>(CHARGE.text, [userId, ticks, date, defaultDailyTicks]);
        return toCharge(rows[0]!);
      } finally {
        await c.query('ROLLBACK').catch((e: Error) => (broken = e));
        c.release(broken); // a client whose ROLLBACK failed is discarded, not reused
      }
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
  };
}

interface Statement {
  name: string;
  text: string;
}

/** Named after a hash of its text, so instances of two versions sharing a pooler never run each other's. */
function statement(text: string): Statement {
  return { name: `tollgate_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, text };
}

const CHARGE = statement('SELECT status, charged, used, daily_limit FROM public.consume_ticks($1, $2, $3::date, $4)');
const CHARGE_ONCE = statement('SELECT status, charged, used, daily_limit, replayed FROM public.consume_ticks_once($1, $2, $3, $4::date, $5)');

/** invalid_sql_statement_name (no such prepared statement), duplicate_prepared_statement. */
const NOT_PREPARED = new Set(['26000', '42P05']);

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

/** Same bounds as the receipts table (migrations/004); the HTTP layer accepts a narrower shape. */
const CHARGE_ID = /^[\x21-\x7e]{1,128}$/;

function checkChargeId(id: string): void {
  if (typeof id !== 'string' || !CHARGE_ID.test(id)) throw new QuotaStoreError('invalid_argument', 'charge id must be 1 to 128 printable ASCII characters');
}
