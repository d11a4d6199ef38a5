// One writer per embedded DATA_DIR, as operators meet it: the CLIs refuse a directory a running
// validator holds (no split brain: the CLI's limit of 500 against the validator's 32), a second
// validator refuses to start on it, and a lock left by a killed validator is taken over.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { distPath } from '../../devkit/root';
import { spawnValidator, VALIDATOR_JS, type ValidatorProcess } from '../../devkit/validator';
import { LOCK_FILE } from '../../validator/store/data-dir-lock';

const TOLLGATE = distPath('validator', 'cli', 'tollgate.js');
const AUTH = { AUTH_MODE: 'hs256', AUTH_ISSUER: 'https://idp.example/realms/x', AUTH_AUDIENCE: 'api', AUTH_JWT_SECRET: 's'.repeat(40) };

let work: string;
let dataDir: string;
let v: ValidatorProcess | undefined;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-writer-'));
  dataDir = path.join(work, 'data');
});
afterAll(async () => {
  await v?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A tollgate command in an empty working directory (no stray .env), on DATA_DIR. */
function tollgate(...args: string[]) {
  const r = spawnSync(process.execPath, [TOLLGATE, ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, QUOTA_TIMEZONE: 'UTC' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('a running validator holds DATA_DIR: the CLIs and a second validator are refused, naming it', async () => {
  v = await spawnValidator({ ...AUTH, DATA_DIR: dataDir });
  const lock = JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8'));
  expect(lock).toMatchObject({ pid: v.pid, command: 'the validator' });

  const held = new RegExp(
    `DATA_DIR ${dataDir.replace(/[/.]/g, '.')} is in use by pid ${v.pid} \\(the validator, since .*\\): the embedded database has one writer`,
  );
  const setLimit = tollgate('quota', 'set-limit', 'alice', '500', '--create');
  expect(setLimit).toMatchObject({ code: 1, out: '' });
  expect(setLimit.err).toMatch(held);
  const migrate = tollgate('migrate');
  expect(migrate.code).toBe(1);
  expect(migrate.err).toMatch(held);

  const second = spawnSync(process.execPath, [VALIDATOR_JS], {
    cwd: work,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', ...AUTH, DATA_DIR: dataDir, PORT: '0', NODE_ENV: 'test' },
  });
  expect(second.status).toBe(1);
  expect(second.stderr).toMatch(/^tollgate: cannot start: DATA_DIR .* is in use by pid \d+ \(the validator/);
  expect(second.stdout).not.toContain('listening');

  // the first one still serves, on its own store, undisturbed
  expect((await fetch(`${v.url}/api/ready`)).status).toBe(200);
});

test('stopped, it releases the directory; killed, its lock is stale and taken over', async () => {
  await v!.stop();
  expect(fs.existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
  expect(tollgate('quota', 'set-limit', 'alice', '500', '--create')).toMatchObject({ code: 0, out: 'alice: daily limit set to 500\n' });

  v = await spawnValidator({ ...AUTH, DATA_DIR: dataDir });
  v.child.kill('SIGKILL');
  await v.exited;
  expect(JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8')).pid).toBe(v.pid); // left behind
  const show = tollgate('quota', 'show', 'alice', '2024-01-01');
  expect(show).toMatchObject({ code: 0, err: '' });
  expect(show.out).toMatch(/^alice\s+2024-01-01\s+0\s+500\s+500$/m);
});
