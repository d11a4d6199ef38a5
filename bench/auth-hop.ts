// Where the NGINX auth hop's time goes: the same gateway (the repository's templates, HTTPS) and
// upstream, measured in one interleaved run — no auth (/api/public/*), auth_request to tollgate (a
// cached decision), and auth_request to NGINX itself answering `return 200` with the headers of a
// tollgate grant, each of the last two over TCP and over a Unix socket (LISTEN_SOCKET). The stub
// separates the hop's own cost (the subrequest, its keep-alive connection, auth_request_set) from
// the validator's; the socket cases show what TCP costs on the hop.
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

/**
 * NGINX answering every request `return 200` with a tollgate grant's headers, on TCP and on the Unix
 * socket `socket`: one worker, as tollgate is one process.
 */
async function stubValidator(nginx: string, dir: string, socket: string): Promise<Started<boolean> & { port: number }> {
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
    listen unix:${socket};
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
  // Started as root, NGINX's workers run as nobody: they traverse this directory to the sockets.
  fs.chmodSync(logDir, 0o711);
  const sockets = { tollgate: path.join(logDir, 'tollgate.sock'), stub: path.join(logDir, 'stub.sock') };
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
        LISTEN_SOCKET: sockets.tollgate,
        // the workers (nobody) share no group with a root-run bench
        LISTEN_SOCKET_MODE: '0666',
        ...('url' in db ? { DATABASE_URL: db.url } : { DATA_DIR: 'memory://' }),
      },
      logDir,
    );
    const stub = await stubValidator(nginx, logDir, sockets.stub);
    children.push(upstream, tollgate, stub);
    // the stub's socket is NGINX's own (its workers, nobody, must connect to it too)
    fs.chmodSync(sockets.stub, 0o666);
    const gateway = async (validator: string) => {
      const g = await startGateway({
        validators: [validator],
        apps: [`127.0.0.1:${upstream.ready}`],
        httpsPort: 0,
        httpPort: 0,
        publicPaths: ['/api/public/*'],
        vars: { ...RATES_OUT_OF_THE_WAY },
      });
      gateways.push(g);
      return g;
    };
    const real = await gateway(`127.0.0.1:${tollgate.ready}`);
    const realUds = await gateway(`unix:${sockets.tollgate}`);
    const fake = await gateway(`127.0.0.1:${stub.port}`);
    const fakeUds = await gateway(`unix:${sockets.stub}`);
    const auth = { authorization: `Bearer ${token}` };
    // CPU is read per process: the front's workers, the upstream, and what answers the subrequest
    // (tollgate, or the stub NGINX's worker), so a case's cost splits into the gateway's and the validator's.
    const noAuth = (g: Gateway) => () => ({ front: childrenOf(g.pid), upstream: [upstream.pid], validator: [] as number[] });
    const toTollgate = (g: Gateway) => () => ({ ...noAuth(g)(), validator: [tollgate.pid] });
    const toStub = (g: Gateway) => () => ({ ...noAuth(g)(), validator: childrenOf(stub.pid) });
    const cases = [
      { name: 'no auth (/api/public/things)', g: real, path: '/api/public/things', headers: {}, pids: noAuth(real) },
      { name: 'auth_request → tollgate, TCP', g: real, path: '/api/things', headers: auth, pids: toTollgate(real) },
      { name: 'auth_request → tollgate, Unix socket', g: realUds, path: '/api/things', headers: auth, pids: toTollgate(realUds) },
      { name: 'auth_request → NGINX return 200, TCP', g: fake, path: '/api/things', headers: auth, pids: toStub(fake) },
      { name: 'auth_request → NGINX return 200, Unix socket', g: fakeUds, path: '/api/things', headers: auth, pids: toStub(fakeUds) },
    ].map((c) => ({
      ...c,
      rps: [] as number[],
      p50: [] as number[],
      p99: [] as number[],
      cpu: { front: [] as number[], upstream: [] as number[], validator: [] as number[] },
    }));
    for (const c of cases) await runLoad({ url: c.g.httpsUrl, path: c.path, headers: c.headers, seconds: 1, connections }); // warm-up
    say(
      `auth hop: HTTPS, ${connections} connections, ${rounds} × ${seconds} s per case, Node ${process.version}, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    for (let r = 0; r < rounds; r++) {
      for (const c of [...cases.slice(r % cases.length), ...cases.slice(0, r % cases.length)]) {
        const pids = c.pids();
        const parts = ['front', 'upstream', 'validator'] as const;
        const cpu0 = parts.map((k) => pids[k].map(cpuMsOf));
        const res = await runLoad({ url: c.g.httpsUrl, path: c.path, headers: c.headers, seconds, connections });
        if (res.statuses['200'] !== res.requests) throw new Error(`${c.name}: ${JSON.stringify(res.statuses)}`);
        parts.forEach((k, j) => c.cpu[k].push((pids[k].map(cpuMsOf).reduce((a, v, i) => a + v - cpu0[j]![i]!, 0) * 1000) / res.requests));
        c.rps.push(res.rps);
        c.p50.push(res.p50);
        c.p99.push(res.p99);
      }
    }
    const base = median(cases[0]!.rps);
    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    say('| case | req/s | ÷ no auth | p50 ms | p99 ms | CPU µs/req: front NGINX | upstream | validator (tollgate or stub) | total |');
    say('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of cases) {
      const [front, up, val] = [median(c.cpu.front), median(c.cpu.upstream), median(c.cpu.validator)];
      say(
        `| ${c.name} | ${Math.round(median(c.rps))} | ${(median(c.rps) / base).toFixed(2)}× | ${median(c.p50).toFixed(2)} | ${median(c.p99).toFixed(2)} | ` +
          `${front.toFixed(0)} | ${up.toFixed(0)} | ${val.toFixed(0)} | ${(front + up + val).toFixed(0)} |`,
      );
    }
    say(`load at the end: ${load}`);
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
