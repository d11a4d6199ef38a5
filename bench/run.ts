// `npm run bench`: every case once per round, rounds in rotating order (so drift hits all cases
// alike), then the table, the targets, bench/results/<time>.json and docs/perf.svg.
//   --quick          2 s per case, one round (a smoke run; writes only the timestamped JSON)
//   --only=a,b       run only these case ids (plus nothing else; ratios need the baselines)
//   --profile        tollgate processes run with --cpu-prof (profiles in bench/results/profiles/)
// BENCH_SECONDS (5), BENCH_ROUNDS (2), BENCH_CONNECTIONS (50), BENCH_TOKENS (40000 per pool),
// BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test: admin URL, a throw-away database is made),
// BENCH_SOAK (bench/results/soak.json: the latest `npm run soak`, reported as the "flat" target).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuMsOf, memoryOf, sampleRss } from '../devkit/proc';
import { REPO_ROOT as ROOT } from '../devkit/root';
import { startCases, type Case } from './cases';
import { runLoad } from './load';
import type { SoakSummary } from '../scripts/soak';
import { addRatios, aggregate, machine, table, targets, targetTable, unexpectedOf, type CaseResult, type Sample } from './report';
import { benchDatabase, makeMaterial } from './setup';
import { chart } from './svg';

import { say } from './harness';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cacheCounters(url: string): Promise<{ hits: number; misses: number } | undefined> {
  try {
    const text = await (await fetch(url)).text();
    const n = (o: string) => Number(new RegExp(`^tollgate_decision_cache_total\\{outcome="${o}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { hits: n('hit'), misses: n('miss') };
  } catch {
    return undefined;
  }
}

/** The latest soak's figures, if `npm run soak` has written them. */
function readSoak(file: string, say: (s: string) => void): SoakSummary | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SoakSummary;
  } catch (e) {
    say(`*** ${file}: ${(e as Error).message}; the soak target is reported as not measured`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',');
  const profile = args.includes('--profile');
  const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 2 : 5));
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 2));
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  // Larger than the verified-token cache (10,000) so that cycling through a pool never hits it.
  const poolSize = Math.max(20_000, Number(process.env.BENCH_TOKENS ?? (quick ? 20_000 : 40_000)));
  const publish = !quick && !only;
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-'));
  const profDir = path.join(ROOT, 'bench', 'results', 'profiles', stamp);

  say(`tollgate bench: ${seconds} s per case, ${rounds} round(s), ${connections} connections; logs in ${logDir}`);
  const m = machine(!quick);
  say(`machine: ${m.nproc} × ${m.cpu}, ${m.memGb} GB, Node ${m.node}, load ${m.loadAvgAtStart.join(' ')}`);
  if (m.openssl)
    say(`openssl speed: rsa2048 verify ${m.openssl.rsa2048.verify}/s, sign ${m.openssl.rsa2048.sign}/s; ecdsap256 verify ${m.openssl.ecdsap256.verify}/s`);

  const material = await makeMaterial(poolSize, say);
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const db = await benchDatabase(adminUrl);
  if ('skip' in db) say(`*** ${db.skip}: the charged Postgres-server case is skipped and tollgate uses the embedded store`);

  let running: Awaited<ReturnType<typeof startCases>> | undefined;
  const cleanup = async () => {
    await running?.stop();
    await material.issuer.stop();
    if ('drop' in db) await db.drop().catch((e: Error) => say(`could not drop the bench database: ${e.message}`));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    const t0 = Date.now();
    if (profile) fs.mkdirSync(profDir, { recursive: true });
    running = await startCases(
      { m: material, db, logDir, execArgv: profile ? `--cpu-prof --cpu-prof-dir=${profDir}` : undefined },
      (id) => !only || only.includes(id),
    );
    const cases = running.cases;
    const live = cases.filter((c): c is Case & { load: NonNullable<Case['load']> } => !c.skip && !!c.load);
    say(`started ${live.length} case servers in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const cursor = new Map<string, number>();
    const go = async (c: (typeof live)[number], secs: number) => {
      const r = await runLoad({ ...c.load, seconds: secs, connections, tokenOffset: cursor.get(c.id) ?? 0 });
      cursor.set(c.id, (cursor.get(c.id) ?? 0) + r.tokensUsed);
      return r;
    };
    say('warming up (JIT, JWKS, connection pools)…');
    for (const c of live) await go(c, quick ? 1 : 2);
    const before = new Map(await Promise.all(live.filter((c) => c.metricsUrl).map(async (c) => [c.id, await cacheCounters(c.metricsUrl!)] as const)));

    const samples = new Map<string, Sample[]>(live.map((c) => [c.id, []]));
    for (let round = 0; round < rounds; round++) {
      const shift = Math.floor((round * live.length) / rounds);
      const order = [...live.slice(shift), ...live.slice(0, shift)];
      say(`round ${round + 1}/${rounds}: ${order.map((c) => c.id).join(', ')}`);
      for (const c of order) {
        await sleep(300);
        const stopSampling = sampleRss(c.pids);
        const cpu0 = c.pids.map(cpuMsOf);
        const r = await go(c, seconds);
        const cpuMs = c.pids.map(cpuMsOf).reduce((a, v, i) => a + v - cpu0[i]!, 0);
        const peaks = stopSampling();
        const rssMb = Object.values(peaks).reduce((a, b) => a + b, 0);
        const cpuUsPerReq = (cpuMs * 1000) / r.requests;
        samples.get(c.id)!.push({ ...r, round, rssMb, cpuUsPerReq });
        say(
          `  ${c.id.padEnd(22)} ${Math.round(r.rps).toString().padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  RSS ${rssMb.toFixed(0)} MB  CPU ${cpuUsPerReq.toFixed(0)} µs/req${unexpectedOf(r, c.expectStatus ?? 200) === 0 ? '' : `  statuses ${JSON.stringify(r.statuses)} errors ${r.errors}`}`,
        );
      }
    }

    const results: CaseResult[] = cases.map((c) => aggregate(c.id, c.label, c.group, samples.get(c.id) ?? [], c.skip, c.expectStatus));
    for (const c of live) {
      const r = results.find((x) => x.id === c.id)!;
      r.hwmMb = memoryOf(c.pids[0]!)?.hwmMb;
      const b = before.get(c.id);
      const a = c.metricsUrl ? await cacheCounters(c.metricsUrl) : undefined;
      if (a && b) r.cache = { hits: a.hits - b.hits, misses: a.misses - b.misses };
      if (c.expectCache === 'first' && r.cache && r.cache.hits > 0) say(`*** ${c.id}: ${r.cache.hits} cache hits in a first-sight case (pool too small?)`);
      if (r.unexpected > 0)
        say(`*** ${c.id}: ${r.unexpected} answers other than ${r.expectStatus}, or errors: the figures of this case are not the decisions it says`);
    }
    addRatios(results);
    const soak = readSoak(process.env.BENCH_SOAK ?? path.join(ROOT, 'bench', 'results', 'soak.json'), say);
    const validators = live.filter((c) => c.id.startsWith('tollgate') || c.id.startsWith('charged'));
    const ts = targets(
      results,
      validators.map((c) => ({ id: c.id, hwmMb: results.find((r) => r.id === c.id)!.hwmMb, perRound: (samples.get(c.id) ?? []).map((s) => s.rssMb) })),
      soak,
    );

    say('\n' + table(results));
    say('\nTargets (the performance goals, bench/report.ts), ratios measured in this run:\n' + targetTable(ts));

    const doc = {
      startedAt: startedAt.toISOString(),
      durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
      settings: {
        seconds,
        rounds,
        connections,
        tokenPool: poolSize,
        quick,
        only: only ?? null,
        loadGenerator: 'autocannon (in the bench process)',
        database: 'url' in db ? 'server' : 'embedded',
      },
      machine: m,
      cases: results.map(({ samples: ss, ...r }) => ({ ...r, samples: ss.map(({ statuses, ...s }) => ({ ...s, statuses })) })),
      targets: ts,
      soak: soak ?? null,
    };
    const outDir = path.join(ROOT, 'bench', 'results');
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `${stamp}.json`);
    fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
    say(`\nwrote ${path.relative(ROOT, file)}`);
    if (publish) {
      fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(doc, null, 2) + '\n');
      fs.writeFileSync(path.join(ROOT, 'docs', 'perf.svg'), chart(results, m, startedAt.toISOString().slice(0, 10)));
      say('wrote bench/results/latest.json and docs/perf.svg');
    }
    if (profile) say(`CPU profiles: ${path.relative(ROOT, profDir)} (written when the processes stop)`);
  } finally {
    await cleanup();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
