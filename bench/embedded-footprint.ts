// The embedded store's footprint: time to open, time to migrate and memory (VmRSS, VmHWM from
// /proc/self/status; V8 heap, external and array buffers) after each step, each case in a child
// process of its own so that one case's peak is not the next one's. Cases: memory://, a fresh
// data directory, the same directory reopened; through openDb + migrate (the store) and through
// startValidator (the whole validator, DATA_DIR). "pglite defaults" opens PGlite as tollgate did
// before (PGlite.create(dir): initdb on a fresh target, default settings), as a baseline in the same run.
//   node dist/bench/embedded-footprint.js [charges per case = 300]
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface Step {
  step: string;
  ms: number;
  rssMb: number;
  hwmMb: number;
  heapMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

const mb = (n: number) => Math.round(n / 2 ** 20);

function sample(step: string, started: bigint): Step {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  const m = process.memoryUsage();
  return {
    step,
    ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
    rssMb: Math.round(kb('VmRSS') / 1024),
    hwmMb: Math.round(kb('VmHWM') / 1024),
    heapMb: mb(m.heapUsed),
    externalMb: mb(m.external),
    arrayBuffersMb: mb(m.arrayBuffers),
  };
}

const CASES = ['pglite defaults', 'store', 'validator'] as const;
type Via = (typeof CASES)[number];

/** One case in this (child) process; prints its steps as one JSON line. */
async function child(via: Via, dataDir: string, charges: number): Promise<void> {
  const steps: Step[] = [sample('start', process.hrtime.bigint())];
  const step = async (name: string, fn: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    await fn();
    steps.push(sample(name, t));
  };
  const date = new Date().toISOString().slice(0, 10);
  if (via === 'pglite defaults') {
    const { PGlite } = await import('@electric-sql/pglite');
    const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
    const { migrate } = require('../validator/store/migrate') as typeof import('../validator/store/migrate');
    const pg = (await import('pg')).default;
    let pglite!: InstanceType<typeof PGlite>;
    await step('open', async () => (pglite = await PGlite.create(dataDir)));
    const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1 });
    await step('migrate', () => migrate(pool));
    await step(`${charges} charges`, async () => {
      for (let i = 0; i < charges; i++) await pool.query('SELECT * FROM public.consume_ticks($1, 1, $2::date, 1000)', [`user-${i % 50}`, date]);
    });
    await step('close', async () => {
      await pool.end();
      await pglite.close();
    });
  } else if (via === 'store') {
    // required here, not imported at the top: each case loads only what it measures
    const { openDb } = require('../validator/store/db') as typeof import('../validator/store/db');
    const { migrate } = require('../validator/store/migrate') as typeof import('../validator/store/migrate');
    const { createStore } = require('../validator/store') as typeof import('../validator/store');
    const opts = { dataDir, poolMax: 1, statementTimeoutMs: 5000, ssl: false as const, defaultDailyTicks: 1000 };
    let db!: Awaited<ReturnType<typeof openDb>>;
    await step('open', async () => (db = await openDb(opts)));
    await step('migrate', () => migrate(db.pool));
    const store = createStore(db, opts);
    await step(`${charges} charges`, async () => {
      for (let i = 0; i < charges; i++) await store.charge(`user-${i % 50}`, 1, date);
    });
    await step('close', () => store.close());
  } else {
    const { startValidator } = require('../validator/server') as typeof import('../validator/server');
    const { createLogger } = require('../validator/observability/logger') as typeof import('../validator/observability/logger');
    type Running = Awaited<ReturnType<typeof startValidator>>;
    let v!: Running;
    const env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      AUTH_MODE: 'hs256',
      AUTH_ISSUER: 'https://idp.example/realms/bench',
      AUTH_AUDIENCE: 'api',
      AUTH_JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long!',
      QUOTA_ROUTES: ',',
    };
    await step('start (open + migrate + listen)', async () => (v = await startValidator(env, { logger: createLogger('silent') })));
    await step(`${charges} charges`, async () => {
      for (let i = 0; i < charges; i++) await v.store.charge(`user-${i % 50}`, 1, date);
    });
    await step('close', () => v.close());
  }
  process.stdout.write(`${JSON.stringify(steps)}\n`);
}

function table(rows: Array<{ name: string; steps: Step[] }>): string {
  const out = ['| case | step | ms | VmRSS MB | VmHWM MB | V8 heap MB | external MB | arrayBuffers MB |', '|---|---|--:|--:|--:|--:|--:|--:|'];
  for (const r of rows) {
    for (const s of r.steps) out.push(`| ${r.name} | ${s.step} | ${s.ms} | ${s.rssMb} | ${s.hwmMb} | ${s.heapMb} | ${s.externalMb} | ${s.arrayBuffersMb} |`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3] as Via, process.argv[4], Number(process.argv[5]));
  const charges = Number(process.argv[2] ?? 300);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tollgate-footprint-'));
  const rows: Array<{ name: string; steps: Step[] }> = [];
  try {
    for (const via of CASES) {
      const dir = path.join(tmp, via.replace(/\W+/g, '-'));
      for (const [target, dataDir] of [
        ['memory://', 'memory://'],
        ['fresh dir', dir],
        ['reopened dir', dir],
      ]) {
        const out = execFileSync(process.execPath, [__filename, '--child', via, dataDir, String(charges)], { encoding: 'utf8', maxBuffer: 1 << 24 });
        rows.push({ name: `${via}, ${target}`, steps: JSON.parse(out.trim().split('\n').pop() ?? '[]') as Step[] });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(
    `${table(rows)}\n\nload average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}, ${os.cpus().length} cpus\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
