// Child processes of the bench (one per server, so each one's memory is its own) and their RSS,
// read from /proc/PID/status (VmRSS now, VmHWM = the peak since the process started).
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface ServerProc {
  name: string;
  pid: number;
  port: number;
  url: string;
  logFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Forks `dist/bench/servers/<script>.js` with `env`, stdout/stderr to `logFile`, and waits for
 * the `{ port }` message it sends once listening.
 */
export async function startServer(name: string, script: string, env: Record<string, string | undefined>, logDir: string, timeoutMs = 30_000): Promise<ServerProc> {
  const logFile = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  const child = fork(path.join(__dirname, 'servers', `${script}.js`), [], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', fd, fd, 'ipc'],
    execArgv: (env.BENCH_EXEC_ARGV ?? '').split(' ').filter(Boolean),
  });
  fs.closeSync(fd);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report a port within ${timeoutMs} ms; see ${logFile}:\n${tail(logFile)}`)), timeoutMs);
    child.once('message', (m: { port?: number }) => {
      clearTimeout(timer);
      if (typeof m?.port === 'number') resolve(m.port);
      else reject(new Error(`${name}: unexpected message ${JSON.stringify(m)}`));
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited during start-up (${code ?? sig}); see ${logFile}:\n${tail(logFile)}`));
    });
  });
  child.removeAllListeners('exit');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return { name, pid: child.pid!, port, url: `http://127.0.0.1:${port}`, logFile, child, stop };
}

export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** VmRSS and VmHWM of a process in MB (undefined once it is gone). */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** The children of a process (NGINX's workers), from /proc. */
export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Samples the RSS of `pids` every `everyMs` until stopped; returns the peak VmRSS per pid seen. */
export function sampleRss(pids: number[], everyMs = 200): () => Record<number, number> {
  const peak: Record<number, number> = {};
  const take = () => {
    for (const pid of pids) {
      const m = memoryOf(pid);
      if (m && !(m.rssMb <= (peak[pid] ?? 0))) peak[pid] = m.rssMb;
    }
  };
  take();
  const t = setInterval(take, everyMs);
  return () => {
    clearInterval(t);
    take();
    return peak;
  };
}

/** User + system CPU time of a process so far (ms, 10 ms resolution), from /proc/PID/stat. */
export function cpuMsOf(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of stat (utime, stime) are 12 and 13 after the ")"; clock ticks of 10 ms
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}
