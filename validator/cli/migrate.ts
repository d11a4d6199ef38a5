// `npm run migrate`: apply pending migrations to DATABASE_URL, or to the embedded store in DATA_DIR.
import { openDb } from '../store/db';
import { loadDotenv, storeOptionsFromEnv } from './env';
import { migrate } from '../store/migrate';

let target = ''; // named in the error line once known

async function main(): Promise<number> {
  loadDotenv();
  const opts = storeOptionsFromEnv();
  target = opts.url ? redact(opts.url) : `embedded database in ${opts.dataDir}`;
  const db = await openDb(opts);
  try {
    const r = await migrate(db.pool);
    for (const f of r.applied) console.log(`applied ${f}`);
    console.log(`migrations: ${r.applied.length} applied, ${r.skipped.length} already applied (${target})`);
    return 0;
  } finally {
    await db.close();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error & { code?: string }) => {
    console.error(`migrate failed${target ? ` (${target})` : ''}: ${err.message}${err.code && !err.message.includes(err.code) ? ` [${err.code}]` : ''}`);
    process.exit(1);
  },
);
