// Charged decisions on the Postgres server, alone and beside other load on the same server: bare
// Express and tollgate (one process per DATABASE_POOL_MAX given) measured in interleaved rounds, once
// with the server to themselves and once while pgbench (or, without it, a pg pool in this process)
// runs a steady stream of small write and read transactions on a table of its own. Every ratio is
// to bare Express measured under the same condition in the same run.
//   node dist/bench/charged-load.js [seconds per case = 4] [rounds = 2] [connections = 50] [--pools=10] [--other-tps=400]
// BENCH_DATABASE_URL: the server's admin URL (default postgres://postgres@127.0.0.1:5432/test).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { makeKey, mint, TestIssuer } from '../devkit/issuer';
import { cpuMsOf } from '../devkit/proc';
import { findExecutable, spawnChild, type Child } from '../devkit/process';
import { runLoad } from './load';
import { loadAvg, median, rotated, say, startBenchServer, tollgateEnv, type BenchServer } from './harness';
import { AUDIENCE, benchDatabase } from './setup';
import { benchUserId } from './users';

/** Distinct users (one token each, cycled): the charged bench case's shape, smaller to mint. */
const USERS = 500;
const OTHER_ROWS = 10_000;
const OTHER_CONNECTIONS = 4;

/**
 * The other load: `tps` transactions a second, each an UPDATE of one row or a read of a hundred
 * (half and half), committed one by one (synchronous_commit as the server has it), from
 * OTHER_CONNECTIONS connections. pgbench paces them itself (-R); the fallback paces in this process.
 */
