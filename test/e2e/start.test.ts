// `npm start` (dist/scripts/start.js) and Ctrl-C: a terminal sends SIGINT to the whole foreground
// process group. The stack must stop within its bounded stop sequence and leave no process behind;
// when the sequence hangs, a second Ctrl-C ends it at once, children included.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childrenOf, commandOf, groupMembers } from '../../devkit/proc';
import { freePort } from '../../devkit/process';
import { distPath } from '../../devkit/root';

const START_JS = distPath('scripts', 'start.js');
const built = fs.existsSync(START_JS) && fs.existsSync(distPath('keycloak', 'dev-idp', 'main.js'));
const d = built || process.env.CI ? describe : describe.skip;
if (!built) console.warn('start.test: dist/scripts/start.js missing (run `npx tsc -p tsconfig.json`); SKIPPED');

/** True while any process of the group runs (zombies left to init do not count). */
const groupAlive = (pgid: number): boolean => groupMembers(pgid).length > 0;

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return ok();
}

interface Started {
  child: ChildProcess;
  pgid: number;
  out(): string;
  exit: Promise<{ code: number | null; signal: string | null }>;
}

/** start.js in its own process group (as a terminal runs it), on free ports, in an empty directory. */
async function startStack(dir: string): Promise<Started> {
  const [idp, validator, upstream, https, http] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const child = spawn(process.execPath, [START_JS], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      TMPDIR: os.tmpdir(),
      DEV_IDP_PORT: String(idp),
      PORT: String(validator),
      DEMO_UPSTREAM_PORT: String(upstream),
      GATEWAY_HTTPS_PORT: String(https),
      GATEWAY_HTTP_PORT: String(http),
      DATA_DIR: 'memory://',
    },
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = await until(() => out.includes('Ctrl-C stops everything.') || child.exitCode !== null, 60_000);
  if (!ready || child.exitCode !== null) {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
    throw new Error(`npm start did not come up:\n${out}`);
  }
  return { child, pgid: child.pid!, out: () => out, exit };
}

d('npm start and Ctrl-C', () => {
  let dir: string;
  let running: Started | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-start-'));
  });
  afterEach(() => {
    if (running && groupAlive(running.pgid)) process.kill(-running.pgid, 'SIGKILL');
    running = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('one SIGINT to the process group stops the whole stack, exit code 0, nothing left', async () => {
    running = await startStack(dir);
    expect(childrenOf(running.child.pid!).length).toBeGreaterThan(0); // the dev IdP, NGINX when installed
    process.kill(-running.pgid, 'SIGINT');
    const t0 = Date.now();
    expect(await running.exit).toEqual({ code: 0, signal: null });
    expect(await until(() => !groupAlive(running!.pgid), 5000)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 90_000);

  test('a stop sequence that hangs (the dev IdP frozen): a second SIGINT exits at once and takes the children along', async () => {
    running = await startStack(dir);
    const idp = childrenOf(running.child.pid!).find((pid) => commandOf(pid).includes('dev-idp'));
    expect(idp).toBeDefined();
    process.kill(idp!, 'SIGSTOP'); // it will not answer SIGTERM: the stop sequence waits on it
    process.kill(-running.pgid, 'SIGINT');
    await new Promise((r) => setTimeout(r, 1000));
    expect(running.child.exitCode).toBeNull(); // still in its stop sequence
    process.kill(-running.pgid, 'SIGINT');
    const t0 = Date.now();
    expect(await running.exit).toEqual({ code: 130, signal: null });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await until(() => !groupAlive(running!.pgid), 5000)).toBe(true);
    expect(running.out()).toMatch(/SIGINT again: exiting now/);
  }, 90_000);
});
