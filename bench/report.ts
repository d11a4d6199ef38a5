// Turns the rounds into results: per-case figures and ratios to the baseline of the same run,
// the issue's targets (met/missed), the printed table and the JSON document.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { LoadResult } from './load';

export interface Sample extends LoadResult {
  round: number;
  /** Peak VmRSS (MB) sampled during this run, summed over the case's processes. */
  rssMb: number;
  /** CPU time (user + system) of the case's processes per request, µs: cost without the scheduling noise. */
  cpuUsPerReq: number;
}

export interface CaseResult {
  id: string;
  label: string;
  group: 'node' | 'gateway';
  skip?: string;
  samples: Sample[];
  /** Mean over rounds. */
  rps: number;
  /** Median over rounds (ms). */
  p50: number;
  p99: number;
  /** Highest sampled RSS over all rounds (MB). */
  rssMb: number;
  /** Median over rounds of the CPU time per request (µs) of the case's processes. */
  cpuUs: number;
  /** VmHWM at the end of the run (MB, lifetime peak of the main process, start-up included). */
  hwmMb?: number;
  /** Verified-token cache lookups of the tollgate process during the measured runs. */
  cache?: { hits: number; misses: number };
  /** Non-2xx responses seen (should be 0). */
  refused: number;
  /** Ratios to the group's baseline (express-bare or nginx-noauth). */
  ratio?: { rps: number; p50: number; p99: number; rss: number };
}