function otherLoad(url: string, tps: number, seconds: number, dir: string): { done: Promise<void>; child?: Child } {
  const pgbench = findExecutable('pgbench', {
    extraDirs: fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`) : [],
  });
  if (pgbench) {
    const script = path.join(dir, 'other.sql');
    fs.writeFileSync(
      script,
      `\\set id random(1, ${OTHER_ROWS})\n\\set w random(0, 1)\n` +
        `UPDATE other_load SET n = n + :w, at = now() WHERE id = :id;\nSELECT sum(n) FROM other_load WHERE id BETWEEN :id AND :id + 100;\n`,
    );
    const child = spawnChild(pgbench, ['-n', '-q', '-f', script, '-c', String(OTHER_CONNECTIONS), '-j', '1', '-R', String(tps), '-T', String(seconds), url], {
      name: 'pgbench',
    });
    return { child, done: child.exited.then(() => undefined) };
  }
  const pool = new pg.Pool({ connectionString: url, max: OTHER_CONNECTIONS });
  const end = Date.now() + seconds * 1000;
  const one = async () => {
    const id = 1 + Math.floor(Math.random() * OTHER_ROWS);
    await pool.query('UPDATE other_load SET n = n + 1, at = now() WHERE id = $1', [id]);
    await pool.query('SELECT sum(n) FROM other_load WHERE id BETWEEN $1 AND $1 + 100', [id]);
  };
  const done = (async () => {
    const inflight = new Set<Promise<void>>();
    for (let next = Date.now(); Date.now() < end; next += 1000 / tps) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (inflight.size < OTHER_CONNECTIONS * 4) {
        const p = one().finally(() => inflight.delete(p));
        inflight.add(p);
      }
    }
    await Promise.allSettled(inflight);
    await pool.end();
  })();
  return { done };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (n: string, d: string) => args.find((a) => a.startsWith(`--${n}=`))?.split('=')[1] ?? d;
  const [seconds = 4, rounds = 2, connections = 50] = args.filter((a) => !a.startsWith('--')).map(Number);
  const pools = flag('pools', '10').split(',').map(Number);
  const otherTps = Number(flag('other-tps', '400'));
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const db = await benchDatabase(adminUrl);
  if (!('url' in db)) throw new Error(db.skip);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-charged-load-'));
  const key = await makeKey('RS256', 'charged-rs-1');
  const issuer = await TestIssuer.start([key], '/realms/bench', { jwksPath: '/protocol/openid-connect/certs' });
  const children: Array<{ stop(): Promise<void> }> = [];
  let other: { done: Promise<void>; child?: Child } | undefined;
  try {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(
      `CREATE TABLE other_load (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, at timestamptz NOT NULL DEFAULT now(), pad text NOT NULL);
       INSERT INTO other_load (id, pad) SELECT i, repeat('x', 200) FROM generate_series(1, ${OTHER_ROWS}) i;`,
    );
    await admin.end();
    const tokens: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const claims = { typ: 'Bearer', azp: 'bench-client', scope: 'api:read api:write', sub: benchUserId(i) };
      tokens.push(await mint({ iss: issuer.issuer, aud: AUDIENCE }, { key, expiresIn: 3 * 3600, claims }));
    }
    const express = await startBenchServer('express-bare', 'express-bare', {}, logDir);
    children.push(express);
    const tollgates: Array<{ name: string; proc: BenchServer }> = [];
    for (const max of pools) {
      // One at a time: each runs the migrations on start.
      const proc = await startBenchServer(
        `tollgate-pool-${max}`,
        'tollgate',
        tollgateEnv(issuer.issuer, { DATABASE_URL: db.url, DATABASE_POOL_MAX: String(max) }),
        logDir,
      );
      children.push(proc);
      tollgates.push({ name: `charged, DATABASE_POOL_MAX=${max}`, proc });
    }
    const headers = { 'X-Original-Method': 'POST', 'X-Original-URI': '/api/tasks' };
    type Case = { name: string; url: string; pid: number; tokens?: string[]; headers: Record<string, string> };
    const cases: Case[] = [
      { name: 'bare Express', url: `http://127.0.0.1:${express.ready}`, pid: express.pid, headers: { ...headers, authorization: `Bearer ${tokens[0]}` } },
      ...tollgates.map((t) => ({ name: t.name, url: `http://127.0.0.1:${t.proc.ready}`, pid: t.proc.pid, tokens, headers })),
    ];
    let offset = 0;
    // The Postgres backends serving the validators (this database, application_name tollgate): a
    // charge's CPU on the server side, on the same cores.
    const watcher = new pg.Client({ connectionString: db.url });
    await watcher.connect();
    children.push({ stop: () => watcher.end() });
    const backends = async () =>
      (await watcher.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tollgate'")).rows.map(
        (r) => r.pid,
      );
    const cpuOf = (pids: number[]) => new Map(pids.map((p) => [p, cpuMsOf(p)]));
    const measure = async (c: Case) => {
      const pg0 = c.tokens ? cpuOf(await backends()) : new Map<number, number>();
      const cpu0 = cpuMsOf(c.pid);
      const r = await runLoad({
        url: c.url,
        path: '/api/auth/validate',
        method: 'GET',
        headers: c.headers,
        tokens: c.tokens,
        tokenOffset: offset,
        seconds,
        connections,
      });
      offset += r.tokensUsed;
      if (r.statuses['200'] !== r.requests) throw new Error(`${c.name}: ${JSON.stringify(r.statuses)} (logs in ${logDir})`);
      const cpu = ((cpuMsOf(c.pid) - cpu0) * 1000) / r.requests;
      // Backends opened during the run count from 0; one closed during it is lost (rare: the pool's idle timeout is 30 s).
      const pgMs = (await backends()).reduce((a, p) => a + (Number.isNaN(cpuMsOf(p)) ? 0 : cpuMsOf(p) - (pg0.get(p) ?? 0)), 0);
      return { rps: r.rps, p99: r.p99, cpu, pgCpu: (pgMs * 1000) / r.requests };
    };
    for (const c of cases) await runLoad({ url: c.url, path: '/api/auth/validate', headers: c.headers, tokens: c.tokens, seconds: 1, connections }); // warm-up: JIT, JWKS, pools, tokens verified once
    const conditions = ['alone', `beside other load (${otherTps} tx/s)`] as const;
    const results = new Map<string, { rps: number[]; p99: number[]; cpu: number[]; pgCpu: number[] }>();
    const at = (cond: string, c: Case) => {
      const k = `${cond}|${c.name}`;
      if (!results.has(k)) results.set(k, { rps: [], p99: [], cpu: [], pgCpu: [] });
      return results.get(k)!;
    };
    say(
      `charged decisions: ${connections} connections, ${rounds} × ${seconds} s per case and condition, ${USERS} users, Node ${process.version}, load ${loadAvg()}`,
    );
    for (let r = 0; r < rounds; r++) {
      for (const cond of r % 2 ? [...conditions].reverse() : conditions) {
        const order = rotated(cases, r);
        if (cond !== 'alone') other = otherLoad(db.url, otherTps, seconds * cases.length + 2, logDir);
        if (other) await new Promise((res) => setTimeout(res, 500)); // its connections open
        for (const c of order) {
          const m = await measure(c);
          const a = at(cond, c);
          a.rps.push(m.rps);
          a.p99.push(m.p99);
          a.cpu.push(m.cpu);
          a.pgCpu.push(m.pgCpu);
        }
        if (other) {
          await other.child?.stop(0);
          await other.done.catch(() => {});
          other = undefined;
        }
      }
    }
    say(`(load average at the end: ${loadAvg()})`);
    say('| condition | case | req/s | ÷ Express | p99 ms | ÷ Express p99 | validator CPU µs/req | its Postgres backends µs/req |');
    say('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const cond of conditions) {
      const base = at(cond, cases[0]!);
      for (const c of cases) {
        const m = at(cond, c);
        say(
          `| ${cond} | ${c.name} | ${Math.round(median(m.rps))} | ${(median(m.rps) / median(base.rps)).toFixed(2)}× | ${median(m.p99).toFixed(1)} | ${(median(m.p99) / median(base.p99)).toFixed(2)}× | ${median(m.cpu).toFixed(0)} | ${c.tokens ? median(m.pgCpu).toFixed(0) : '–'} |`,
        );
      }
    }
  } finally {
    if (other) {
      await other.child?.stop(0);
      await other.done.catch(() => {});
    }
    await Promise.allSettled(children.map((c) => c.stop()));
    await issuer.stop();
    await db.drop();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`charged-load: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
