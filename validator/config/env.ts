// Reads raw configuration values: the process environment, `<NAME>_FILE` secrets, and .env / keys.env.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { config as dotenv } from 'dotenv';
import { ConfigError } from '../errors';

export type RawEnv = Readonly<Record<string, string | undefined>>;

/**
 * Load `.env` then `keys.env` from `cwd` into a copy of `env`; variables already in the real
 * environment win (dotenv's default `override: false`), as the Supabase gateway notes describe.
 * Empty means unset here too: a file's `NAME=` sets nothing, and an empty variable in the real
 * environment (compose's `${NAME:-}`) does not hide a value from the files. Missing files are fine.
 * Returns a new object: process.env is not modified.
 */
export function loadDotenv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env };
  for (const file of ['.env', 'keys.env']) {
    const parsed: Record<string, string> = {};
    dotenv({ path: resolve(cwd, file), processEnv: parsed, quiet: true });
    for (const [k, v] of Object.entries(parsed)) if (v !== '' && (merged[k] === undefined || merged[k] === '')) merged[k] = v;
  }
  return merged;
}

/**
 * The value of `name`: `env[name]`, or the content of the file named by `env[name + '_FILE']`
 * (Docker / Kubernetes secrets), trailing newline trimmed. Setting both is an error: it is
 * ambiguous which one the operator meant. Empty strings count as unset, for `name` and for
 * `name_FILE` alike. A file that is empty is an error, not "unset": it is a mounting mistake (a
 * missing secret key, a truncated copy), and taking the default instead could drop every route
 * rule or move the quotas to the embedded database without a word.
 */
export function readVar(env: RawEnv, name: string): string | undefined {
  const direct = env[name] === '' ? undefined : env[name];
  const file = env[`${name}_FILE`] === '' ? undefined : env[`${name}_FILE`];
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(name, `both ${name} and ${name}_FILE are set; set only one of them`);
  }
  if (file === undefined) return direct;
  let content: string;
  try {
    content = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new ConfigError(`${name}_FILE`, `cannot read ${file}: ${(e as Error).message}`);
  }
  if (content === '') throw new ConfigError(`${name}_FILE`, `${file} is empty; put the value in it, or unset ${name}_FILE to take the default`);
  return content;
}
