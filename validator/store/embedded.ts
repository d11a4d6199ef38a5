// Opens embedded PGlite behind a pg.Pool (the same `pg` API as a server), with the memory it needs
// and no more: a small buffer pool, and a new database unpacked from a template instead of initdb.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import pg from 'pg';
import type { Logger } from 'pino';
import { LOCK_FILE, lockDataDir } from './data-dir-lock';
import { copyTemplateDir, dumpCluster, readTarball, templatePaths, writeTarball } from './embedded-template';

/**
 * Postgres's shared buffers in the WASM heap. Its default, 128 MB, is allocated and touched at
 * start-up (~120 MB of RSS) although the quota tables of an embedded deployment fit in a few MB;
 * pages beyond it are read from the data directory's files (the OS page cache), not lost.
 */
export const EMBEDDED_SHARED_BUFFERS = '16MB';

/**
 * PGlite's Postgres runs as Liftoff code (V8's baseline WASM compiler) only. By default V8 recompiles
 * the hot functions of its 9 MB module with its optimising compiler in the background, which on Node 24
 * took ~450 MB for a moment (VmHWM 700-770 MB during the migration or the first thousands of charges,
 * RSS back to ~260 MB after) and made charges no faster (pg, the protocol and the file writes dominate).
 * V8 flags are process-wide but only change modules compiled after them: PGlite's, and Node's own
 * fetch parser when it is first used later (JWKS fetches, rare).
 */
function wasmBaselineOnly(): void {
  v8.setFlagsFromString('--no-wasm-tier-up');
  v8.setFlagsFromString('--no-wasm-dynamic-tiering');
}

/** What db.ts's Db needs of an embedded pool (declared here: db.ts imports this module). */
export interface EmbeddedDb {
  readonly kind: 'embedded';
  readonly target: string;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * Opens PGlite in `dataDir` (created if missing; 'memory://' for an in-memory database). One process
 * at a time may open a data directory (data-dir-lock.ts). Durability is PGlite's as before: its own
 * start parameters are kept (only the buffer size is added), no relaxedDurability, so each commit
 * is written to the data directory before the statement returns.
 */
export async function openEmbedded(dataDir: string, log?: Pick<Logger, 'info' | 'warn'>): Promise<EmbeddedDb> {
  // PGlite ships ESM only; a dynamic import keeps this CommonJS build loading it lazily,
  // so a server deployment never pays for the WASM module.
  const { createPgConfig, PglitePgConnection } = await import('@electric-sql/pglite/node-postgres');
  let unlock = () => {};
  if (!dataDir.includes('://')) {
    mkdirSync(dataDir, { recursive: true });
    const release = lockDataDir(dataDir);
    // process.exit() without close() (a CLI's error path) releases it too; a crash leaves a stale lock, taken over
    process.once('exit', release);
    unlock = () => {
      process.off('exit', release);
      release();
    };
  }
  let pglite: Awaited<ReturnType<typeof createPglite>>;
  try {
    pglite = await createPglite(dataDir, log);
  } catch (e) {
    unlock();
    throw e;
  }
  // createPgConfig hands every pg Client the same connection object. pg destroys a client
  // whose query failed (pool.query releases it with the error), and that ended the shared
  // connection for good: after one failed statement every later query failed with
  // "Connection terminated unexpectedly". So each client gets a connection of its own over
  // the one PGlite backend; max 1 keeps them from interleaving.
  class EmbeddedClient extends pg.Client {
    constructor(config: pg.ClientConfig) {
      super({ ...config, connection: new PglitePgConnection({ pglite }) } as pg.ClientConfig);
    }
  }
  // (@types/pg declares Client as a no-argument constructor; pg-pool passes the pool's options.)
  const pool = new pg.Pool({ ...createPgConfig(pglite), Client: EmbeddedClient as unknown as new () => pg.ClientBase, max: 1, idleTimeoutMillis: 0 });
  return {
    kind: 'embedded',
    target: `embedded database in ${dataDir}`,
    pool,
    async close() {
      try {
        await pool.end();
        await pglite.close();
      } finally {
        unlock();
      }
    },
  };
}

/**
 * An existing cluster is opened as it is. A new one comes from the template when there is one (on
 * disk only into a directory that holds nothing but our lock file, so a failed copy can be cleared
 * whole): copied as files, or for memory:// unpacked from the tarball. Otherwise initdb makes it, and
 * an in-memory one is kept as the tarball for next time when that directory is writable.
 */
async function createPglite(dataDir: string, log?: Pick<Logger, 'info' | 'warn'>) {
  wasmBaselineOnly();
  const { PGlite } = await import('@electric-sql/pglite');
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`];
  const inMemory = dataDir.includes('://');
  if (!inMemory && existsSync(path.join(dataDir, 'PG_VERSION'))) return PGlite.create(dataDir, { startParams });
  const clear = () => {
    for (const f of readdirSync(dataDir)) if (f !== LOCK_FILE) rmSync(path.join(dataDir, f), { recursive: true, force: true });
  };
  const empty = inMemory || readdirSync(dataDir).every((f) => f === LOCK_FILE);
  const tpl = templatePaths();
  if (empty && !inMemory) {
    try {
      if (copyTemplateDir(dataDir, tpl.dir)) return await PGlite.create(dataDir, { startParams });
    } catch (e) {
      log?.warn({ err: { message: (e as Error).message }, template: tpl.dir }, 'embedded database: template directory unusable');
      clear();
    }
  }
  const tarball = empty ? await readTarball(tpl.tarball) : undefined;
  if (tarball) {
    try {
      return await PGlite.create(dataDir, { startParams, loadDataDir: tarball });
    } catch (e) {
      // a tarball this PGlite cannot start from: forget it, clear what it unpacked, run initdb
      log?.warn({ err: { message: (e as Error).message }, template: tpl.tarball }, 'embedded database: template unusable, running initdb');
      rmSync(tpl.tarball, { force: true });
      if (!inMemory) clear();
    }
  }
  const pglite = await PGlite.create(dataDir, { startParams });
  // only an in-memory cluster is dumped: a directory's dump would carry its lock file to the next one
  if (inMemory) {
    try {
      writeTarball(await dumpCluster(pglite), tpl.tarball);
      log?.info({ template: tpl.tarball }, 'embedded database: template written for the next new database');
    } catch {
      // a read-only install: every new database runs initdb, as it did before templates
    }
  }
  return pglite;
}
