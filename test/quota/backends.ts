// Runs a block of store tests against each backend: embedded PGlite, and the server
// (a fresh database per test file) when TEST_DATABASE_URL answers.
import type pg from 'pg';
import { openDb, type Db } from '../../validator/store/db';
import { migrate } from '../../validator/store/migrate';
import { createStore } from '../../validator/store';
import type { QuotaStore, StoreOptions } from '../../validator/store/types';
import { freshServerDatabase, serverUrlOrSkip, type FreshDatabase } from '../../devkit/pg';

export type BackendName = 'embedded' | 'server';

export interface BackendEnv {
  name: BackendName;
  opts: StoreOptions;
  /** A migrated store. */
  store: QuotaStore;
  /** The store's own pool, for assertions in SQL. */
  pool: pg.Pool;
}

export function baseOptions(over: Partial<StoreOptions> = {}): StoreOptions {
  return { dataDir: 'memory://', poolMax: 10, statementTimeoutMs: 5000, ssl: false, defaultDailyTicks: 32, ...over };
}

/**
 * Declare `describe('<name> store')` once per backend; the server one is skipped (loudly)
 * when no server is available outside CI. `env()` is valid inside tests and hooks.
 * `prepare` runs on the raw database before migrations (e.g. a Supabase-shaped auth schema).
 */
export function eachBackend(fn: (env: () => BackendEnv) => void, o: { prepare?: (pool: pg.Pool) => Promise<void> } = {}): void {
  const serverUrl = serverUrlOrSkip();
  for (const name of ['embedded', 'server'] as const) {
    const d = name === 'server' && !serverUrl ? describe.skip : describe;
    d(`${name} store`, () => {
      let current: BackendEnv | undefined;
      let db: Db | undefined;
      let fresh: FreshDatabase | undefined;
      beforeAll(async () => {
        if (name === 'server') fresh = await freshServerDatabase(serverUrl);
        const opts = baseOptions({ url: fresh?.url });
        db = await openDb(opts);
        if (o.prepare) await o.prepare(db.pool);
        await migrate(db.pool);
        current = { name, opts, store: createStore(db, opts), pool: db.pool };
      }, 60_000);
      afterAll(async () => {
        await db?.close();
        await fresh?.drop();
      });
      fn(() => {
        if (!current) throw new Error('backend not ready');
        return current;
      });
    });
  }
}

/** Backends to iterate over by hand; `server` is absent when skipped. */
export function backendNames(): BackendName[] {
  return serverUrlOrSkip() ? ['embedded', 'server'] : ['embedded'];
}

/** An empty, unmigrated database of the given kind; `close()` also drops a server database. */
export async function emptyDb(name: BackendName): Promise<{ db: Db; url?: string; close(): Promise<void> }> {
  const fresh = name === 'server' ? await freshServerDatabase() : undefined;
  const db = await openDb(baseOptions({ url: fresh?.url }));
  return {
    db,
    url: fresh?.url,
    async close() {
      await db.close();
      await fresh?.drop();
    },
  };
}
