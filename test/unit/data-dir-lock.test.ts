// The embedded store's one-writer lock: a live holder is named in the refusal, a dead one's lock
// is taken over, a lock from another host is never guessed at, and release removes only our own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../validator/store/data-dir-lock';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-lock-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
const dir = () => path.join(root, `d${n++}`);
const lockFile = (d: string) => path.join(d, LOCK_FILE);

/**
 * A pid no process can have: above the kernel's pid_max (Linux: /proc/sys/kernel/pid_max; 2^22 is
 * its ceiling on 64-bit), so kill(pid, 0) answers ESRCH as for a holder that exited.
 */
function deadPid(): number {
  const max = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  return (Number.isInteger(max) && max > 0 ? max : 4_194_304) + 1;
}

test('the lock names this process; a second taker is refused with the holder; release frees it', () => {
  const d = dir();
  const release = lockDataDir(d);
  const held = JSON.parse(fs.readFileSync(lockFile(d), 'utf8'));
  expect(held).toMatchObject({ pid: process.pid, host: os.hostname() });
  let err: unknown;
  try {
    lockDataDir(d);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DataDirLockedError);
  expect((err as Error).message).toMatch(
    new RegExp(`^DATA_DIR ${d.replace(/[/\\]/g, '.')} is in use by pid ${process.pid} \\(.*\\): the embedded database has one writer`),
  );
  release();
  expect(fs.existsSync(lockFile(d))).toBe(false);
  lockDataDir(d)(); // free again
});

test('a lock left by a dead process is taken over', () => {
  const d = dir();
  fs.mkdirSync(d);
  const pid = deadPid();
  fs.writeFileSync(lockFile(d), JSON.stringify({ pid, host: os.hostname(), command: 'the validator', since: '2020-01-01T00:00:00Z' }));
  const release = lockDataDir(d);
  expect(JSON.parse(fs.readFileSync(lockFile(d), 'utf8')).pid).toBe(process.pid);
  release();
  expect(fs.readdirSync(d)).toEqual([]); // nothing left beside: the stale lock moved aside was removed
});

test('a live pid that started after the lock was written is not its holder (pid reuse)', () => {
  const d = dir();
  fs.mkdirSync(d);
  fs.writeFileSync(lockFile(d), JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'x', since: 'then', start: '1' }));
  lockDataDir(d)();
});

test("a half-written lock is stale; another host's lock is refused with the file to remove", () => {
  const a = dir();
  fs.mkdirSync(a);
  fs.writeFileSync(lockFile(a), '{"pid": 12');
  lockDataDir(a)();

  const b = dir();
  fs.mkdirSync(b);
  fs.writeFileSync(lockFile(b), JSON.stringify({ pid: 1, host: 'another-host', command: 'the validator', since: 'then' }));
  expect(() => lockDataDir(b)).toThrow(new RegExp(`in use by pid 1 on another-host .*remove ${lockFile(b).replace(/[/\\.]/g, '.')}`));
});

test('release leaves a lock that is no longer ours alone', () => {
  const d = dir();
  const release = lockDataDir(d);
  fs.writeFileSync(lockFile(d), JSON.stringify({ pid: 1, host: 'other', command: 'x', since: 'now' }));
  release();
  expect(fs.existsSync(lockFile(d))).toBe(true);
});
