// Child processes for the tests, the bench, the soak and `npm start`: spawned so that they die with
// this process, started against a readiness check and a deadline that grows with the machine's
// load, stopped by PID without ever waiting for an exit that already happened.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface SpawnOptions {
  /** Names the process in errors. */
  name: string;
  cwd?: string;
  /** The child's whole environment. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** A directory the child owns: removed once it has stopped, or when this process exits. */
  tmpDir?: string;
  /**
   * The signal the child gets if this process dies without stopping it (PR_SET_PDEATHSIG, set by
   * util-linux setpriv before it execs the command, so `pid` is the command's own). KILL by default;
   * TERM for a master that must stop its own workers: NGINX's workers outlive a SIGKILLed master.
   */
  deathSignal?: 'KILL' | 'TERM';
  /**
   * stdout and stderr straight into this file (appended) instead of this process's memory: for a
   * child that logs a line per request under load, whose pipe would cost this process CPU.
   * logs() then reads the file's tail.
   */
  logFile?: string;
  /** With in-memory output: also append it to this file. */
  tee?: string;
  /** An IPC channel (a Node child's process.send). */
  ipc?: boolean;
  /** Characters of output kept in memory; the rest is read and dropped. Default 2,000,000. */
  maxLog?: number;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** stdout + stderr so far (or the tail of `logFile`). */
  logs(): string;
  /** The exit code, or the signal's name, once the process has ended (`spawn-error` if it never ran). */
  readonly exited: Promise<number | string>;
  alive(): boolean;
  /**
   * SIGTERM, then SIGKILL after `graceMs` (0: SIGKILL at once); returns at once when the process has
   * already exited. Then removes `tmpDir`. Idempotent. Default grace: 5 s.
   */
  stop(graceMs?: number): Promise<void>;
  /** Calls `fn` with every complete stdout line from now on (in-memory output only); returns the unsubscribe. */
  onLine(fn: (line: string) => void): () => void;
}

/**
 * How a started child says it is ready: a stdout line, an IPC message, or a check polled every
 * 25 ms (it may throw to give up at once). The first value that is not undefined is the answer.
 */
export type Ready<T> =
  | { line: (line: string) => T | undefined }
  | { message: (message: unknown) => T | undefined }
  | { poll: (child: Child) => Promise<T | undefined> | T | undefined };

export interface StartOptions<T> extends SpawnOptions {
  ready: Ready<T>;
  /** Deadline for readiness before load scaling (startupTimeout). Default 20 s. */
  timeoutMs?: number;
}

export type Started<T> = Child & { ready: T };

/**
 * `baseMs` scaled by the machine's load: base × (1 + 1-minute load average / cores), at most 4×.
 * A start-up that takes 2 s on an idle machine takes several times that while other suites and
 * builds share the cores; a fixed deadline then fails healthy processes.
 */
export function startupTimeout(baseMs: number): number {
  const factor = 1 + os.loadavg()[0]! / Math.max(1, os.availableParallelism());
  return Math.round(baseMs * Math.min(4, factor));
}

/** Children still running, with what to do to them if this process exits without stopping them. */
const live = new Map<number, { signal: NodeJS.Signals; tmpDir?: string }>();
let sweeping = false;
function sweepOnExit(): void {
  if (sweeping) return;
  sweeping = true;
  // 'exit' covers process.exit() and a normal end; a death by signal is covered by the death signal.
  process.once('exit', () => {
    for (const [pid, { signal, tmpDir }] of live) {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
      if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  });
}

let setpriv: string | null | undefined;
/** util-linux setpriv when installed (Linux); elsewhere children are only swept on a normal exit. */
function findSetpriv(): string | null {
  if (setpriv === undefined) setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p)) ?? null;
  return setpriv;
}

