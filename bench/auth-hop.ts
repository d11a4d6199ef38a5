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
import { freePort } from '../devkit/process';
import { REPO_ROOT } from '../devkit/root';
import { runLoad } from './load';
import { loadAvg, median, rotated, say, startBenchServer, startNginxStub, storeEnv, tollgateEnv } from './harness';
import { AUDIENCE, benchDatabase } from './setup';

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
    const upstream = await startBenchServer('upstream', 'upstream', {}, logDir);
    const tollgate = await startBenchServer(
      'tollgate',
      'tollgate',
      tollgateEnv(issuer.issuer, {
        LISTEN_SOCKET: sockets.tollgate,
        // the workers (nobody) share no group with a root-run bench
        LISTEN_SOCKET_MODE: '0666',
        ...storeEnv(db),
      }),
      logDir,
    );
    // NGINX answering the subrequest itself: the hop's own cost, no validator's
    const stubPort = await freePort();
    const stub = await startNginxStub(nginx, logDir, { name: 'stub-validator', port: stubPort, socket: sockets.stub, accelExpires: 60 });
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
    const fake = await gateway(`127.0.0.1:${stubPort}`);
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
    say(`auth hop: HTTPS, ${connections} connections, ${rounds} × ${seconds} s per case, Node ${process.version}, load ${loadAvg()}`);
    for (let r = 0; r < rounds; r++) {
      for (const c of rotated(cases, r)) {
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
    const load = loadAvg();
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
