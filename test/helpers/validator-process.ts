// Runs the built validator (`node dist/validator/server.js`) as a child process, as an operator
// would, and waits for its `listening` log line. Shared by the process, e2e, deploy and reliability tests.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, fs.existsSync(path.join(__dirname, '..', '..', 'package.json')) ? '../..' : '../../..');
export const VALIDATOR_JS = path.join(ROOT, 'dist', 'validator', 'server.js');

export interface ValidatorProcess {
  pid: number;
  port: number;
  url: string;
  child: ChildProcess;
  /** stdout + stderr so far (JSON log lines). */
  logs(): string;
  /** Resolves with the exit code or signal once the process ended. */
  exited: Promise<number | string>;
  /** SIGTERM (drain), SIGKILL after `graceMs`; idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `dist/validator/server.js` (build first) with `env` on 127.0.0.1 (PORT 0 unless given),
 * in an empty working directory so that no stray .env is read; resolves on its `listening` line.
 */
export async function spawnValidator(env: Record<string, string>, timeoutMs = 20_000): Promise<ValidatorProcess> {
  if (!fs.existsSync(VALIDATOR_JS)) throw new Error(`${VALIDATOR_JS} is missing: run \`npx tsc -p tsconfig.json\` first`);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-rel-'));
  const child = spawn(process.execPath, [VALIDATOR_JS], {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DATA_DIR: 'memory://', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve(code ?? signal ?? -1);
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`validator did not log "listening" within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      const before = out.length;
      out += b.toString();
      // only scan complete lines added since the last chunk
      for (const line of out.slice(Math.max(0, out.lastIndexOf('\n', before) + 1)).split('\n')) {
        if (!line.includes('"listening"')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg === 'listening' && j.port) {
            clearTimeout(timer);
            resolve(j.port);
          }
        } catch {
          /* partial line */
        }
      }
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`validator exited (${code}) during start-up:\n${out}`));
    });
  });
  // keep memory flat in long runs: stop buffering logs beyond 2 MB
  child.stdout!.removeAllListeners('data');
  child.stdout!.on('data', (b: Buffer) => {
    if (out.length < 2_000_000) out += b.toString();
  });
  return {
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    logs: () => out,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

