// CPU per cached decision, side by side: tollgate with LOG_LEVEL=info (one line per decision, to a
// file as deployed) and with LOG_LEVEL=silent, and the raw node:http ceiling; the same repeated token,
// rounds interleaved so drift hits every variant alike. The difference between the first two is
// what the decision log line costs. BENCH_EXEC_ARGV='--cpu-prof --cpu-prof-dir=DIR' profiles them;
// BENCH_COMPARE_DIST=/other/checkout/dist adds that build's tollgate at info (before/after, one run).
//   node dist/bench/decision-cost.js [seconds per round = 3] [rounds = 5] [connections = 50]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mint, makeKey, TestIssuer } from '../devkit/issuer';
import { cpuMsOf } from '../devkit/proc';
import { runLoad } from './load';
import { benchExecArgv, loadAvg, median, rotated, say, startBenchServer, storeEnv, tollgateEnv, type BenchServer } from './harness';
import { AUDIENCE, benchDatabase } from './setup';

/** CPU ms so far of a process's threads by role: the main (JS) thread, libuv's pool (fs writes, WebCrypto jobs), and the rest (V8's). */
function cpuByThread(pid: number): { main: number; pool: number; other: number } {
  const out = { main: 0, pool: 0, other: 0 };
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(f[11]) + Number(f[12])) * 10; // utime + stime, 10 ms ticks
      const comm = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out[Number(tid) === pid ? 'main' : comm.startsWith('libuv-worker') ? 'pool' : 'other'] += ms;
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

async function main(): Promise<void> {
  const [seconds = 3, rounds = 5, connections = 50] = process.argv.slice(2).map(Number);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-decision-cost-'));
  const key = await makeKey('RS256', 'cost-rs-1');
  const issuer = await TestIssuer.start([key], '/realms/bench', { jwksPath: '/protocol/openid-connect/certs' });
  const token = await mint(
    { iss: issuer.issuer, aud: AUDIENCE },
    { key, expiresIn: 3 * 3600, claims: { typ: 'Bearer', azp: 'bench-client', scope: 'api:read api:write', sub: 'bench-user-0' } },
  );
  const db = await benchDatabase(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const tollgate = (level: string) => tollgateEnv(issuer.issuer, { LOG_LEVEL: level, ...storeEnv(db) });
  const variants: Array<{ name: string; proc: BenchServer; cpu: number[]; rps: number[]; main: number[]; pool: number[] }> = [];
  try {
    const other = process.env.BENCH_COMPARE_DIST;
    const defs: Array<[string, string, Record<string, string | undefined>, string?]> = [
      ['tollgate info', 'tollgate', tollgate('info')],
      ['tollgate silent', 'tollgate', tollgate('silent')],
      ['raw node:http', 'node-raw', { BENCH_TOKEN: token }],
    ];
    if (other) defs.splice(1, 0, ['tollgate info (BENCH_COMPARE_DIST)', 'tollgate', tollgate('info'), other]);
    for (const [name, script, env, dist] of defs) {
      variants.push({
        name,
        proc: await startBenchServer(name.replace(/\W+/g, '-'), script, env, logDir, { execArgv: benchExecArgv(), dist }),
        cpu: [],
        rps: [],
        main: [],
        pool: [],
      });
    }
    const load = (v: (typeof variants)[number], secs: number) =>
      runLoad({
        url: `http://127.0.0.1:${v.proc.ready}`,
        path: '/api/auth/validate',
        headers: { 'X-Original-Method': 'GET', 'X-Original-URI': '/api/things', authorization: `Bearer ${token}` },
        seconds: secs,
        connections,
      });
    for (const v of variants) await load(v, 1); // warm-up: JIT, JWKS, the verified-token cache
    say(`cached decision, ${connections} connections, ${rounds} × ${seconds} s per variant, Node ${process.version}, load ${loadAvg()}`);
    for (let r = 0; r < rounds; r++) {
      for (const v of rotated(variants, r)) {
        const cpu0 = cpuMsOf(v.proc.pid);
        const t0 = cpuByThread(v.proc.pid);
        const res = await load(v, seconds);
        const t1 = cpuByThread(v.proc.pid);
        v.main.push(((t1.main - t0.main) * 1000) / res.requests);
        v.pool.push(((t1.pool - t0.pool) * 1000) / res.requests);
        if (res.statuses['200'] !== res.requests) throw new Error(`${v.name}: not every decision granted: ${JSON.stringify(res.statuses)}`);
        v.cpu.push(((cpuMsOf(v.proc.pid) - cpu0) * 1000) / res.requests);
        v.rps.push(res.rps);
      }
    }
    say('| variant | req/s (median) | CPU µs per decision (median) | of which main thread | libuv pool | rounds (CPU µs) |');
    say('|---|---:|---:|---:|---:|---|');
    for (const v of variants)
      say(
        `| ${v.name} | ${Math.round(median(v.rps))} | ${median(v.cpu).toFixed(1)} | ${median(v.main).toFixed(1)} | ${median(v.pool).toFixed(1)} | ${v.cpu.map((c) => c.toFixed(0)).join(' ')} |`,
      );
    const silent = variants.find((v) => v.name === 'tollgate silent')!;
    for (const v of variants.filter((x) => x.name.includes('info'))) {
      const line = median(v.cpu) - median(silent.cpu);
      say(`log line of ${v.name}: ${line.toFixed(1)} µs CPU per decision (${((100 * line) / median(v.cpu)).toFixed(0)} % of its cached decision)`);
    }
    const lines = fs.readFileSync(path.join(logDir, 'tollgate-info.log'), 'utf8').split('\n');
    say(`a decision line (${lines.filter((l) => l.includes('"granted"')).length} logged): ${lines.find((l) => l.includes('"msg":"granted"')) ?? '(none)'}`);
  } finally {
    // a generous grace: a profiled process writes its profile only when it exits by itself
    await Promise.allSettled(variants.map((v) => v.proc.stop(30_000)));
    await issuer.stop();
    if ('drop' in db) await db.drop();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`decision-cost: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
