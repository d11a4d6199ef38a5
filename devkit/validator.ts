// Runs the built validator (`node dist/validator/server.js`) as a child process, as an operator
// would, and waits for its `listening` log line. Shared by the process, e2e, perimeter, deploy and
// reliability tests and by the soak.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startChild } from './process';
import { distPath } from './root';

export const VALIDATOR_JS = distPath('validator', 'server.js');

/**
 * Node flags the validator is run with, here as in the image's CMD and `npm run validator` (a test
 * holds the Dockerfile to this list): Node 22+ sizes V8's young generation from the host's memory,
 * up to 3 × 64 MB, which alone put a validator past 200 MB of RSS; 8 MB semi-spaces kept the same
 * decision rate at ~141 MB peak (docs/PERFORMANCE.md, Memory).
 */
export const VALIDATOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

export interface ValidatorProcess {
  pid: number;
  port: number;
  url: string;
  /** Its working directory (empty at start, removed by stop()): where it reads .env and keys.env. */
  cwd: string;
  child: ChildProcess;
  /** stdout + stderr so far (JSON log lines; the first 2 MB). */
  logs(): string;
  /** Resolves with the exit code or signal once the process ended. */
  exited: Promise<number | string>;
  /** SIGTERM (drain), SIGKILL after `graceMs` (default 5 s); returns at once if it already exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** The port of pino's `listening` line, or undefined for any other line. */
function listeningPort(line: string): number | undefined {
  if (!line.includes('"listening"')) return undefined;
  try {
    const j = JSON.parse(line) as { msg?: string; port?: number };
    return j.msg === 'listening' && j.port ? j.port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `dist/validator/server.js` (build first) with `env` on 127.0.0.1 (PORT 0 unless given),
 * in an empty working directory so that no stray .env is read; resolves on its `listening` line.
 * `timeoutMs` is scaled by the machine's load (startupTimeout).
 */
export async function spawnValidator(env: Record<string, string>, timeoutMs = 20_000): Promise<ValidatorProcess> {
  if (!fs.existsSync(VALIDATOR_JS)) throw new Error(`${VALIDATOR_JS} is missing: run \`npx tsc -p tsconfig.json\` first`);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-rel-'));
  const c = await startChild(process.execPath, [...VALIDATOR_NODE_FLAGS, VALIDATOR_JS], {
    name: 'validator',
    cwd,
    tmpDir: cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DATA_DIR: 'memory://', ...env },
    timeoutMs,
    ready: { line: listeningPort },
  });
  const port = c.ready;
  return {
    pid: c.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    cwd,
    child: c.child,
    logs: c.logs,
    exited: c.exited,
    stop: (graceMs = 5000) => c.stop(graceMs),
  };
}
