// Every metric the Grafana dashboard and the alert rules query exists in the validator's real
// /metrics output (a built dist/validator/server.js, spawned on a free port).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { spawnValidator, VALIDATOR_JS, type ValidatorProcess } from '../../devkit/validator';
import { REPO_ROOT as ROOT } from '../../devkit/root';

const BUILT = existsSync(VALIDATOR_JS);
const RUN = BUILT || Boolean(process.env.CI);
if (!RUN) console.warn('metric-names.test: dist/validator/server.js missing (run `npm run build`); metric name check SKIPPED');

// PromQL words that look like metric names but are functions, keywords or label names.
const NOT_METRICS = new Set([
  'sum',
  'rate',
  'increase',
  'max',
  'count',
  'min',
  'avg',
  'by',
  'without',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
  'time',
  'histogram_quantile',
  'clamp_min',
  'le',
  'result',
  'reason',
  'status',
  'issuer',
  'outcome',
  'state',
  'op',
  'instance',
  'job',
]);

/** Metric names in a PromQL expression: identifiers not followed by `(` and not inside {...} or [...]. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/"[^"]*"/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const word = m[1];
    if (NOT_METRICS.has(word) || /^\d/.test(word)) continue;
    if (/^(by|without|on|ignoring)$/.test(word)) continue;
    names.add(word);
  }
  // Words inside by (...) / without (...) groupings are label names.
  for (const g of stripped.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)) for (const l of g[1].split(',')) names.delete(l.trim());
  return [...names];
}

function dashboardExprs(): string[] {
  const dash = JSON.parse(readFileSync(path.join(ROOT, 'docs/grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

function alertExprs(): string[] {
  const rules = parse(readFileSync(path.join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

test('metricNames() finds metrics and skips functions and labels', () => {
  expect(metricNames('histogram_quantile(0.95, sum by (le, op) (rate(tollgate_store_duration_seconds_bucket[5m]))) > 0.1').sort()).toEqual([
    'tollgate_store_duration_seconds_bucket',
  ]);
  expect(metricNames('time() - max by (issuer) (tollgate_jwks_last_success_timestamp_seconds)')).toEqual(['tollgate_jwks_last_success_timestamp_seconds']);
  expect(metricNames('(sum(rate(a_total{status="401"}[5m])) / sum(rate(a_total[5m]))) > 0.25 and sum(rate(b_total[5m])) > 0.5').sort()).toEqual([
    'a_total',
    'b_total',
  ]);
});

(RUN ? describe : describe.skip)('dashboard and alert metrics exist in /metrics', () => {
  let validator: ValidatorProcess | undefined;
  let dataDir: string;
  let exposed: Set<string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-metrics-'));
    validator = await spawnValidator({
      NODE_ENV: 'development',
      AUTH_MODE: 'hs256',
      AUTH_ISSUER: 'https://issuer.test',
      AUTH_AUDIENCE: 'wavestack',
      AUTH_JWT_SECRET: 'metrics-test-secret-0123456789abcdef',
      DATA_DIR: path.join(dataDir, 'data'),
    });
    const port = validator.port;
    // One decision, so the labelled decision series exist too.
    await fetch(`http://127.0.0.1:${port}/api/auth/validate`, { headers: { 'X-Original-URI': '/api/x', 'X-Original-Method': 'GET' } });
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    exposed = new Set<string>();
    for (const line of text.split('\n')) {
      const t = line.match(/^# TYPE (\S+) (\S+)/);
      if (!t) continue;
      exposed.add(t[1]);
      if (t[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(t[1] + s);
      if (t[2] === 'summary') for (const s of ['_sum', '_count']) exposed.add(t[1] + s);
    }
  }, 30_000);

  afterAll(async () => {
    await validator?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test.each([
    ['docs/grafana-dashboard.json', dashboardExprs],
    ['deploy/prometheus/alerts.yml', alertExprs],
  ])('every metric %s queries is exposed', (_file, exprs) => {
    const queried = new Set(exprs().flatMap(metricNames));
    expect(queried.size).toBeGreaterThan(0);
    const missing = [...queried].filter((n) => !exposed.has(n));
    expect(missing).toEqual([]);
  });

  test('the contract metrics are all there', () => {
    for (const name of [
      'tollgate_decisions_total',
      'tollgate_decision_duration_seconds_bucket',
      'tollgate_jwks_fetches_total',
      'tollgate_jwks_keys',
      'tollgate_jwks_stale',
      'tollgate_jwks_last_success_timestamp_seconds',
      'tollgate_quota_charges_total',
      'tollgate_quota_ticks_charged_total',
      'tollgate_store_duration_seconds_bucket',
      'tollgate_db_pool_connections',
      'tollgate_store_up',
      'process_resident_memory_bytes',
    ]) {
      expect({ name, exposed: exposed.has(name) }).toEqual({ name, exposed: true });
    }
  });
});
