// What the standalone bench scripts share: printing, the median of rounds, starting a bench server
// (tollgate with the flags it ships with), tollgate's bench environment, and an NGINX auth stub.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { canConnect, startChild, type Started } from '../devkit/process';
import { VALIDATOR_NODE_FLAGS } from '../devkit/validator';
import { MAX_DAILY_LIMIT } from '../validator/lib/daily-limit';
import { AUDIENCE, RULES } from './setup';

export const say = (s = '') => process.stdout.write(s + '\n');

/** The upper middle of `xs` (no averaging: every figure printed is one that was measured). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The load averages (1, 5, 15 min), for the lines that say how busy the machine was. */
export const loadAvg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** `xs` rotated by `round`: each round starts with the next case, so drift hits every case alike. */
export const rotated = <T>(xs: readonly T[], round: number): T[] => [...xs.slice(round % xs.length), ...xs.slice(0, round % xs.length)];

/** A bench server: one process, so that its memory is its own. */
export type BenchServer = Started<number> & { port: number; url: string };

/**
 * Runs `<dist>/bench/servers/<script>.js` (dist: this build) with `env` over NODE_ENV=production,
 * stdout/stderr into `<logDir>/<name>.log` (tollgate logs a line per decision: a pipe to this process
 * would cost the load generator CPU), and waits for the `{ port }` it sends over IPC once listening.
 * `execArgv`: extra Node flags (profiling).
 */
export async function startBenchServer(
  name: string,
  script: string,
  env: Record<string, string | undefined>,
  logDir: string,
  opts: { execArgv?: readonly string[]; dist?: string } = {},
): Promise<BenchServer> {
  // tollgate runs with the flags it ships with (the image's CMD); other servers with Node's defaults
  const shipped = script === 'tollgate' ? VALIDATOR_NODE_FLAGS : [];
  const dist = opts.dist ?? path.join(__dirname, '..');
  const c = await startChild(process.execPath, [...shipped, ...(opts.execArgv ?? []), path.join(dist, 'bench', 'servers', `${script}.js`)], {
    name,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...env },
    logFile: path.join(logDir, `${name}.log`),
    ipc: true,
    timeoutMs: 30_000,
    ready: { message: (m) => (typeof (m as { port?: unknown })?.port === 'number' ? (m as { port: number }).port : undefined) },
  });
  return Object.assign(c, { port: c.ready, url: `http://127.0.0.1:${c.ready}` });
}

/** BENCH_EXEC_ARGV split into flags (e.g. '--cpu-prof --cpu-prof-dir=DIR'). */
export const benchExecArgv = (v = process.env.BENCH_EXEC_ARGV) => (v ?? '').split(' ').filter(Boolean);

/**
 * tollgate as the bench runs it: production settings, JWKS from `issuer`, the bench's route rules,
 * a daily quota out of the way, one JSON log line per decision (LOG_LEVEL info); `extra` adds or
 * overrides (the store, the log level, a socket).
 */
export function tollgateEnv(issuer: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    AUTH_MODE: 'jwks',
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_ROUTE_RULES: RULES,
    QUOTA_DEFAULT_DAILY_TICKS: String(MAX_DAILY_LIMIT),
    MIGRATE_ON_START: 'true',
    ...extra,
  };
}

/** The quota store: the bench database on the Postgres server when there is one, else the embedded one in memory. */
export const storeEnv = (db: { url: string } | { skip: string }) => ('url' in db ? { DATABASE_URL: db.url } : { DATA_DIR: 'memory://' });

/**
 * One NGINX (one worker, as tollgate is one process) answering every request on `port` (and on the
 * Unix socket `socket`) `return 200` with a tollgate grant's headers, so an auth_request to it costs
 * the hop and not a validator; `accelExpires` adds X-Accel-Expires (the grant's cache lifetime);
 * `upstreamPort` adds a server answering 200 `{"ok":true}` as the upstream app. Prefix under `dir`.
 */
export async function startNginxStub(
  nginx: string,
  dir: string,
  opts: { name: string; port: number; socket?: string; accelExpires?: number; upstreamPort?: number },
): Promise<Started<boolean>> {
  const prefix = fs.mkdtempSync(path.join(dir, `${opts.name}-`));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/${t};`).join(' ');
  const accel = opts.accelExpires === undefined ? '' : ` add_header X-Accel-Expires ${opts.accelExpires};`;
  const upstream = opts.upstreamPort
    ? `  server { listen 127.0.0.1:${opts.upstreamPort}; location / { default_type application/json; return 200 '{"ok":true}'; } }\n`
    : '';
  fs.writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `worker_processes 1; pid ${prefix}/nginx.pid; error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; ${temp}
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${opts.port};${opts.socket ? `\n    listen unix:${opts.socket};` : ''}
    location / {
      add_header X-User-Id bench-user-0; add_header X-Scopes api:read,api:write; add_header X-Client-Id bench-client;
      add_header X-Request-Id 6634c93c-e06c-4d39-9907-93736ecd5e42;${accel} add_header Cache-Control no-store;
      return 200;
    }
  }
${upstream}}
`,
  );
  const ports = [opts.port, ...(opts.upstreamPort ? [opts.upstreamPort] : [])];
  return startChild(nginx, ['-p', prefix + '/', '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    name: opts.name,
    deathSignal: 'TERM',
    ready: { poll: async () => ((await Promise.all(ports.map((p) => canConnect('127.0.0.1', p)))).every(Boolean) ? true : undefined) },
  });
}

/** A validate request as the server's listener sees it (headers and rawHeaders), for the in-process decision benches. */
export function fakeReq(headers: Record<string, string>): IncomingMessage {
  return Object.assign(new EventEmitter(), {
    method: 'GET',
    url: '/api/auth/validate',
    headers,
    rawHeaders: Object.entries(headers).flat(),
  }) as unknown as IncomingMessage;
}

/**
 * Runs `n` decisions through `listener` in this process, at most 64 in flight as a busy validator has
 * them: request `i` is `reqAt(i)`, each answer's status and body go to `onAnswer`. Resolves after the
 * last answer; the caller reads its clock around it.
 */
export function driveDecisions(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  n: number,
  reqAt: (i: number) => IncomingMessage,
  onAnswer: (status: number, body?: string) => void = () => undefined,
): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    let status = 0;
    // writeHead and end of one decision run in the same synchronous step, so one status slot is enough
    const res = {
      headersSent: false,
      writeHead: (s: number) => {
        status = s;
      },
      end: (body?: string) => {
        onAnswer(status, body);
        if (--left === 0) resolve();
      },
    } as unknown as ServerResponse;
    let sent = 0;
    const pump = (): void => {
      const upto = Math.min(n, sent + 64);
      while (sent < upto) listener(reqAt(sent++), res);
      if (sent < n) setImmediate(pump);
    };
    pump();
  });
}
