// The store: the ticks and users repositories over one pool (server Postgres or embedded PGlite),
// plus the pool's own operations (ping, stats, close). Opening it may apply migrations first.
import type { Logger } from 'pino';
import { MAX_DAILY_LIMIT } from '../lib/daily-limit';
import { createLogger } from '../observability/logger';
import { openDb, type Db } from './db';
import { QuotaStoreError, StoreUnavailableError } from './errors';
import { migrate } from './migrate';
import { schemaStatus } from './schema';
import { createProofs } from './proofs';
import { createTicks } from './ticks';
import type { QuotaStore, StoreOptions } from './types';
import { createUsers } from './users';

/** Default when no logger is given: silent, because a library must not write to stdout. */
const SILENT = createLogger('silent');

/**
 * Open the store described by `opts` (server when `opts.url` is set, else embedded PGlite).
 * With `opts.migrate`, pending migrations are applied first. Rejects when the database
 * cannot be opened; the caller decides whether that is fatal.
 */
export async function openStore(opts: StoreOptions, log: Logger = SILENT): Promise<QuotaStore> {
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
  if (!Number.isInteger(o.statementTimeoutMs) || o.statementTimeoutMs < 0)
    throw bad(`statementTimeoutMs must be an integer >= 0 (DATABASE_STATEMENT_TIMEOUT_MS), got ${o.statementTimeoutMs}`);
  if (!Number.isInteger(o.defaultDailyTicks) || o.defaultDailyTicks < 1 || o.defaultDailyTicks > MAX_DAILY_LIMIT) {
    throw bad(`defaultDailyTicks must be an integer from 1 to ${MAX_DAILY_LIMIT} (QUOTA_DEFAULT_DAILY_TICKS), got ${o.defaultDailyTicks}`);
  }
}

/**
 * A store over an already open pool (tests share its pool; `close()` closes `db`). What the
 * pipeline and /api/ready ask (charge, preview, emailConfirmed, ping) fails with a
 * StoreUnavailableError that names the database and the cause; bad input stays a QuotaStoreError.
 */
export function createStore(db: Db, opts: StoreOptions): QuotaStore {
  const { pool } = db;
  const target = db.target ?? `the ${db.kind} database`;
  const ticks = createTicks(pool, opts.defaultDailyTicks);
  const users = createUsers(pool);
  const proofs = createProofs(pool);
  const named =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await fn(...a);
      } catch (e) {
        throw e instanceof QuotaStoreError ? e : new StoreUnavailableError(target, e);
      }
    };
  return {
    kind: db.kind,
    target,
    ...ticks,
    charge: named(ticks.charge),
    preview: named(ticks.preview),
    emailConfirmed: named(users.emailConfirmed),
    confirmation: named(users.confirmation),
    firstUse: named(proofs.firstUse),
    ping: named(async () => {
      await pool.query('SELECT 1');
    }),
    schema: named(() => schemaStatus(pool)),
    poolStats() {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },
    close: () => db.close(),
  };
}
