// docs/PERFORMANCE.md's figures from a results JSON (bench/results/*.json) and the latest soak
// (bench/results/soak.json). The page is prose written by hand around generated blocks:
//   <!-- bench:NAME … -->  …generated…  <!-- /bench:NAME -->
// with NAME one of run, results, cache, targets, soak. Only the inside of a block is rewritten, so
// the prose survives every run. A missed target links to its hand-written explanation, the anchor
// `<a id="bound-ID"></a>` (ID: the target's id in the JSON); a miss without one is reported.
//   node dist/bench/markdown.js [results.json]            print the blocks
//   node dist/bench/markdown.js [results.json] --write    rewrite them in docs/PERFORMANCE.md
//   node dist/bench/markdown.js [results.json] --check    exit 1 if the page is not what --write makes
// Options: --doc=FILE (docs/PERFORMANCE.md), --soak=FILE (bench/results/soak.json when it exists;
// else the soak recorded in the results JSON).
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT as ROOT } from '../devkit/root';
import type { SoakSummary } from '../scripts/soak';
import { soakTarget, targetValue, type CaseResult, type Machine, type Target } from './report';

interface ResultsDoc {
  startedAt: string;
  settings: { seconds: number; rounds: number; connections: number; tokenPool: number; database: string };
  machine: Machine;
  cases: CaseResult[];
  targets: Target[];
  soak?: SoakSummary | null;
}

export const BLOCKS = ['run', 'results', 'cache', 'targets', 'soak'] as const;
export type Block = (typeof BLOCKS)[number];

const n = (v: number, d = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '—');
const x = (v?: number) => (v !== undefined && Number.isFinite(v) ? ` (${v.toFixed(2)}×)` : '');
// Targets written before they had an id: a slug of their text.
const idOf = (t: Target) => t.id ?? t.what.replace(/[^a-z0-9]+/gi, '-').toLowerCase();

/** The run's targets, the soak row taken from `soak` (the latest soak may be newer than the run). */
const targetsOf = (doc: ResultsDoc, soak?: SoakSummary): Target[] =>
  soak ? [...doc.targets.filter((t) => idOf(t) !== 'soak-flat'), soakTarget(soak)] : doc.targets;

/** Anchor ids of the hand-written explanations in a page. */
export function explained(page: string): Set<string> {
  return new Set([...page.matchAll(/<a id="bound-([\w-]+)"><\/a>/g)].map((m) => m[1]!));
}

/** The generated blocks. `bounds`: targets that have a hand-written explanation on the page. */
export function markdown(doc: ResultsDoc, soak: SoakSummary | undefined, bounds: Set<string> = new Set()): Record<Block, string> {
  const m = doc.machine;
  const ossl = m.openssl
    ? ` \`openssl speed\` on the same machine: RSA-2048 verify ${n(m.openssl.rsa2048.verify)}/s (sign ${n(m.openssl.rsa2048.sign)}/s), ` +
      `ECDSA P-256 verify ${n(m.openssl.ecdsap256.verify)}/s (sign ${n(m.openssl.ecdsap256.sign)}/s), per core.`
    : '';
  const s = doc.settings;
  const run =
    `Run of ${doc.startedAt.slice(0, 10)} (\`bench/results/latest.json\`): ${m.nproc} × ${m.cpu}, ${m.memGb} GB, ${m.os}, Node ${m.node}` +
    `${m.openssl ? `, ${m.openssl.version.split(' (')[0]}` : ''}.${ossl} ${s.seconds} s per case, ${s.rounds} interleaved rounds, ` +
    `autocannon with ${s.connections} connections, first-sight pools of ${n(s.tokenPool)} tokens, quota store on the ${s.database === 'server' ? 'Postgres server' : 'embedded Postgres'}, ` +
    `load average ${m.loadAvgAtStart[0]} at the start.`;

  const results = [
    '| case | req/s | p50 ms | p99 ms | peak RSS MB | CPU µs/req |',
    '|---|---:|---:|---:|---:|---:|',
    ...doc.cases.map((r) =>
      r.skip
        ? `| ${r.label} | skipped: ${r.skip} | | | | |`
        : `| ${r.label} | ${n(r.rps)}${x(r.ratio?.rps)} | ${n(r.p50, 2)}${x(r.ratio?.p50)} | ${n(r.p99, 2)}${x(r.ratio?.p99)} | ${n(r.rssMb)}${x(r.ratio?.rss)} | ${r.group === 'gateway' ? '—' : n(r.cpuUs)} |`,
    ),
  ].join('\n');

  const counted = doc.cases.filter((r) => r.cache);
  const unexpected = doc.cases.filter((r) => (r.unexpected ?? 0) > 0);
  const cache =
    (counted.length
      ? `Verified-token cache lookups during the measured runs (hits / misses, from each tollgate's \`/metrics\`): ` +
        counted.map((r) => `${r.label} ${n(r.cache!.hits)} / ${n(r.cache!.misses)}`).join('; ') +
        '.'
      : 'No cache counters in this run.') +
    (unexpected.length
      ? ` **Unexpected answers** (not the case's status, or errors): ${unexpected.map((r) => `${r.label} ${n(r.unexpected)}`).join('; ')}.`
      : ' Every answer had the status its case expects (200; 401 for the bad-signature flood).');

  const targets = [
    '| target (ratio of this run) | measured | goal | | what bounds it |',
    '|---|---:|---|---|---|',
    ...targetsOf(doc, soak).map((t) => {
      const verdict = t.goal === 'info' ? '—' : t.met === null ? 'not measured' : t.met ? '**met**' : '**missed**';
      const why = t.met !== false ? (t.note ?? '') : bounds.has(idOf(t)) ? `[below](#bound-${idOf(t)})` : '**not explained yet**';
      return `| ${t.what} | ${targetValue(t)} | ${t.goal} | ${verdict} | ${why} |`;
    }),
  ].join('\n');

  const soakText = soak
    ? [
        `Latest \`npm run soak\` (\`bench/results/soak.json\`, ${soak.finishedAt.slice(0, 10)}): ${soak.seconds} s at ${soak.rate} req/s over ` +
          `${soak.connections} connections through NGINX, ${soak.store} store, ${n(soak.requests)} requests (${n(soak.hostile)} hostile): ` +
          `**${soak.ok ? 'PASS' : 'FAIL'}**. Validator RSS ${soak.rssMb.first} MB at the first sample, ${soak.rssMb.warm} MB after warm-up, ` +
          `${soak.rssMb.end} MB at the end (peak ${soak.rssMb.peak} MB); p99 ${soak.p99Ms.first.toFixed(1)} ms in the first window after warm-up, ` +
          `${soak.p99Ms.last.toFixed(1)} ms in the last (worst ${soak.p99Ms.worst.toFixed(1)} ms).`,
        '',
        ...soak.verdict.map((v) => `- \`${v}\``),
      ].join('\n')
    : 'No soak figures yet: `npm run soak` writes `bench/results/soak.json` (and `docs/soak.svg`).';

  return { run, results, cache, targets, soak: soakText };
}

