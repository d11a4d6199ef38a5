// The soak in its short CI form (40 s, of which 30 s warm-up): steady load through NGINX with valid, charged and hostile
// requests; every check of `npm run soak` must hold. The full run is `npm run soak` (10 minutes).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nginxOrSkip } from '../../devkit/nginx';
import { VALIDATOR_JS } from '../../devkit/validator';
import { runSoak } from '../../scripts/soak';

const nginx = nginxOrSkip('the short soak');
const t = nginx ? test : test.skip;

t(
  'short soak through the gateway: no unexpected status, ticks reconciled, p99 stable, RSS flat',
  async () => {
    expect(fs.existsSync(VALIDATOR_JS)).toBe(true); // npm test builds first
    const svg = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-soak-test-')), 'soak.svg');
    const lines: string[] = [];
    const report = await runSoak({
      seconds: Number(process.env.SOAK_SECONDS ?? 40), // the first 30 s are warm-up
      rate: 300,
      connections: 12,
      windowS: 4,
      svgPath: svg,
      adminDatabaseUrl: process.env.TEST_DATABASE_URL || undefined,
      log: (l) => lines.push(l),
    });
    console.log(lines.join('\n'));
    expect(report.unexpected).toEqual({});
    expect(report.ticks.granted).toBeGreaterThan(0);
    expect(report.ticks.table).toBe(report.ticks.granted);
    expect(report.hostile).toBeGreaterThan(report.requests / 3);
    expect(report.verdict.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(report.ok).toBe(true);
    expect(fs.readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    fs.rmSync(path.dirname(svg), { recursive: true, force: true });
  },
  90_000,
);
