// The production image, checked without Docker: the Dockerfile's shape, and the real production
// build (tsconfig.prod.json) compiled into a temp dir and inspected file by file.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT as ROOT } from '../../devkit/root';
import { VALIDATOR_NODE_FLAGS } from '../../devkit/validator';

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

/** Instructions of the Dockerfile with continuation lines joined and comments dropped. */
function instructions(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function stages(text: string): Array<{ from: string; lines: string[] }> {
  const out: Array<{ from: string; lines: string[] }> = [];
  for (const line of instructions(text)) {
    if (/^FROM\s/i.test(line)) out.push({ from: line, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

describe('Dockerfile', () => {
  const all = stages(dockerfile);
  const runtime = all.at(-1)!;

  test('multi-stage: a build stage compiling tsconfig.prod.json, then a node:24-bookworm-slim runtime', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(all[0].from).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/);
    expect(runtime.from).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/);
    expect(all[0].lines).toContain('RUN npm ci --no-audit --no-fund');
    expect(all[0].lines).toContain('RUN npx tsc -p tsconfig.prod.json');
    // a new DATA_DIR is copied from this template instead of running initdb at every start
    expect(all[0].lines.indexOf('RUN node dist-prod/validator/store/embedded-template.js')).toBeGreaterThan(
      all[0].lines.indexOf('RUN npx tsc -p tsconfig.prod.json'),
    );
    // Only the validator's sources enter the build stage.
    const copies = all[0].lines.filter((l) => l.startsWith('COPY'));
    expect(copies.join('\n')).not.toMatch(/keycloak|scripts|test|COPY \. /);
  });

  test('runtime: production dependencies only, compiled validator + migrations, NODE_ENV=production', () => {
    expect(runtime.lines.some((l) => /^RUN npm ci .*--omit=dev/.test(l))).toBe(true);
    expect(runtime.lines.some((l) => /^ENV .*NODE_ENV=production/.test(l))).toBe(true);
    const copies = runtime.lines.filter((l) => l.startsWith('COPY'));
    expect(copies).toEqual([
      'COPY package.json package-lock.json ./',
      // the embedded store's template, made by the build stage (validator/store/embedded-template.ts)
      'COPY --from=build /src/node_modules/.cache/tollgate ./node_modules/.cache/tollgate',
      'COPY --from=build /src/dist-prod/validator ./dist/validator',
      'COPY migrations ./migrations',
    ]);
    expect(existsSync(path.join(ROOT, 'migrations'))).toBe(true);
  });

  test('runtime: non-root USER node before CMD, healthcheck on /api/health, entry point exists', () => {
    const userAt = runtime.lines.findIndex((l) => l === 'USER node');
    const cmdAt = runtime.lines.findIndex((l) => l.startsWith('CMD'));
    expect(userAt).toBeGreaterThan(-1);
    expect(cmdAt).toBeGreaterThan(userAt);
    const health = runtime.lines.find((l) => l.startsWith('HEALTHCHECK'));
    expect(health).toMatch(/CMD \["node", "-e", ".*fetch\(.*\/api\/health/);
    expect(runtime.lines[cmdAt]).toBe(
      `CMD ["node", "--enable-source-maps", ${VALIDATOR_NODE_FLAGS.map((f) => `"${f}"`).join(', ')}, "dist/validator/server.js"]`,
    );
    expect(existsSync(path.join(ROOT, 'validator/server.ts'))).toBe(true);
    // Read-only root: the only writable default is under /tmp.
    expect(runtime.lines.find((l) => l.startsWith('ENV'))).toMatch(/DATA_DIR=\/tmp\//);
  });

  test('.dockerignore keeps secrets, state and non-production code out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.data', '.env', 'keys.env', '.certs', '.secrets', 'test', 'keycloak', 'scripts', '*.pem', '*.key']) {
      expect({ entry, ignored: ignored.includes(entry) }).toEqual({ entry, ignored: true });
    }
  });
});

describe('production build (tsconfig.prod.json)', () => {
  let out: string;
  let files: string[];

  beforeAll(() => {
    out = mkdtempSync(path.join(tmpdir(), 'tollgate-prod-'));
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.prod.json'), '--outDir', out], { cwd: ROOT, stdio: 'pipe' });
    } catch (e) {
      const err = e as { stdout?: Buffer; stderr?: Buffer };
      // The image build runs the same command and fails the same way.
      throw new Error(`tsc -p tsconfig.prod.json failed:\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`);
    }
    files = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(path.relative(out, p));
      }
    };
    walk(out);
  }, 120_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('contains the validator only: no dev IdP, scripts or tests', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(readdirSync(out)).toEqual(['validator']);
    for (const f of files) expect(f).not.toMatch(/\.test\.js(\.map)?$/);
    expect(files).toEqual(expect.arrayContaining(['validator/server.js', 'validator/cli/migrate.js']));
  });

  test('holds no token-minting code, no key generation, no private key material, no dev token endpoint', () => {
    const forbidden = ['SignJWT', 'generateKeyPair', 'oidc-provider', 'PRIVATE KEY', '/api/auth/token'];
    for (const f of files) {
      const text = readFileSync(path.join(out, f), 'utf8');
      for (const needle of forbidden) expect({ file: f, needle, found: text.includes(needle) }).toEqual({ file: f, needle, found: false });
    }
  });

  test('requires only node built-ins, its own files and production dependencies (npm ci --omit=dev)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const deps = new Set(Object.keys(pkg.dependencies));
    const builtins = new Set(builtinModules);
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      const text = readFileSync(path.join(out, f), 'utf8');
      for (const m of text.matchAll(/require\(["']([^"']+)["']\)/g)) {
        const spec = m[1];
        if (spec.startsWith('.')) {
          const target = path.join(path.dirname(f), spec);
          expect({ file: f, spec, insideValidator: target.startsWith('validator') }).toEqual({ file: f, spec, insideValidator: true });
          continue;
        }
        const name = spec.startsWith('node:') ? spec.slice(5) : spec;
        if (builtins.has(name) || builtins.has(name.split('/')[0])) continue;
        const pkgName = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        expect({ file: f, spec, production: deps.has(pkgName) }).toEqual({ file: f, spec, production: true });
      }
    }
  });
});
