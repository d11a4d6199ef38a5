// The quota store's settings (DATABASE_*, DATA_DIR, MIGRATE_ON_START, QUOTA_DEFAULT_DAILY_TICKS,
// QUOTA_TIMEZONE): part of Config, and all that `npm run migrate` and `npm run quota` need.
import type { RawEnv } from './env';
import { Reading } from './read';
import type { VariableName } from './schema';

/** Options to open a store. `url` absent → embedded PGlite in `dataDir`. */
export interface StoreOptions {
  /** postgres:// URL of a server; undefined → embedded PGlite. */
  url?: string;
  /** Embedded data directory (default ./.data); 'memory://' for an in-memory database. */
  dataDir: string;
  /** Max pooled connections to a server (DATABASE_POOL_MAX, default 10). */
  poolMax: number;
  /** Per-statement timeout in ms (DATABASE_STATEMENT_TIMEOUT_MS, default 2000). */
  statementTimeoutMs: number;
  /** TLS for managed Postgres: false, or 'require' (encrypt, no CA check) / 'verify-full'. */
  ssl: false | 'require' | 'verify-full';
  /** Daily limit for a profile created on first charge (QUOTA_DEFAULT_DAILY_TICKS, default 32). */
  defaultDailyTicks: number;
  /** Apply pending migrations (migrations/) when opening (MIGRATE_ON_START). Default false. */
  migrate?: boolean;
}

export type DatabaseConfig = StoreOptions & { readonly migrateOnStart: boolean };

/** The variables the store settings are made of (NODE_ENV decides MIGRATE_ON_START's default). */
const STORE_VARIABLES: readonly VariableName[] = [
  'NODE_ENV',
  'DATABASE_URL',
  'DATA_DIR',
  'DATABASE_POOL_MAX',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'DATABASE_SSL',
  'MIGRATE_ON_START',
  'QUOTA_DEFAULT_DAILY_TICKS',
  'QUOTA_TIMEZONE',
];

/** Builds the store settings from a Reading without errors (every defaulted value is present). */
export function storeSettings(r: Reading): { database: DatabaseConfig; timezone: string } {
  const v = r.values;
  const ssl = v.DATABASE_SSL!;
  return {
    timezone: v.QUOTA_TIMEZONE!,
    database: {
      url: v.DATABASE_URL,
      dataDir: v.DATA_DIR!,
      poolMax: v.DATABASE_POOL_MAX!,
      statementTimeoutMs: v.DATABASE_STATEMENT_TIMEOUT_MS!,
      ssl: ssl === 'false' ? false : ssl,
      defaultDailyTicks: v.QUOTA_DEFAULT_DAILY_TICKS!,
      // a production database is migrated by a deliberate step (npm run migrate), not by whichever replica starts first
      migrateOnStart: v.MIGRATE_ON_START ?? v.NODE_ENV !== 'production',
    },
  };
}

/**
 * The store settings alone, without any issuer: what the operator CLIs need. Throws ConfigErrors
 * listing every problem of these variables.
 */
export function parseStoreConfig(env: RawEnv): { database: DatabaseConfig; timezone: string } {
  const r = new Reading(env, STORE_VARIABLES);
  r.throwIfAny();
  return storeSettings(r);
}
