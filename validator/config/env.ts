// Reads raw configuration values: the process environment, `<NAME>_FILE` secrets, and .env / keys.env.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { config as dotenv } from 'dotenv';
import { ConfigError } from '../errors';

export type RawEnv = Readonly<Record<string, string | undefined>>;

/**
 * Load `.env` then `keys.env` from `cwd` into a copy of `env`; variables already in the real
 * environment win (dotenv's default `override: false`), as the Supabase gateway notes describe.
 * Missing files are fine. Returns a new object: process.env is not modified.
 */
export function loadDotenv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env };
  for (const file of ['.env', 'keys.env']) {
    const parsed: Record<string, string> = {};
    dotenv({ path: resolve(cwd, file), processEnv: parsed, quiet: true });
    for (const [k, v] of Object.entries(parsed)) if (merged[k] === undefined) merged[k] = v;
  }
  return merged;
}

/**
 * The value of `name`: `env[name]`, or the content of the file named by `env[name + '_FILE']`
 * (Docker / Kubernetes secrets), trailing newline trimmed. Setting both is an error: it is
 * ambiguous which one the operator meant. Empty strings count as unset.
 */
export function readVar(env: RawEnv, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    throw new ConfigError(name, `both ${name} and ${name}_FILE are set; set only one of them`);
  }
  if (file !== undefined && file !== '') {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError(`${name}_FILE`, `cannot read ${file}: ${(e as Error).message}`);
    }
  }
  return direct === '' ? undefined : direct;
}
