// Prints a results JSON (bench/results/*.json) as the Markdown tables docs/PERFORMANCE.md shows.
//   node dist/bench/markdown.js bench/results/latest.json
import fs from 'node:fs';
import type { CaseResult, Target } from './report';

const n = (v: number, d = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '—');
const x = (v?: number) => (v !== undefined && Number.isFinite(v) ? ` (${v.toFixed(2)}×)` : '');

export function markdown(doc: { cases: CaseResult[]; targets: Target[] }): string {
  const rows = doc.cases.map((r) =>
    r.skip
      ? `| ${r.label} | skipped: ${r.skip} | | | | |`
      : `| ${r.label} | ${n(r.rps)}${x(r.ratio?.rps)} | ${n(r.p50, 2)}${x(r.ratio?.p50)} | ${n(r.p99, 2)}${x(r.ratio?.p99)} | ${n(r.rssMb)}${x(r.ratio?.rss)} | ${n(r.cpuUs)} |`,
  );
  const targets = doc.targets.map((t) => {
    const v = t.value === null ? 'n/a' : t.what.includes('MB') ? `${t.value.toFixed(1)} MB` : `${t.value.toFixed(2)}×`;
    return `| ${t.what} | ${v} | ${t.goal} | ${t.goal === 'info' ? '—' : t.met === null ? 'not measured' : t.met ? '**met**' : '**missed**'} |`;
  });
  return [
    '| case | req/s | p50 ms | p99 ms | peak RSS MB | CPU µs/req |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    '| target (ratio of this run) | measured | goal | |',
    '|---|---:|---|---|',
    ...targets,
  ].join('\n');
}

if (require.main === module) {
  const file = process.argv[2] ?? 'bench/results/latest.json';
  process.stdout.write(markdown(JSON.parse(fs.readFileSync(file, 'utf8'))) + '\n');
}