export interface Target {
  what: string;
  /** Measured ratio (or MB for the memory target). */
  value: number | null;
  goal: string;
  met: boolean | null;
  note?: string;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function aggregate(id: string, label: string, group: CaseResult['group'], samples: Sample[], skip?: string): CaseResult {
  if (skip || samples.length === 0)
    return { id, label, group, skip: skip ?? 'no samples', samples, rps: NaN, p50: NaN, p99: NaN, rssMb: NaN, cpuUs: NaN, refused: 0 };
  const refused = samples.reduce((n, s) => n + Object.entries(s.statuses).reduce((k, [code, c]) => k + (code.startsWith('2') ? 0 : c), 0) + s.errors, 0);
  return {
    id,
    label,
    group,
    samples,
    rps: mean(samples.map((s) => s.rps)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    rssMb: Math.max(...samples.map((s) => s.rssMb)),
    cpuUs: median(samples.map((s) => s.cpuUsPerReq)),
    refused,
  };
}

export function addRatios(results: CaseResult[]): void {
  const base = { node: results.find((r) => r.id === 'express-bare'), gateway: results.find((r) => r.id === 'nginx-noauth') };
  for (const r of results) {
    const b = base[r.group];
    if (!b || r.skip || b.skip) continue;
    r.ratio = { rps: r.rps / b.rps, p50: r.p50 / b.p50, p99: r.p99 / b.p99, rss: r.rssMb / b.rssMb };
  }
}

export function targets(results: CaseResult[], tollgateRss: Array<{ id: string; hwmMb?: number; perRound: number[] }>): Target[] {
  const get = (id: string) => {
    const r = results.find((x) => x.id === id);
    return r && !r.skip ? r : undefined;
  };
  const ratio = (a: string, b: string | string[], field: 'rps' | 'p99' = 'rps'): number | null => {
    const x = get(a);
    const ys = (Array.isArray(b) ? b : [b]).map(get).filter((y): y is CaseResult => !!y);
    if (!x || ys.length === 0) return null;
    const y = field === 'rps' ? Math.max(...ys.map((v) => v.rps)) : Math.min(...ys.map((v) => v.p99));
    return x[field] / y;
  };
  const t = (what: string, value: number | null, goal: string, atLeast: boolean, bound: number): Target => ({
    what,
    value,
    goal,
    met: value === null ? null : atLeast ? value >= bound : value <= bound,
  });
  // The target is about the validator as deployed (quota store on the Postgres server); the embedded
  // store runs Postgres (PGlite, WASM) inside the process and is reported on its own line.
  const peakOf = (ps: typeof tollgateRss) => {
    const v = ps.map((p) => p.hwmMb ?? NaN).filter((x) => !Number.isNaN(x));
    return v.length ? Math.max(...v) : null;
  };
  const peak = peakOf(tollgateRss.filter((p) => p.id !== 'charged-embedded'));
  const embedded = peakOf(tollgateRss.filter((p) => p.id === 'charged-embedded'));
  // "flat": the RSS sampled in the last round is within 10 % (or 10 MB) of the first round's, per process
  const growth = tollgateRss.filter((p) => p.perRound.length > 1).map((p) => p.perRound[p.perRound.length - 1]! - p.perRound[0]!);
  const worstGrowth = growth.length ? Math.max(...growth) : null;
  return [
    t('repeated token ÷ bare Express (req/s)', ratio('tollgate-repeated', 'express-bare'), '≥ 3.0×', true, 3.0),
    t('repeated token ÷ raw node:http (req/s)', ratio('tollgate-repeated', 'node-raw'), '≥ 0.7×', true, 0.7),
    t('RS256 first sight ÷ bare Express (req/s)', ratio('tollgate-rs256-first', 'express-bare'), '≥ 1.0×', true, 1.0),
    t('repeated token ÷ best peer, repeated (req/s)', ratio('tollgate-repeated', ['auth0-repeated', 'expressjwt-repeated']), '≥ 4×', true, 4),
    t('RS256 first sight ÷ best peer, first sight (req/s)', ratio('tollgate-rs256-first', ['auth0-first', 'expressjwt-first']), '≥ 1.5×', true, 1.5),
    t('repeated token p99 ÷ bare Express p99', ratio('tollgate-repeated', 'express-bare', 'p99'), '≤ 1.0×', false, 1.0),
    t('charged (Postgres server) p99 ÷ bare Express p99', ratio('charged-server', 'express-bare', 'p99'), '≤ 1.5×', false, 1.5),
    t('NGINX auth_request ÷ NGINX without auth (req/s)', ratio('nginx-auth', 'nginx-noauth'), '≥ 0.75×', true, 0.75),
    t('NGINX auth_request + edge cache ÷ NGINX without auth (req/s)', ratio('nginx-edge-cache', 'nginx-noauth'), '≥ 0.9×', true, 0.9),
    t('peak RSS per validator process (MB, VmHWM)', peak, '≤ 150 MB', false, 150),
    { what: 'peak RSS, validator with the embedded store (MB)', value: embedded, goal: 'info', met: null, note: 'PGlite runs Postgres in-process' },
    { ...t('RSS growth first → last round, worst validator (MB)', worstGrowth, '≈ 0 (≤ 10 MB)', false, 10) },
  ];
}

export interface Machine {
  nproc: number;
  cpu: string;
  node: string;
  os: string;
  memGb: number;
  loadAvgAtStart: number[];
  openssl?: { version: string; rsa2048: { sign: number; verify: number }; ecdsap256: { sign: number; verify: number } };
}

/** The machine, and `openssl speed` for RSA-2048 and ECDSA P-256 (1 s each) for context. */
export function machine(withOpenssl: boolean): Machine {
  const m: Machine = {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    memGb: Math.round(os.totalmem() / 2 ** 30),
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  if (!withOpenssl) return m;
  try {
    const speed = (alg: string) => {
      const out = execFileSync('openssl', ['speed', '-seconds', '1', '-mr', alg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const f = /^\+F\d+:\d+:\d+:([\d.]+):([\d.]+)$/m.exec(out);
      return { sign: Math.round(Number(f?.[1])), verify: Math.round(Number(f?.[2])) };
    };
    const version = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
    m.openssl = { version, rsa2048: speed('rsa2048'), ecdsap256: speed('ecdsap256') };
  } catch {
    /* openssl missing: context only */
  }
  return m;
}

const fmt = (v: number, d = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '—');
const x = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? `${v.toFixed(2)}×` : '');

/** The printed table: one row per case, each figure with its ratio to the group's baseline. */
export function table(results: CaseResult[]): string {
  const rows = [['case', 'req/s', '', 'p50 ms', '', 'p99 ms', '', 'peak RSS MB', '', 'CPU µs/req', 'non-2xx']];
  for (const r of results) {
    if (r.skip) {
      rows.push([r.label, `skipped: ${r.skip}`, '', '', '', '', '', '', '', '', '']);
      continue;
    }
    rows.push([
      r.label,
      fmt(r.rps),
      x(r.ratio?.rps),
      fmt(r.p50, 2),
      x(r.ratio?.p50),
      fmt(r.p99, 2),
      x(r.ratio?.p99),
      fmt(r.rssMb),
      x(r.ratio?.rss),
      fmt(r.cpuUs),
      String(r.refused),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.filter((r) => !r[1]!.startsWith('skipped')).map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r[1]!.startsWith('skipped')
        ? `${r[0]!.padEnd(widths[0]!)}  ${r[1]}`
        : r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
    )
    .join('\n');
}

export function targetTable(ts: Target[]): string {
  const w = Math.max(...ts.map((t) => t.what.length));
  return ts
    .map(
      (t) =>
        `${t.what.padEnd(w)}  ${t.value === null ? 'n/a' : t.what.includes('MB') ? `${t.value.toFixed(1)} MB` : `${t.value.toFixed(2)}×`}`.padEnd(w + 14) +
        `  goal ${t.goal.padEnd(14)} ${t.goal === 'info' ? '' : t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED'}${t.note ? `  (${t.note})` : ''}`,
    )
    .join('\n');
}
