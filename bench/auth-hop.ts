// Where the NGINX auth hop's time goes: the same gateway (the repository's templates, HTTPS) and
// upstream, measured three ways in one interleaved run — no auth (/api/public/*), auth_request to
// tollgate (a cached decision), and auth_request to NGINX itself answering `return 200` with the
// headers of a tollgate grant. The third separates the hop's own cost (the subrequest, its
// keep-alive connection, auth_request_set) from the validator's.
//   node dist/bench/auth-hop.js [seconds per round = 4] [rounds = 3] [connections = 50]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDevCerts } from '../devkit/certs';
import { mint, makeKey, TestIssuer } from '../devkit/issuer';
import { findNginx, RATES_OUT_OF_THE_WAY, startGateway, type Gateway } from '../devkit/nginx';
import { childrenOf, cpuMsOf } from '../devkit/proc';
import { canConnect, freePort, startChild, type Started } from '../devkit/process';
import { REPO_ROOT } from '../devkit/root';
import { MAX_DAILY_LIMIT } from '../validator/lib/daily-limit';
import { runLoad } from './load';
import { AUDIENCE, benchDatabase, RULES } from './setup';

const say = (s = '') => process.stdout.write(s + '\n');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function node(name: string, script: string, env: Record<string, string | undefined>, logDir: string): Promise<Started<number>> {
  return startChild(process.execPath, [path.join(__dirname, 'servers', `${script}.js`)], {
    name,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...env },
    logFile: path.join(logDir, `${name}.log`),
    ipc: true,
    timeoutMs: 30_000,
    ready: { message: (m) => (m as { port?: number })?.port },
  });
}

/** NGINX answering every request `return 200` with a tollgate grant's headers: one worker, as tollgate is one process. */
async function stubValidator(nginx: string, dir: string): Promise<Started<boolean> & { port: number }> {
  const port = await freePort();
  const prefix = fs.mkdtempSync(path.join(dir, 'stub-'));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/${t};`).join(' ');
  fs.writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `worker_processes 1; pid ${prefix}/nginx.pid; error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; ${temp}
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / {
      add_header X-User-Id bench-user-0; add_header X-Scopes api:read,api:write; add_header X-Client-Id bench-client;
      add_header X-Request-Id 6634c93c-e06c-4d39-9907-93736ecd5e42; add_header X-Accel-Expires 60; add_header Cache-Control no-store;
      return 200;
    }
  }
}
`,
  );
  const c = await startChild(nginx, ['-p', prefix + '/', '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    name: 'stub-validator',
    deathSignal: 'TERM',
    ready: { poll: async () => ((await canConnect('127.0.0.1', port)) ? true : undefined) },
  });
  return Object.assign(c, { port });
}

async function main(): Promise<void> {
  const [seconds = 4, rounds = 3, connections = 50] = process.argv.slice(2).map(Number);
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx)');
  ensureDevCerts({ dir: path.join(REPO_ROOT, '.certs') });
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-auth-hop-'));
  const key = await makeKey('RS256', 'hop-rs-1');
  const issuer = await TestIssuer.start([key], '/realms/bench', { jwksPath: '/protocol/openid-connect/certs' });
  const token = await mint(
    { iss: issuer.issuer, aud: AUDIENCE },
    { key, expiresIn: 3 * 3600, claims: { typ: 'Bearer', azp: 'bench-client', scope: 'api:read api:write', sub: 'bench-user-0' } },
  );
  const db = await benchDatabase(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const children: Array<{ stop(): Promise<void> }> = [];
  const gateways: Gateway[] = [];
  try {
    const upstream = await node('upstream', 'upstream', {}, logDir);
    const tollgate = await node(
      'tollgate',
      'tollgate',
      {
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        AUTH_MODE: 'jwks',
        AUTH_ISSUER: issuer.issuer,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_ROUTE_RULES: RULES,
        QUOTA_DEFAULT_DAILY_TICKS: String(MAX_DAILY_LIMIT),
        MIGRATE_ON_START: 'true',
        ...('url' in db ? { DATABASE_URL: db.url } : { DATA_DIR: 'memory://' }),
      },
      logDir,
    );
    const stub = await stubValidator(nginx, logDir);
    children.push(upstream, tollgate, stub);
    const gateway = async (validator: number) => {
      const g = await startGateway({
        validators: [`127.0.0.1:${validator}`],
        apps: [`127.0.0.1:${upstream.ready}`],
        httpsPort: 0,
        httpPort: 0,
        publicPaths: ['/api/public/*'],
        vars: { ...RATES_OUT_OF_THE_WAY },
      });
      gateways.push(g);
      return g;
    };
    const [real, fake] = [await gateway(tollgate.ready), await gateway(stub.port)];
    const auth = { authorization: `Bearer ${token}` };
    const cases = [
      { name: 'no auth (/api/public/things)', g: real, path: '/api/public/things', headers: {}, pids: () => [...childrenOf(real.pid), upstream.pid] },
      { name: 'auth_request → tollgate', g: real, path: '/api/things', headers: auth, pids: () => [...childrenOf(real.pid), upstream.pid, tollgate.pid] },
      {
        name: 'auth_request → NGINX return 200',
        g: fake,
        path: '/api/things',
        headers: auth,
        pids: () => [...childrenOf(fake.pid), upstream.pid, ...childrenOf(stub.pid)],
      },
    ].map((c) => ({ ...c, rps: [] as number[], p50: [] as number[], p99: [] as number[], cpu: [] as number[] }));
    for (const c of cases) await runLoad({ url: c.g.httpsUrl, path: c.path, headers: c.headers, seconds: 1, connections }); // warm-up
    say(
      `auth hop: HTTPS, ${connections} connections, ${rounds} × ${seconds} s per case, Node ${process.version}, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    for (let r = 0; r < rounds; r++) {
      for (const c of [...cases.slice(r % 3), ...cases.slice(0, r % 3)]) {
        const pids = c.pids();
        const cpu0 = pids.map(cpuMsOf);
        const res = await runLoad({ url: c.g.httpsUrl, path: c.path, headers: c.headers, seconds, connections });
        if (res.statuses['200'] !== res.requests) throw new Error(`${c.name}: ${JSON.stringify(res.statuses)}`);
        c.cpu.push((pids.map(cpuMsOf).reduce((a, v, i) => a + v - cpu0[i]!, 0) * 1000) / res.requests);
        c.rps.push(res.rps);
        c.p50.push(res.p50);
        c.p99.push(res.p99);
      }
    }
    const base = median(cases[0]!.rps);
    say('| case | req/s | ÷ no auth | p50 ms | p99 ms | server CPU µs/req (NGINX workers + upstream + validator) |');
    say('|---|---:|---:|---:|---:|---:|');
    for (const c of cases)
      say(
        `| ${c.name} | ${Math.round(median(c.rps))} | ${(median(c.rps) / base).toFixed(2)}× | ${median(c.p50).toFixed(2)} | ${median(c.p99).toFixed(2)} | ${median(c.cpu).toFixed(0)} |`,
      );
  } finally {
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await Promise.allSettled(children.map((c) => c.stop()));
    await issuer.stop();
    if ('drop' in db) await db.drop();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`auth-hop: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