/** The page with every block's inside replaced; throws on an unknown or unclosed block. */
export function rewrite(page: string, blocks: Record<Block, string>): string {
  const open = /<!-- bench:(\w+)\b[^>]*-->\n/g;
  let out = '';
  let at = 0;
  for (let m = open.exec(page); m; m = open.exec(page)) {
    const name = m[1] as Block;
    if (!BLOCKS.includes(name)) throw new Error(`unknown block bench:${name} (known: ${BLOCKS.join(', ')})`);
    const close = `<!-- /bench:${name} -->`;
    const end = page.indexOf(close, open.lastIndex);
    if (end < 0) throw new Error(`bench:${name} has no ${close}`);
    out += page.slice(at, open.lastIndex) + blocks[name] + '\n';
    at = end;
    open.lastIndex = end + close.length;
  }
  return out + page.slice(at);
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (k: string) => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const file = args.find((a) => !a.startsWith('--')) ?? path.join(ROOT, 'bench', 'results', 'latest.json');
  const docPath = opt('doc') ?? path.join(ROOT, 'docs', 'PERFORMANCE.md');
  const soakPath = opt('soak') ?? path.join(ROOT, 'bench', 'results', 'soak.json');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as ResultsDoc;
  const soak = fs.existsSync(soakPath) ? (JSON.parse(fs.readFileSync(soakPath, 'utf8')) as SoakSummary) : (doc.soak ?? undefined);
  const write = args.includes('--write');
  const check = args.includes('--check');
  if (!write && !check) {
    const blocks = markdown(doc, soak);
    for (const b of BLOCKS) process.stdout.write(`<!-- bench:${b} -->\n${blocks[b]}\n<!-- /bench:${b} -->\n\n`);
    return;
  }
  const page = fs.readFileSync(docPath, 'utf8');
  const blocks = markdown(doc, soak, explained(page));
  const next = rewrite(page, blocks);
  const missing = BLOCKS.filter((b) => !page.includes(`<!-- bench:${b}`));
  if (missing.length) process.stderr.write(`${docPath}: no block for ${missing.join(', ')}\n`);
  if (check) {
    if (next !== page) {
      process.stderr.write(`${docPath} is not what ${path.relative(ROOT, file)} makes: run node dist/bench/markdown.js --write\n`);
      process.exitCode = 1;
    }
    return;
  }
  fs.writeFileSync(docPath, next);
  process.stdout.write(`wrote ${path.relative(ROOT, docPath)} from ${path.relative(ROOT, file)}${soak ? ' and the soak figures' : ''}\n`);
  const unexplained = targetsOf(doc, soak)
    .filter((t) => t.met === false && !explained(next).has(idOf(t)))
    .map(idOf);
  if (unexplained.length) {
    process.stderr.write(`missed targets with no explanation (<a id="bound-ID"></a> before the text that says what bounds it): ${unexplained.join(', ')}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) main();
