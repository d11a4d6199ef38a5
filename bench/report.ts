// Turns the rounds into results: per-case figures and ratios to the baseline of the same run,
// the issue's targets (met/missed), the printed table and the JSON document.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { SoakSummary } from '../scripts/soak';
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
  /** The status every answer of this case should have: 200 (a grant), or 401 for a flood of forged tokens. */
  expectStatus: number;
  /** Answers with another status, plus connection errors (should be 0: every figure is of expected decisions). */
  unexpected: number;
  /** Ratios to the group's baseline (express-bare or nginx-noauth). */
  ratio?: { rps: number; p50: number; p99: number; rss: number };
}

export interface Target {
  /** Stable name: docs/PERFORMANCE.md explains a miss under the anchor `bound-<id>`. */
  id: string;
  what: string;
  /** Measured ratio, MB or per cent (`unit`). */
  value: number | null;
  unit: '×' | 'MB' | '%';
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

export function aggregate(id: string, label: string, group: CaseResult['group'], samples: Sample[], skip?: string, expectStatus = 200): CaseResult {
  if (skip || samples.length === 0)
    return { id, label, group, skip: skip ?? 'no samples', samples, rps: NaN, p50: NaN, p99: NaN, rssMb: NaN, cpuUs: NaN, expectStatus, unexpected: 0 };
  const unexpected = samples.reduce((n, s) => n + unexpectedOf(s, expectStatus), 0);
  return {
    id,
    label,
    group,
    expectStatus,
    samples,
    rps: mean(samples.map((s) => s.rps)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    rssMb: Math.max(...samples.map((s) => s.rssMb)),
    cpuUs: median(samples.map((s) => s.cpuUsPerReq)),
    unexpected,
  };
}

/** Answers of a run with another status than the case expects, plus connection errors. */
export const unexpectedOf = (r: Pick<LoadResult, 'statuses' | 'errors'>, expectStatus: number): number =>
  Object.entries(r.statuses).reduce((k, [code, c]) => k + (Number(code) === expectStatus ? 0 : c), 0) + r.errors;

export function addRatios(results: CaseResult[]): void {
  const base = { node: results.find((r) => r.id === 'express-bare'), gateway: results.find((r) => r.id === 'nginx-noauth') };
  for (const r of results) {
    const b = base[r.group];
    if (!b || r.skip || b.skip) continue;
    r.ratio = { rps: r.rps / b.rps, p50: r.p50 / b.p50, p99: r.p99 / b.p99, rss: r.rssMb / b.rssMb };
  }
}

/**
 * The performance goals, each a ratio to a baseline of the same run (or MB of memory), met or
 * missed. A miss is explained by hand in docs/PERFORMANCE.md under the anchor `bound-<id>`.
 * `soak`: the latest `npm run soak` (bench/results/soak.json), the "flat over 10 minutes" evidence.
 */
export function targets(results: CaseResult[], tollgateRss: Array<{ id: string; hwmMb?: number; perRound: number[] }>, soak?: SoakSummary): Target[] {
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
  const t = (id: string, what: string, value: number | null, atLeast: boolean, bound: number, unit: Target['unit'] = '×'): Target => ({
    id,
    what,
    value,
    unit,
    goal: `${atLeast ? '≥' : '≤'} ${unit === '×' ? `${bound.toFixed(bound < 1 ? 2 : 1)}×` : `${bound} ${unit}`}`,
    met: value === null ? null : atLeast ? value >= bound : value <= bound,
  });
  // The server-store target is the validator as deployed (quota on the Postgres server); the embedded
  // store runs Postgres (PGlite, WASM) inside the process and has its own bound.
  const peakOf = (ps: typeof tollgateRss) => {
    const v = ps.map((p) => p.hwmMb ?? NaN).filter((x) => !Number.isNaN(x));
    return v.length ? Math.max(...v) : null;
  };
  const peak = peakOf(tollgateRss.filter((p) => p.id !== 'charged-embedded'));
  const embedded = peakOf(tollgateRss.filter((p) => p.id === 'charged-embedded'));
  // "flat": the RSS sampled in the last round is within 10 MB of the first round's, per process
  const growth = tollgateRss.filter((p) => p.perRound.length > 1).map((p) => p.perRound[p.perRound.length - 1]! - p.perRound[0]!);
  const worstGrowth = growth.length ? Math.max(...growth) : null;
  const peers = { repeated: ['auth0-repeated', 'expressjwt-repeated'], first: ['auth0-first', 'expressjwt-first'] };
  return [
    t('repeated-vs-express', 'repeated token ÷ bare Express (req/s)', ratio('tollgate-repeated', 'express-bare'), true, 3.0),
    t('repeated-vs-raw', 'repeated token ÷ raw node:http (req/s)', ratio('tollgate-repeated', 'node-raw'), true, 0.6),
    t('rs256-first-vs-express', 'RS256 first sight ÷ bare Express (req/s)', ratio('tollgate-rs256-first', 'express-bare'), true, 1.5),
    t('es256-first-vs-express', 'ES256 first sight ÷ bare Express (req/s)', ratio('tollgate-es256-first', 'express-bare'), true, 1.0),
    t('badsig-vs-first', 'bad-signature flood refused ÷ RS256 first sight (req/s)', ratio('tollgate-badsig-flood', 'tollgate-rs256-first'), true, 1.0),
    t('repeated-vs-peer', 'repeated token ÷ best peer, repeated (req/s)', ratio('tollgate-repeated', peers.repeated), true, 4),
    t('first-vs-peer', 'RS256 first sight ÷ best peer, first sight (req/s)', ratio('tollgate-rs256-first', peers.first), true, 3),
    t('repeated-p99', 'repeated token p99 ÷ bare Express p99', ratio('tollgate-repeated', 'express-bare', 'p99'), false, 1.0),
    t('charged-vs-express', 'charged (Postgres server) ÷ bare Express (req/s)', ratio('charged-server', 'express-bare'), true, 0.5),
    t('charged-p99', 'charged (Postgres server) p99 ÷ bare Express p99', ratio('charged-server', 'express-bare', 'p99'), false, 1.5),
    t('nginx-auth', 'NGINX auth_request ÷ NGINX without auth (req/s)', ratio('nginx-auth', 'nginx-noauth'), true, 0.75),
    t('nginx-auth-unix', 'NGINX auth_request over a Unix socket (compose) ÷ NGINX without auth (req/s)', ratio('nginx-auth-unix', 'nginx-noauth'), true, 0.75),
    t('nginx-edge-cache', 'NGINX auth_request + edge cache ÷ NGINX without auth (req/s)', ratio('nginx-edge-cache', 'nginx-noauth'), true, 0.95),
    t('rss-server', 'peak RSS per validator, server store (VmHWM)', peak, false, 150, 'MB'),
    t('rss-embedded', 'peak RSS per validator, embedded store (VmHWM)', embedded, false, 300, 'MB'),
    t('rss-growth', 'RSS growth first → last round, worst validator', worstGrowth, false, 10, 'MB'),
    soakTarget(soak),
  ];
}

/** Soaks shorter than this are not the evidence the target asks for. */
export const SOAK_TARGET_S = 600;

/** "Flat across a 10-minute soak": RSS growth after warm-up under 10 % and a stable p99, from the latest `npm run soak`. */
export function soakTarget(soak?: SoakSummary): Target {
  const base = { id: 'soak-flat', what: 'RSS growth over a 10-minute soak (after warm-up)', unit: '%' as const, goal: '< 10 %, p99 stable' };
  if (!soak) return { ...base, value: null, met: null, note: 'no bench/results/soak.json: run `npm run soak`' };
  const s = soak;
  const note =
    `npm run soak of ${s.finishedAt.slice(0, 10)}: ${s.seconds} s at ${s.rate} req/s, ${s.store} store, ${s.ok ? 'PASS' : 'FAIL'}; ` +
    `RSS ${s.rssMb.warm} → ${s.rssMb.end} MB (peak ${s.rssMb.peak}), p99 ${s.p99Ms.first.toFixed(1)} → ${s.p99Ms.last.toFixed(1)} ms` +
    (s.seconds < SOAK_TARGET_S ? `; shorter than ${SOAK_TARGET_S} s, so not counted` : '');
  return { ...base, value: s.rssGrowth * 100, met: s.seconds < SOAK_TARGET_S ? null : s.flat.rss && s.flat.p99, note };
}

/** A target's measured value as printed: `1.23×`, `146.1 MB`, `3.0 %`. */
export function targetValue(t: Pick<Target, 'value' | 'unit' | 'what'>): string {
  if (t.value === null) return 'n/a';
  const unit = t.unit ?? (t.what.includes('MB') ? 'MB' : '×'); // results written before targets had a unit
  return unit === '×' ? `${t.value.toFixed(2)}×` : `${t.value.toFixed(1)} ${unit}`;
}

/** met / MISSED / not measured (an `info` goal has no verdict). */
export const targetVerdict = (t: Pick<Target, 'goal' | 'met'>): string => (t.goal === 'info' ? '' : t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED');

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
  const rows = [['case', 'req/s', '', 'p50 ms', '', 'p99 ms', '', 'peak RSS MB', '', 'CPU µs/req', 'unexpected']];
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
      String(r.unexpected),
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
    .map((t) => `${t.what.padEnd(w)}  ${targetValue(t).padStart(9)}  goal ${t.goal.padEnd(18)} ${targetVerdict(t)}${t.note ? `  (${t.note})` : ''}`)
    .join('\n');
}
