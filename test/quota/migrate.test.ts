// The migrator: idempotent, refuses edited history, serialises concurrent runs, names the
// failing file and leaves nothing half-applied.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, appendFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../validator/store/db';
import { defaultMigrationsDir, migrate, MigrationError } from '../../validator/store/migrate';
import { backendNames, baseOptions, emptyDb } from './backends';

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-mig-'));
  for (const [f, sql] of Object.entries(files)) writeFileSync(path.join(dir, f), sql);
  return dir;
}

describe.each(backendNames())('%s database', (name) => {
  let t: Awaited<ReturnType<typeof emptyDb>>;
  beforeEach(async () => {
    t = await emptyDb(name);
  }, 60_000);
  afterEach(() => t.close());

  test('applies every file once, records checksums, and is idempotent', async () => {
    const files = readdirSync(defaultMigrationsDir())
      .filter((f) => f.endsWith('.sql'))
      .sort();
    await expect(migrate(t.db.pool)).resolves.toEqual({ applied: files, skipped: [] });
    await expect(migrate(t.db.pool)).resolves.toEqual({ applied: [], skipped: files });
    const { rows } = await t.db.pool.query('SELECT version, name, checksum, applied_at FROM tollgate_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => Number(f.slice(0, 3))));
    for (const r of rows) expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
    // The files themselves re-run cleanly (someone pasted them into the Supabase SQL editor).
    for (const f of files) await t.db.pool.query(readFileSync(path.join(defaultMigrationsDir(), f), 'utf8'));
  });

  test('refuses an applied migration whose file changed, naming the file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-mig-'));
    cpSync(defaultMigrationsDir(), dir, { recursive: true });
    await migrate(t.db.pool, dir);
    appendFileSync(path.join(dir, '002_quota.sql'), '\n-- an innocent-looking edit\n');
    const err = await migrate(t.db.pool, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'migration_changed', file: '002_quota.sql' });
    expect((err as Error).message).toMatch(/002_quota\.sql was changed after it was applied/);
  });

  test('a failing migration names its file and is rolled back; earlier ones stay', async () => {
    const dir = tempDir({
      '001_ok.sql': 'CREATE TABLE mig_ok (id int);',
      '002_bad.sql': 'CREATE TABLE mig_half (id int); SELEC oops;',
    });
    const err = await migrate(t.db.pool, dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'migration_failed', file: '002_bad.sql' });
    expect((err as Error).message).toMatch(/^migration 002_bad\.sql failed: syntax error/);
    const { rows } = await t.db.pool.query("SELECT to_regclass('mig_ok') AS ok, to_regclass('mig_half') AS half");
    expect(rows).toEqual([{ ok: 'mig_ok', half: null }]);
    expect((await t.db.pool.query('SELECT version FROM tollgate_migrations')).rows).toEqual([{ version: 1 }]);
  });

  test('two concurrent migrators apply a non-idempotent migration exactly once', async () => {
    // Without the advisory lock, both would run CREATE TABLE and one would fail.
    const dir = tempDir({ '001_slow.sql': 'SELECT pg_sleep(0.3); CREATE TABLE mig_slow (id int);' });
    const other = name === 'server' ? await openDb(baseOptions({ url: t.url })) : t.db;
    try {
      const [a, b] = await Promise.all([migrate(t.db.pool, dir), migrate(other.pool, dir)]);
      expect([a.applied, b.applied].flat()).toEqual(['001_slow.sql']);
      expect([a.skipped, b.skipped].flat()).toEqual(['001_slow.sql']);
    } finally {
      if (other !== t.db) await other.close();
    }
  });

  test('duplicate version numbers are refused before touching the database', async () => {
    const dir = tempDir({ '001_a.sql': 'SELECT 1;', '001_b.sql': 'SELECT 1;' });
    await expect(migrate(t.db.pool, dir)).rejects.toMatchObject({ code: 'migration_dir_invalid' });
  });
});
