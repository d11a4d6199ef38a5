// A pre-initialised PGlite cluster (a directory, and the same as a gzipped tar), so that a new embedded
// database is copied or unpacked instead of made by initdb. PGlite runs initdb in a second Postgres instance
// and an initdb module beside the first, all in WASM memory that never shrinks: a fresh open took
// 5–16 s and peaked at 750–900 MB RSS (docs/PERFORMANCE.md, bench/embedded-footprint.ts).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** PGlite's package directory and version: a template is only ever loaded by the PGlite that made it. */
function pglitePackage(): { dir: string; version: string } {
  // dist/index.cjs → the package directory (package.json is not in its "exports")
  const dir = path.resolve(path.dirname(require.resolve('@electric-sql/pglite')), '..');
  const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  return { dir, version };
}

/** The template for the installed PGlite: a cluster directory, and the same cluster as a tarball (for memory://). */
export interface TemplatePaths {
  dir: string;
  tarball: string;
}

/**
 * Where the template for the installed PGlite lives: node_modules/.cache/tollgate/ beside the PGlite
 * package (the usual place for a tool's cache; the image build writes it there, see Dockerfile).
 */
export function templatePaths(): TemplatePaths {
  const { dir, version } = pglitePackage();
  const base = path.resolve(dir, '../../.cache/tollgate', `pglite-${version}-pgdata`);
  return { dir: base, tarball: `${base}.tar.gz` };
}

/** The tarball as a Blob for PGlite's `loadDataDir`, or undefined when there is none. */
export async function readTarball(file = templatePaths().tarball): Promise<Blob | undefined> {
  try {
    return await fs.openAsBlob(file, { type: 'application/x-gzip' });
  } catch {
    return undefined;
  }
}

/** Writes `data` as the tarball, whole or not at all (a temporary file renamed), so that a reader never sees half of one. */
export function writeTarball(data: Uint8Array, file = templatePaths().tarball): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Copies the template directory into `dataDir` (which holds no cluster) and returns true; false when
 * there is no template directory. PG_VERSION, what marks a cluster, is copied last: a copy cut short
 * is not taken for a database. Plain file copies: no JS memory, unlike unpacking the tarball.
 */
export function copyTemplateDir(dataDir: string, from = templatePaths().dir): boolean {
  if (!fs.existsSync(path.join(from, 'PG_VERSION'))) return false;
  fs.cpSync(from, dataDir, { recursive: true, filter: (src) => src !== path.join(from, 'PG_VERSION') });
  fs.copyFileSync(path.join(from, 'PG_VERSION'), path.join(dataDir, 'PG_VERSION'));
  return true;
}

/** A cluster as PGlite's dumpDataDir writes it, checkpointed first so that loading it needs no WAL replay. */
export async function dumpCluster(pglite: { exec(sql: string): Promise<unknown>; dumpDataDir(c: 'gzip'): Promise<Blob> }): Promise<Uint8Array> {
  await pglite.exec('CHECKPOINT');
  return new Uint8Array(await (await pglite.dumpDataDir('gzip')).arrayBuffer());
}

/**
 * Makes whatever of the template is missing (one initdb, in a temporary directory renamed into place)
 * and returns its paths. Run where memory is plentiful: at image build time, or once on a developer's
 * machine (a first in-memory open writes the tarball too).
 */
export async function ensureTemplate(paths = templatePaths()): Promise<TemplatePaths> {
  if (fs.existsSync(path.join(paths.dir, 'PG_VERSION')) && fs.existsSync(paths.tarball)) return paths;
  const { PGlite } = await import('@electric-sql/pglite');
  const tmp = `${paths.dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(paths.dir), { recursive: true });
    const pglite = await PGlite.create(tmp);
    try {
      if (!fs.existsSync(paths.tarball)) writeTarball(await dumpCluster(pglite), paths.tarball);
    } finally {
      await pglite.close(); // a clean shutdown: the copy opens without recovery
    }
    if (!fs.existsSync(paths.dir)) fs.renameSync(tmp, paths.dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return paths;
}

/** `node dist/validator/store/embedded-template.js`: ensureTemplate(), prints the paths. */
if (require.main === module) {
  ensureTemplate().then(
    (p) => process.stdout.write(`${p.dir}\n${p.tarball}\n`),
    (e: unknown) => {
      process.stderr.write(`tollgate: could not make the PGlite template: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
