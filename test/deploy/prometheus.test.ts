// deploy/prometheus/alerts.yml: `promtool check rules` and `promtool test rules` (Debian package
// `prometheus`). Skipped with a warning when promtool is missing; a failure in CI.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../devkit/root';

const DIR = path.join(REPO_ROOT, 'deploy', 'prometheus');
const HAVE_PROMTOOL = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

if (!HAVE_PROMTOOL) {
  if (process.env.CI) {
    test('promtool is installed (apt-get install prometheus)', () => {
      throw new Error('promtool not found: CI must install the Debian `prometheus` package to check the alert rules');
    });
  } else {
    console.warn('prometheus.test: promtool not found (apt-get install prometheus); alert rule checks SKIPPED');
  }
}

(HAVE_PROMTOOL ? describe : describe.skip)('Prometheus alert rules (promtool)', () => {
  const promtool = (...args: string[]) => execFileSync('promtool', args, { cwd: DIR, encoding: 'utf8', stdio: 'pipe' });

  test('promtool check rules accepts alerts.yml', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
  });

  test('promtool test rules passes alerts.test.yml', () => {
    expect(promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });
});
