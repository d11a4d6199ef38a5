// devkit/process.ts, the one way tests, bench, soak and `npm start` run a child: readiness under a
// load-scaled deadline, a stop that never waits for an exit that already happened, and no orphan
// when the parent dies without stopping its children (NGINX's workers included).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nginxOrSkip } from '../../devkit/nginx';
import { childrenOf, isRunning } from '../../devkit/proc';
import { spawnChild, startChild, startupTimeout } from '../../devkit/process';
import { distPath } from '../../devkit/root';

const node = process.execPath;
async function gone(pids: number[], ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pids.some((p) => isRunning(p))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('startupTimeout', () => {
  afterEach(() => jest.restoreAllMocks());
  test.each([
    [0, 1000],
    [2, 2000],
    [5, 3500],
    [40, 4000],
  ])('with a load average of %d on 2 cores, 1 s becomes %d ms (at most 4×)', (load, ms) => {
    jest.spyOn(os, 'loadavg').mockReturnValue([load, 0, 0]);
    jest.spyOn(os, 'availableParallelism').mockReturnValue(2);
    expect(startupTimeout(1000)).toBe(ms);
  });
});

describe('stop', () => {
  test('returns at once when the child has already exited, with its exit code', async () => {
    const c = spawnChild(node, ['-e', 'process.exit(3)'], { name: 'quick' });
    expect(await c.exited).toBe(3);
    const t0 = Date.now();
    await c.stop(60_000);
    expect(Date.now() - t0).toBeLessThan(200);
    expect(c.alive()).toBe(false);
  });

  test('SIGKILLs a child that ignores SIGTERM after the grace, and removes its directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-proc-'));
    const c = await startChild(node, ['-e', "process.on('SIGTERM', () => console.log('ignored')); console.log('up'); setInterval(() => {}, 1000)"], {
      name: 'stubborn',
      tmpDir: dir,
      ready: { line: (l) => (l === 'up' ? true : undefined) },
    });
    const t0 = Date.now();
    await Promise.all([c.stop(300), c.stop(300)]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await c.exited).toBe('SIGKILL');
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('startChild', () => {
  test('a child that exits during start-up: the error says so and carries its output', async () => {
    await expect(
      startChild(node, ['-e', "console.error('port in use'); process.exit(1)"], { name: 'doomed', ready: { line: () => undefined } }),
    ).rejects.toThrow(/doomed did not start: exited with code 1 during start-up\n[\s\S]*port in use/);
  });

  test('a child that never gets ready is killed at the deadline', async () => {
    let pid = 0;
    const started = startChild(node, ['-e', 'console.log(process.pid); setInterval(() => {}, 1000)'], {
      name: 'silent',
      timeoutMs: 300,
      ready: {
        poll: (c) => {
          pid = c.pid;
          return undefined;
        },
      },
    });
    await expect(started).rejects.toThrow(/silent did not start: not ready within \d+ ms/);
    expect(await gone([pid], 2000)).toBe(true);
  });

  test('readiness by IPC message', async () => {
    const c = await startChild(node, ['-e', 'process.send({ port: 4242 }); setInterval(() => {}, 1000)'], {
      name: 'ipc',
      ipc: true,
      ready: { message: (m) => (m as { port?: number }).port },
    });
    expect(c.ready).toBe(4242);
    await c.stop();
  });
});

/**
 * Runs `script` (CommonJS, with `dk`, `nginx` and `certs` = the built devkit modules) in a parent
 * process that prints one JSON line and then waits; returns that line and the parent.
 */
async function parentWith(script: string): Promise<{ parent: ReturnType<typeof spawn>; line: Record<string, unknown> }> {
  const mod = (name: string): string => `require(${JSON.stringify(distPath('devkit', `${name}.js`))})`;
  const code = `const dk = ${mod('process')}; const nginx = ${mod('nginx')}; const certs = ${mod('certs')};
    (async () => { ${script} })().catch((e) => { console.error(e); process.exit(1); });`;
  const parent = spawn(node, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    parent.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as Record<string, unknown>);
    });
    parent.once('exit', (c) => reject(new Error(`parent exited (${c})`)));
  });
  return { parent, line };
}

const built = fs.existsSync(distPath('devkit', 'process.js'));
const b = built || process.env.CI ? describe : describe.skip;
if (!built) console.warn('devkit-process.test: dist/devkit missing (run `npx tsc -p tsconfig.json`); orphan tests SKIPPED');

b('no orphans when the parent dies without stopping its children (needs the build)', () => {
  test('a SIGKILLed parent takes its child with it', async () => {
    const { parent, line } = await parentWith(
      `const c = dk.spawnChild('sleep', ['600'], { name: 'sleeper' }); console.log(JSON.stringify({ pid: c.pid })); setInterval(() => {}, 1000);`,
    );
    const pid = line.pid as number;
    expect(isRunning(pid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await gone([pid])).toBe(true);
  });

  const nginxBin = nginxOrSkip('devkit: NGINX dies with its parent');
  (nginxBin ? test : test.skip)('a SIGKILLed parent takes NGINX with it, workers included', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-orphan-'));
    const { parent, line } = await parentWith(
      `const tls = certs.ensureDevCerts({ dir: ${JSON.stringify(dir)} });
      const g = await nginx.startGateway({ env: {}, httpsPort: 0, httpPort: 0, validators: ['127.0.0.1:9'], apps: ['127.0.0.1:9'], vars: { GATEWAY_TLS_CERT: tls.certFile, GATEWAY_TLS_KEY: tls.keyFile } });
      console.log(JSON.stringify({ pid: g.pid, prefix: g.prefix })); setInterval(() => {}, 1000);`,
    );
    const master = line.pid as number;
    const workers = childrenOf(master);
    expect(workers.length).toBeGreaterThan(0);
    parent.kill('SIGKILL');
    expect(await gone([master, ...workers])).toBe(true);
    // nobody was left to remove them
    fs.rmSync(line.prefix as string, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
