// Opens the one pg.Pool behind the store's repositories: a Postgres server, or embedded PGlite through
// the same `pg` API so that one set of SQL and one code path serve both.
import pg from 'pg';
import type { Logger } from 'pino';
import { redactUrl } from '../observability/redact-url';
import { openEmbedded } from './embedded';
import type { StoreOptions } from './types';

/** A pool plus what it runs on; `close()` also shuts the embedded database down. */
export interface Db {
  readonly kind: 'embedded' | 'server';
  /** What it runs on, fit for a message: the server URL without its password, or the data directory. */
  readonly target?: string;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/** Connect timeout for a server (ms). A dead host must fail a charge fast, not queue it. */
export const CONNECT_TIMEOUT_MS = 3000;

/**
 * Open a pool. `opts.url` set → server pool: at most `poolMax` connections, each started
 * with `statement_timeout` (server-enforced) and a client-side read timeout slightly
 * longer (so a silent network still fails the query). Nothing depends on session state,
 * so it works behind PgBouncer/Supavisor in transaction mode — PgBouncer must list
 * `statement_timeout` in `ignore_startup_parameters`, or set it on the role instead
 * (statementTimeoutMs: 0 sends none).
 * `opts.url` unset → embedded PGlite in `opts.dataDir` (created if missing; 'memory://'
 * for an in-memory database). PGlite is one single-user backend: the pool has one client, and
 * one process at a time may open a data directory (data-dir-lock.ts: DataDirLockedError).
 * Its settings and the template a new database is unpacked from: embedded.ts.
 */
export async function openDb(opts: StoreOptions, log?: Pick<Logger, 'info' | 'warn'>): Promise<Db> {
  return opts.url ? openServer(opts, opts.url, log) : openEmbedded(opts.dataDir, log);
}

function openServer(opts: StoreOptions, url: string, log: Pick<Logger, 'warn'> | undefined): Db {
  const pool = new pg.Pool({
    connectionString: opts.ssl === false ? url : withoutSslParams(url),
    ssl: sslConfig(opts.ssl),
    max: opts.poolMax,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'tollgate',
    ...(opts.statementTimeoutMs > 0 ? { statement_timeout: opts.statementTimeoutMs, query_timeout: opts.statementTimeoutMs + 1000 } : {}),
  });
  // An idle client whose server connection drops (restart, failover, PgBouncer recycle)
  // emits 'error' on the pool; unhandled, that event would crash the process.
  pool.on('error', (err) => {
    log?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'quota db: idle connection lost');
  });
  return { kind: 'server', target: redactUrl(url), pool, close: () => pool.end() };
}

/** pg lets connection-string SSL params override `ssl`, so drop them when opts decide. */
function withoutSslParams(url: string): string {
  const u = new URL(url);
  for (const k of ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat']) u.searchParams.delete(k);
  return u.toString();
}

function sslConfig(ssl: StoreOptions['ssl']): pg.PoolConfig['ssl'] {
  if (ssl === 'require') return { rejectUnauthorized: false }; // encrypt, trust any cert
  if (ssl === 'verify-full') return { rejectUnauthorized: true }; // Node's CA store + hostname
  return undefined; // false: whatever the URL says (sslmode=...) or plaintext
}
