// Store options from environment variables, for the operator CLIs (the validator's own
// config module may reuse it). Every key has a default; a bad value names the variable.
import dotenv from 'dotenv';
import { isValidTimeZone } from './day';
import type { StoreOptions } from './types';

/** Load `.env` then `keys.env` from the working directory; variables already set win. */
export function loadDotenv(): void {
  // quiet: dotenv >= 17 otherwise prints an "injected env" banner on every run.
  dotenv.config({ path: ['.env', 'keys.env'], quiet: true });
}

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

/**
 * DATABASE_URL (unset → embedded in DATA_DIR, default ./.data), DATABASE_POOL_MAX (10),
 * DATABASE_STATEMENT_TIMEOUT_MS (2000), DATABASE_SSL (false | require | verify-full; default false),
 * QUOTA_DEFAULT_DAILY_TICKS (32).
 */
export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  const ssl = (env.DATABASE_SSL ?? 'false').trim().toLowerCase();
  if (!['false', 'require', 'verify-full'].includes(ssl)) {
    throw new EnvError(`DATABASE_SSL must be false, require or verify-full, got "${env.DATABASE_SSL}"`);
  }
  const url = env.DATABASE_URL?.trim() || undefined;
  if (url && !/^postgres(ql)?:\/\//.test(url)) throw new EnvError('DATABASE_URL must start with postgres:// or postgresql://');
  return {
    url,
    dataDir: env.DATA_DIR?.trim() || './.data',
    poolMax: int(env, 'DATABASE_POOL_MAX', 10, 1),
    statementTimeoutMs: int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 2000, 0),
    ssl: ssl === 'false' ? false : (ssl as 'require' | 'verify-full'),
    defaultDailyTicks: int(env, 'QUOTA_DEFAULT_DAILY_TICKS', 32, 1),
  };
}

/** QUOTA_TIMEZONE (default UTC): the zone whose midnight starts a new quota day. */
export function quotaTimeZoneFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const tz = env.QUOTA_TIMEZONE?.trim() || 'UTC';
  if (!isValidTimeZone(tz)) throw new EnvError(`QUOTA_TIMEZONE must be an IANA time zone such as UTC or Europe/Paris, got "${tz}"`);
  return tz;
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number): number {
  const raw = env[name]?.trim();
  if (!raw) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw new EnvError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return Number(raw);
}
