// tollgate under test: the same startValidator() that `node dist/validator/server.js` runs, with the
// environment the bench gives it. Logs go to stdout (the parent points it at a file), as deployed.
// BENCH_SEED_CONFIRMED=N first writes N confirmed Supabase users into the store (bench-only).
import { openDb } from '../../validator/store/db';
import { migrate } from '../../validator/store/migrate';
import { startValidator } from '../../validator/server';
import { benchUserId } from '../users';

async function seedConfirmedUsers(n: number): Promise<void> {
  const db = await openDb({
    url: process.env.DATABASE_URL,
    dataDir: process.env.DATA_DIR ?? './.data',
    poolMax: 1,
    statementTimeoutMs: 0,
    ssl: false,
    defaultDailyTicks: 1,
  });
  try {
    await migrate(db.pool);
    const ids = Array.from({ length: n }, (_, i) => benchUserId(i));
    await db.pool.query(
      `INSERT INTO auth.users (id, email, email_confirmed_at) SELECT id, id || '@bench.example', now() FROM unnest($1::text[]) AS id ON CONFLICT (id) DO NOTHING`,
      [ids],
    );
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const seed = Number(process.env.BENCH_SEED_CONFIRMED ?? 0);
  if (seed > 0) await seedConfirmedUsers(seed);
  const v = await startValidator(process.env);
  process.send?.({ port: v.port, name: 'tollgate' });
  process.once('SIGTERM', () => void v.close().then(() => process.exit(0)));
}

main().catch((e: Error) => {
  process.stderr.write(`bench tollgate: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
