// The Node the suite runs on is the LTS tollgate ships: package.json `engines`, the `node`
// devDependency (npm scripts put node_modules/.bin first on PATH, so jest, its workers and every
// child spawned with process.execPath or as `node` run it), the Docker image and compose agree.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT as ROOT } from '../../devkit/root';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};
const major = (spec: string) => Number(/(\d+)/.exec(spec)?.[1]);
/** The supported major: the one the `node` devDependency installs. */
const SHIPPED = major(pkg.devDependencies.node ?? '');

describe('Node runtime', () => {
  test('engines, the node devDependency, the Dockerfile and compose name one LTS major', () => {
    expect(SHIPPED).toBeGreaterThanOrEqual(22);
    expect(SHIPPED % 2).toBe(0); // even majors become LTS
    expect(pkg.engines.node).toMatch(new RegExp(`^\\^${SHIPPED}\\.\\d+\\.\\d+$`));
    // npm runs a dependency's install script only when allowScripts lists it: without it the
    // `node` package installs no binary and npm scripts fall back to the machine's Node.
    expect(pkg.allowScripts?.node).toBe(true);
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${SHIPPED}-[a-z]+-slim$`, 'm'));
    const compose = parse(readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { image?: string }> };
    const nodeImages = Object.values(compose.services)
      .map((s) => s.image ?? '')
      .filter((i) => i.startsWith('node:'));
    expect(nodeImages.length).toBeGreaterThan(0);
    for (const image of nodeImages) expect(image).toMatch(new RegExp(`^node:${SHIPPED}-`));
  });

  test('this test, a child spawned with process.execPath and `node` on PATH run the shipped LTS', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(SHIPPED);
    expect(process.release.lts).toBeTruthy();
    const child = execFileSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    const onPath = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    expect({ child, onPath }).toEqual({ child: process.version, onPath: process.version });
    console.log(`tests run on Node ${process.version} (${process.release.lts} LTS) from ${process.execPath}`);
  });

  test('npm scripts run their long-lived node with exec: a SIGTERM npm passes on reaches it, not only the shell', () => {
    // `sh -c "npm run build && node x.js"`: npm signals the shell, which dies and leaves node running
    // (npm start under `timeout` or a supervisor left the dev IdP and NGINX behind); `exec` makes node the child.
    const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const unexeced = Object.entries(scripts).filter(([, cmd]) => /(?:&&|;|^)\s*node\s+(?:--\S+\s+)*dist\//.test(cmd));
    expect(unexeced).toEqual([]);
    expect(scripts.start).toMatch(/&& exec node /);
  });

  test('oidc-provider (the dev IdP behind `npm start`) loads without its "Unsupported runtime" warning', () => {
    // oidc-provider warns at import time on runtimes older than the Jod (22) LTS line.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('oidc-provider'); console.log('loaded')"], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect({ status: r.status, stdout: r.stdout.trim() }).toEqual({ status: 0, stdout: 'loaded' });
    expect(r.stderr).not.toMatch(/Unsupported runtime/);
  });
});
