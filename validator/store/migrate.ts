// Forward-only SQL migrations: numbered files applied in order, each in its own transaction,
// recorded with a checksum, serialised across processes by a Postgres advisory lock.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

/** Thrown for every migration failure; `file` names the migration involved, when one is. */
export class MigrationError extends Error {
  readonly code: 'migration_changed' | 'migration_failed' | 'migration_dir_invalid';
  readonly file?: string;
  constructor(code: MigrationError['code'], message: string, file?: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'MigrationError';
    this.code = code;
    this.file = file;
  }
}

export interface MigrationFile {
  version: number;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  /** Files applied by this call, in order. */
  applied: string[];
  /** Files found already applied (checksum verified). */
  skipped: string[];
}

/** Arbitrary constant key ("toll" in ASCII) shared by every tollgate migrator. */
const LOCK_KEY = 0x746f6c6c;
const FILE_RE = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;

/** The repo's migrations/ dir, from the sources (validator/store) or the build (dist/validator/store). */
export function defaultMigrationsDir(): string {
  const candidates = [path.resolve(__dirname, '../../migrations'), path.resolve(__dirname, '../../../migrations')];
  return candidates.find((d) => existsSync(d)) ?? candidates[0];
}

/** Read and order `NNN_name.sql` files; duplicate version numbers are an error. */
export function readMigrations(dir: string): MigrationFile[] {
  if (!existsSync(dir)) throw new MigrationError('migration_dir_invalid', `migrations directory not found: ${dir}`);
  const files: MigrationFile[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = FILE_RE.exec(file);
    if (!m) continue;
    // CRLF normalised so a Windows checkout (git autocrlf) does not look like an edit.
    const sql = readFileSync(path.join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    files.push({ version: Number(m[1]), name: m[2], file, sql, checksum: sha256(sql) });
  }
  files.sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i++) {
    if (files[i].version === files[i - 1].version) {
      throw new MigrationError(
        'migration_dir_invalid',
        `two migrations share version ${files[i].version}: ${files[i - 1].file}, ${files[i].file}`,
        files[i].file,
      );
    }
  }
  return files;
}

/**
 * Apply pending migrations from `dir` (default: the repo's migrations/).
 * Each file runs in its own transaction holding `pg_advisory_xact_lock`, so concurrent
 * migrators (several validators starting at once) apply each file exactly once. The lock
 * is transaction-scoped rather than session-scoped so it also holds behind PgBouncer in
 * transaction mode and is released even if this process dies mid-way.
 * Throws MigrationError naming the file when an applied file's checksum changed or a file fails.
 */
export async function migrate(pool: pg.Pool, dir: string = defaultMigrationsDir()): Promise<MigrateResult> {
  const files = readMigrations(dir);
  // Already at head (every start but the first): one read instead of a locked transaction per file.
  if (await atHead(pool, files)) return { applied: [], skipped: files.map((f) => f.file) };
  const result: MigrateResult = { applied: [], skipped: [] };
  await inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await c.query(`CREATE TABLE IF NOT EXISTS public.tollgate_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
  });
  for (const f of files) {
    await inTransaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      // Read after taking the lock: in READ COMMITTED this sees a migrator that just finished.
      const { rows } = await c.query<{ checksum: string; name: string }>('SELECT checksum, name FROM public.tollgate_migrations WHERE version = $1', [
        f.version,
      ]);
      if (rows.length) {
        if (rows[0].checksum !== f.checksum) {
          throw new MigrationError(
            'migration_changed',
            `migration ${f.file} was changed after it was applied (checksum ${rows[0].checksum.slice(0, 12)}… in the database, ` +
              `${f.checksum.slice(0, 12)}… on disk); migrations are forward-only: restore the file and add a new one`,
            f.file,
          );
        }
        result.skipped.push(f.file);
        return;
      }
      try {
        await c.query(f.sql); // simple-query protocol: a file may hold many statements
      } catch (err) {
        const e = err as { message?: string; hint?: string };
        throw new MigrationError('migration_failed', `migration ${f.file} failed: ${e.message}${e.hint ? ` (${e.hint})` : ''}`, f.file, err);
      }
      await c.query('INSERT INTO public.tollgate_migrations (version, name, checksum) VALUES ($1, $2, $3)', [f.version, f.name, f.checksum]);
      result.applied.push(f.file);
    });
  }
  return result;
}

/**
 * True when every file is recorded with its checksum. Read without the lock: a file that is missing
 * or changed sends the caller down the locked path, which applies it or names the change.
 */
async function atHead(pool: pg.Pool, files: MigrationFile[]): Promise<boolean> {
  const table = await pool.query("SELECT to_regclass('public.tollgate_migrations') IS NOT NULL AS present");
  if (!table.rows[0].present) return false;
  const { rows } = await pool.query<{ version: number; checksum: string }>('SELECT version, checksum FROM public.tollgate_migrations');
  const recorded = new Map(rows.map((r) => [r.version, r.checksum]));
  return files.every((f) => recorded.get(f.version) === f.checksum);
}

async function inTransaction(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
  const c = await pool.connect();
  let broken: Error | undefined;
  try {
    await c.query('BEGIN');
    await fn(c);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    c.release(broken); // a client whose ROLLBACK failed is discarded, not reused
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
