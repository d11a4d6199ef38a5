// One writer per embedded data directory. PGlite is a single-user Postgres: two processes opening
// the same DATA_DIR each run their own copy of it in memory and overwrite each other's files (the
// validator keeps charging against a limit of 32 that the CLI just set to 500). A lock file in the
// directory names the holder; a lock whose process is gone is taken over.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The lock file's name inside DATA_DIR. Postgres ignores unknown files at the top of its data directory. */
export const LOCK_FILE = 'tollgate.lock';

/** What the lock file says. */
export interface LockHolder {
  pid: number;
  host: string;
  /** The holder's command (`server.js`, `quota.js set-limit`…), for the refusal message. */
  command: string;
  since: string;
  /** Start time of the process (Linux /proc/<pid>/stat field 22): tells a reused pid from the holder. */
  start?: string;
}

/** Another live process holds the directory. */
export class DataDirLockedError extends Error {
  readonly code = 'data_dir_locked';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const who = `pid ${holder.pid}${holder.host === os.hostname() ? '' : ` on ${holder.host}`} (${holder.command}, since ${holder.since})`;
    super(
      `DATA_DIR ${dataDir} is in use by ${who}: the embedded database has one writer. ` +
        'Stop that process first, or use a Postgres server (DATABASE_URL) that several processes can share' +
        (holder.host === os.hostname() ? '' : `; if that host no longer runs it, remove ${path.join(dataDir, LOCK_FILE)}`),
    );
    this.name = 'DataDirLockedError';
  }
}

/** Linux: the process's start time in clock ticks since boot; undefined elsewhere or when it is gone. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command (field 2) is in parentheses and may contain spaces: count fields after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `h` still runs (on this host; another host's cannot be checked). */
function alive(h: LockHolder): boolean {
  if (h.host !== os.hostname()) return true;
  if (!Number.isSafeInteger(h.pid) || h.pid <= 0) return false;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    // EPERM: it exists, owned by another user
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // the pid runs, but is it still the holder? A reused pid starts later than the lock says.
  const now = startTimeOf(h.pid);
  return h.start === undefined || now === undefined || now === h.start;
}

function read(file: string): { raw: string; holder?: LockHolder } | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const h = JSON.parse(raw) as LockHolder;
    return { raw, holder: typeof h?.pid === 'number' && typeof h.host === 'string' ? h : undefined };
  } catch {
    return { raw }; // half-written or foreign: treated as stale below
  }
}

/** What this process is, in the words an operator knows it by. */
function commandOf(): string {
  const script = path.basename(process.argv[1] ?? process.argv0).replace(/\.[cm]?[jt]s$/, '');
  if (script === 'server') return 'the validator';
  if (script === 'tollgate') return `tollgate ${process.argv[2] ?? ''}`.trim();
  if (script === 'quota' || script === 'migrate') return `npm run ${script}`;
  return script;
}

function me(): LockHolder {
  const command = commandOf();
  return { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString(), start: startTimeOf(process.pid) };
}

/**
 * Takes the lock of `dataDir` (created if missing) for this process, or throws DataDirLockedError
 * naming the live holder. A lock left by a dead process (crash, SIGKILL) is taken over. Returns the
 * release function (idempotent; removes the file only while it is still this process's).
 */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  const mine = JSON.stringify(me());
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx', mode: 0o644 });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (read(file)?.raw === mine) fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const found = read(file);
    if (!found) continue; // released meanwhile
    if (found.holder && alive(found.holder)) throw new DataDirLockedError(dataDir, found.holder);
    // Stale. Move it aside atomically, then make sure it was the stale one we moved: a process that
    // took it over meanwhile must keep its lock (put it back and look again).
    const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(file, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    if (fs.readFileSync(aside, 'utf8') !== found.raw) {
      try {
        fs.linkSync(aside, file);
      } catch {
        /* someone locked it again in between: their lock stands, ours is lost; loop and look */
      }
    }
    fs.rmSync(aside, { force: true });
  }
  const last = read(file)?.holder;
  if (last) throw new DataDirLockedError(dataDir, last);
  throw new Error(`cannot lock DATA_DIR ${dataDir}: ${file} keeps changing`);
}
