// `npm run migrate`: apply pending migrations to DATABASE_URL, or to the embedded store in DATA_DIR.
import { parseArgs } from 'node:util';
import { parseStoreConfig } from '../config';
import { loadDotenv } from '../config/env';
import { createLogger } from '../observability/logger';
import { redactUrl } from '../observability/redact-url';
import { openDb } from '../store/db';
import { migrate } from '../store/migrate';

const USAGE = `usage: npm run migrate

Applies the pending migrations (migrations/NNN_*.sql, forward-only, checksummed) to DATABASE_URL,
or to the embedded database in DATA_DIR (default ./.data). Exit status: 0 done, 1 failed, 2 bad arguments.`;

let target = ''; // named in the error line once known

async function apply(args: string[]): Promise<number> {
  try {
    if (parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } }).values.help) {
      console.log(USAGE);
      return 0;
    }
  } catch (e) {
    // strict parseArgs: an option or argument this command does not take
    console.error(`migrate: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const opts = parseStoreConfig(loadDotenv()).database;
  target = opts.url ? redactUrl(opts.url) : `embedded database in ${opts.dataDir}`;
  // Warnings from the pool (a lost connection) go to stderr as the validator's JSON log lines.
  const db = await openDb(opts, createLogger('warn', process.stderr));
  try {
    const r = await migrate(db.pool);
    for (const f of r.applied) console.log(`applied ${f}`);
    console.log(`migrations: ${r.applied.length} applied, ${r.skipped.length} already applied (${target})`);
    return 0;
  } finally {
    await db.close();
  }
}

/** The command (`npm run migrate`, `tollgate migrate`): its exit status, every failure reported on stderr. */
export function main(args: string[]): Promise<number> {
  return apply(args).catch((err: Error & { code?: string }) => {
    console.error(`migrate failed${target ? ` (${target})` : ''}: ${err.message}${err.code && !err.message.includes(err.code) ? ` [${err.code}]` : ''}`);
    return 1;
  });
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
