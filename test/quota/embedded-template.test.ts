// The embedded store's footprint: a new database comes from the template (copied on disk, unpacked
// in memory) and not from initdb, with a small buffer pool, and it is a database like any other:
// its own, migrated, charged, reopened with the charges kept, locked by this process alone.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCK_FILE } from '../../validator/store/data-dir-lock';
import { openDb } from '../../validator/store/db';
import { EMBEDDED_SHARED_BUFFERS } from '../../validator/store/embedded';
import { ensureTemplate, templatePaths } from '../../validator/store/embedded-template';
import { migrate } from '../../validator/store/migrate';
import { createStore } from '../../validator/store';
import { baseOptions } from './backends';

const DAY = '2026-01-02';
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tollgate-tpl-'));
  await ensureTemplate(); // made once per PGlite version (node_modules/.cache/tollgate)
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('the template is the installed PGlite’s, as a directory and a tarball', () => {
  const { dir, tarball } = templatePaths();
  const version = JSON.parse(readFileSync(path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')).version;
  expect(path.basename(dir)).toBe(`pglite-${version}-pgdata`);
  expect(existsSync(path.join(dir, 'PG_VERSION'))).toBe(true);
  expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false); // a copy must not bring a lock with it
  expect(existsSync(tarball)).toBe(true);
});

test('a new data directory is copied from the template, charged, and reopened with its charges', async () => {
  const dataDir = path.join(tmp, 'fresh');
  const opts = baseOptions({ dataDir });
  const started = Date.now();
  let db = await openDb(opts);
  try {
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8')).toBe(readFileSync(path.join(templatePaths().dir, 'PG_VERSION'), 'utf8'));
    expect(JSON.parse(readFileSync(path.join(dataDir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    expect((await db.pool.query('SHOW shared_buffers')).rows[0].shared_buffers).toBe(EMBEDDED_SHARED_BUFFERS);
    await migrate(db.pool);
    await expect(createStore(db, opts).charge('u1', 3, DAY)).resolves.toMatchObject({ status: 'charged', used: 3 });
  } finally {
    await db.close();
  }
  expect(readdirSync(dataDir)).not.toContain(LOCK_FILE); // released
  db = await openDb(opts);
  try {
    await expect(migrate(db.pool)).resolves.toMatchObject({ applied: [] });
    await expect(createStore(db, opts).charge('u1', 1, DAY)).resolves.toMatchObject({ status: 'charged', used: 4 });
  } finally {
    await db.close();
  }
}, 60_000);

test('each in-memory database is its own, unpacked from the tarball, with the small buffer pool', async () => {
  const opts = baseOptions();
  const a = await openDb(opts);
  const b = await openDb(opts);
  try {
    expect((await a.pool.query('SHOW shared_buffers')).rows[0].shared_buffers).toBe(EMBEDDED_SHARED_BUFFERS);
    await a.pool.query('CREATE TABLE only_in_a (x int)');
    await expect(b.pool.query("SELECT to_regclass('public.only_in_a') AS t")).resolves.toMatchObject({ rows: [{ t: null }] });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}, 60_000);