/** Spawns `cmd args`, tied to this process's life (see SpawnOptions.deathSignal). */
export function spawnChild(cmd: string, args: string[], opts: SpawnOptions): Child {
  sweepOnExit();
  const deathSignal = opts.deathSignal ?? 'KILL';
  const wrapper = findSetpriv();
  const [bin, ...pre] = wrapper ? [wrapper, '--pdeathsig', deathSignal, '--', cmd] : [cmd];
  const fd = opts.logFile ? fs.openSync(opts.logFile, 'a') : undefined;
  const stdio: StdioOptions = ['ignore', fd ?? 'pipe', fd ?? 'pipe', ...(opts.ipc ? ['ipc' as const] : [])];
  const child = spawn(bin!, [...pre, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio });
  if (fd !== undefined) fs.closeSync(fd);

  const maxLog = opts.maxLog ?? 2_000_000;
  let out = '';
  let partial = '';
  const lineListeners = new Set<(line: string) => void>();
  let tee = opts.tee ? fs.openSync(opts.tee, 'a') : undefined;
  const collect = (b: Buffer): void => {
    if (out.length < maxLog) out += b.toString();
    if (tee !== undefined) fs.writeSync(tee, b);
  };
  // 'close' comes after the last output ('exit' may come before it)
  child.once('close', () => {
    if (tee !== undefined) fs.closeSync(tee);
    tee = undefined;
  });
  child.stdout?.on('data', (b: Buffer) => {
    collect(b);
    if (lineListeners.size === 0) return;
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) for (const fn of lineListeners) fn(line);
  });
  child.stderr?.on('data', collect);

  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      out += `\nspawn failed: ${err.message}`;
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const alive = (): boolean => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  if (child.pid !== undefined) live.set(child.pid, { signal: deathSignal === 'TERM' ? 'SIGTERM' : 'SIGKILL', tmpDir: opts.tmpDir });
  const cleanup = (): void => {
    if (child.pid !== undefined) live.delete(child.pid);
    if (opts.tmpDir) fs.rmSync(opts.tmpDir, { recursive: true, force: true });
  };
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> =>
    (stopping ??= (async () => {
      if (alive()) {
        child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
        const t = graceMs > 0 ? setTimeout(() => child.kill('SIGKILL'), graceMs) : undefined;
        await exited;
        clearTimeout(t);
      }
      cleanup();
    })());
  // An exit nobody asked for still releases the child's resources.
  void exited.then(() => {
    if (!stopping) stopping = Promise.resolve().then(cleanup);
  });

  return {
    name: opts.name,
    pid: child.pid ?? -1,
    child,
    logs: () => (opts.logFile ? tail(opts.logFile) : out),
    exited,
    alive,
    stop,
    onLine(fn) {
      lineListeners.add(fn);
      return () => void lineListeners.delete(fn);
    },
  };
}

/**
 * Spawns and waits until `opts.ready` yields a value (returned as `ready`). When the child exits
 * first, the check throws or the deadline passes, the child is killed and the error carries its output.
 */
export async function startChild<T>(cmd: string, args: string[], opts: StartOptions<T>): Promise<Started<T>> {
  const c = spawnChild(cmd, args, opts);
  const timeoutMs = startupTimeout(opts.timeoutMs ?? 20_000);
  const fail = async (why: string, cause?: unknown): Promise<never> => {
    await c.stop(0);
    if (cause instanceof Error) throw cause;
    throw new Error(`${opts.name} did not start: ${why}\n${c.logs()}`);
  };
  const ready = await new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (v: T): void => {
      if (done) return;
      done = true;
      cleanup();
      resolve(v);
    };
    const abort = (why: string, cause?: unknown): void => {
      if (done) return;
      done = true;
      cleanup();
      fail(why, cause).catch(reject);
    };
    const timer = setTimeout(() => abort(`not ready within ${timeoutMs} ms`), timeoutMs);
    void c.exited.then((code) => abort(`${typeof code === 'number' ? `exited with code ${code}` : `ended by ${code}`} during start-up`));
    let unsubscribe = (): void => undefined;
    let polling: NodeJS.Timeout | undefined;
    const r = opts.ready;
    if ('line' in r) {
      unsubscribe = c.onLine((line) => {
        const v = r.line(line);
        if (v !== undefined) finish(v);
      });
    } else if ('message' in r) {
      const onMessage = (m: unknown): void => {
        const v = r.message(m);
        if (v !== undefined) finish(v);
      };
      c.child.on('message', onMessage);
      unsubscribe = () => void c.child.off('message', onMessage);
    } else {
      const tick = async (): Promise<void> => {
        if (done) return;
        try {
          const v = await r.poll(c);
          if (v !== undefined) return finish(v);
        } catch (err) {
          return abort((err as Error).message, err);
        }
        if (!done) polling = setTimeout(() => void tick(), 25);
      };
      void tick();
    }
    function cleanup(): void {
      clearTimeout(timer);
      clearTimeout(polling);
      unsubscribe();
    }
  });
  return Object.assign(c, { ready });
}

/** The last `lines` lines of a file ('' when it cannot be read). */
export function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A port nobody listens on right now (127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** True when a TCP connection to host:port opens (it is closed again at once). */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** True for an executable regular file. */
function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The program a tool would run: `env[override]` when that variable is set (and executable), else the
 * first executable `name` on env.PATH, then in `extraDirs` (sbin directories a user's PATH may lack).
 */
export function findExecutable(name: string, opts: { env?: NodeJS.ProcessEnv; override?: string; extraDirs?: string[] } = {}): string | undefined {
  const env = opts.env ?? process.env;
  const chosen = opts.override ? env[opts.override] : undefined;
  if (chosen) return isExecutable(chosen) ? chosen : undefined;
  const dirs = [...(env.PATH ?? '').split(path.delimiter), ...(opts.extraDirs ?? [])].filter(Boolean);
  return dirs.map((d) => path.join(d, name)).find(isExecutable);
}
