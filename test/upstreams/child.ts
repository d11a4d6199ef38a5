// Child-process plumbing shared by the upstream servers: spawn by PID, wait until ready, kill by
// PID, remove the server's temp dir, and never leave a process behind when the test process dies.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export interface TrackedChild {
  pid: number;
  child: ChildProcess;
  /** stdout + stderr so far (capped at 1 MB). */
  logs(): string;
  /** Exit code or signal once the process ended. */
  exited: Promise<number | string>;
  alive(): boolean;
  /** Kill by PID (SIGTERM, SIGKILL after `graceMs`; 0 = SIGKILL at once), then remove `tmpDir`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** PIDs and temp dirs still owned by this process: swept on exit, whatever ended the tests. */
const live = new Map<number, string | undefined>();
let sweeping = false;
function sweepOnExit(): void {
  if (sweeping) return;
  sweeping = true;
  process.once('exit', () => {
    for (const [pid, dir] of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** setpriv (util-linux) when present: the child gets SIGKILL if this process dies without stopping it. */
function deathSignalWrapper(): string[] {
  for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) if (fs.existsSync(p)) return [p, '--pdeathsig', 'KILL', '--'];
  return [];
}

/** Spawns `cmd args` (execs through setpriv, so `pid` is the server's own PID). */
export function spawnTracked(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; tmpDir?: string } = {}): TrackedChild {
  sweepOnExit();
  const [bin, ...pre] = [...deathSignalWrapper(), cmd];
  const child = spawn(bin!, [...pre, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (b: Buffer): void => {
    if (out.length < 1_000_000) out += b.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const removeTmp = (): void => {
    if (opts.tmpDir) fs.rmSync(opts.tmpDir, { recursive: true, force: true });
  };
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      out += `\nspawn failed: ${err.message}`;
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  if (child.pid !== undefined) live.set(child.pid, opts.tmpDir);
  return {
    pid: child.pid ?? -1,
    child,
    logs: () => out,
    exited,
    alive,
    async stop(graceMs = 1000) {
      if (alive()) {
        child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
        const t = graceMs > 0 ? setTimeout(() => child.kill('SIGKILL'), graceMs) : undefined;
        await exited;
        if (t) clearTimeout(t);
      }
      if (child.pid !== undefined) live.delete(child.pid);
      removeTmp();
    },
  };
}

/**
 * Polls `check` every 25 ms until it is true. Throws (after stopping the child) when `check`
 * throws, the child exits first or `timeoutMs` passes; the message carries the child's output.
 */
export async function waitUntil(c: TrackedChild, what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!c.alive()) {
      const code = await c.exited;
      await c.stop(0);
      throw new Error(`${what}: exited (${code}) during start-up:\n${c.logs()}`);
    }
    let ready: boolean;
    try {
      ready = await check();
    } catch (err) {
      await c.stop(0);
      throw err;
    }
    if (ready) return;
    if (Date.now() > deadline) {
      await c.stop(0);
      throw new Error(`${what}: not ready within ${timeoutMs} ms:\n${c.logs()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
