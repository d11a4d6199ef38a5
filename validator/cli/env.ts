// Store settings for the operator CLIs (`npm run migrate`, `npm run quota`): the same parser, defaults,
// `<NAME>_FILE` secrets and .env / keys.env loading as the validator, without requiring an issuer.
import { parseStoreConfig } from '../config';
import { loadDotenv as mergeDotenv, type RawEnv } from '../config/env';
import { ConfigError } from '../errors';
import type { StoreOptions } from '../store/types';

/** A configuration error, as the CLIs report it. */
export { ConfigError as EnvError };

let merged: RawEnv | undefined;

/** Merges `.env` then `keys.env` from the working directory under the real environment (which wins). */
export function loadDotenv(): void {
  merged = mergeDotenv(process.env);
}

const current = (env?: RawEnv): RawEnv => env ?? merged ?? process.env;

/** DATABASE_URL (unset → embedded in DATA_DIR), pool, timeouts, TLS, default daily limit. */
export function storeOptionsFromEnv(env?: RawEnv): StoreOptions {
  return parseStoreConfig(current(env)).database;
}

/** QUOTA_TIMEZONE (default UTC): the zone whose midnight starts a new quota day. */
export function quotaTimeZoneFromEnv(env?: RawEnv): string {
  return parseStoreConfig(current(env)).timezone;
}
