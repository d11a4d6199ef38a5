// Summarises a V8 .cpuprofile (from `node --cpu-prof`, or `npm run bench -- --profile`): self time
// by function and by package, so a hot-path change can say what it removed.
//   node dist/bench/profile.js FILE.cpuprofile [top=25]
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export function summarise(file: string, top = 25): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  // Percentages are of busy time: idle (waiting for the load generator, or between cases) is left out.
  const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const all = [...self.values()].reduce((a, b) => a + b, 0);
  for (const id of idleIds) self.delete(id);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url
      .replace(/^file:\/\//, '')
      .replace(/^.*\/node_modules\//, '')
      .replace(/^.*\/dist\//, 'dist/');
    const k = `${functionName || '(anonymous)'}  ${where}:${lineNumber + 1}`;
    fn.set(k, (fn.get(k) ?? 0) + us);
    const m =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
      (url.startsWith('node:')
        ? 'node:' + url.slice(5).split('/')[0]
        : url.includes('/dist/')
          ? url
              .replace(/^.*\/dist\//, 'dist/')
              .split('/')
              .slice(0, 3)
              .join('/')
          : functionName.startsWith('(')
            ? functionName
            : 'node internals');
    pkg.set(m, (pkg.get(m) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const list = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `${pct(us)}  ${k}`)
      .join('\n');
  return `${file}: ${(all / 1e6).toFixed(1)} s sampled, ${(total / 1e6).toFixed(1)} s busy (percentages of busy time)\n-- self time by package --\n${list(pkg, 15)}\n-- self time by function --\n${list(fn, top)}`;
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  process.stdout.write(summarise(file, Number(top ?? 25)) + '\n');
}
