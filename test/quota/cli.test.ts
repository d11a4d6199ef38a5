// The operator CLIs as operators run them: the compiled JavaScript, in a child process,
// against a fresh server database (or an embedded data directory when there is no server).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_DAILY_LIMIT } from '../../validator/lib/daily-limit';
import { freshServerDatabase, serverUrlOrSkip, type FreshDatabase } from '../../devkit/pg';
import { REPO_ROOT as root } from '../../devkit/root';

const dist = (f: string) => path.join(root, 'dist/validator/cli', f);

beforeAll(() => {
  // tsc emits even when other files in the project have type errors; only the output matters here.
  spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { cwd: root, stdio: 'ignore' });
  for (const f of ['quota.js', 'migrate.js']) if (!existsSync(dist(f))) throw new Error(`build did not produce ${dist(f)}`);
}, 120_000);

function run(file: string, args: string[], env: Record<string, string | undefined>) {
  // A temp cwd so no developer .env/keys.env leaks in; QUOTA_TIMEZONE pinned for stable dates.
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'tollgate-cli-'));
  const r = spawnSync(process.execPath, [dist(file), ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, QUOTA_TIMEZONE: 'UTC', ...env },
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const serverUrl = serverUrlOrSkip();
const targets: Array<['server' | 'embedded', () => Promise<{ env: Record<string, string>; done(): Promise<void> }>]> = [
  ['embedded', async () => ({ env: { DATA_DIR: path.join(mkdtempSync(path.join(os.tmpdir(), 'tollgate-data-')), 'db') }, done: async () => {} })],
];
if (serverUrl) {
  targets.push([
    'server',
    async () => {
      const fresh: FreshDatabase = await freshServerDatabase(serverUrl);
      return { env: { DATABASE_URL: fresh.url }, done: () => fresh.drop() };
    },
  ]);
}

describe.each(targets)('%s', (_name, make) => {
  let env: Record<string, string>;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ env, done } = await make());
  });
  afterAll(() => done());

  const quota = (...args: string[]) => run('quota.js', args, env);

  test('migrate applies, then finds nothing to do', () => {
    const first = run('migrate.js', [], env);
    expect(first).toMatchObject({ code: 0, err: '' });
    // every file of migrations/, in order (a new migration must not need this test edited)
    const files = readdirSync(path.join(root, 'migrations'))
      .filter((f) => /^\d{3}_.*\.sql$/.test(f))
      .sort();
    expect(files.slice(0, 3)).toEqual(['001_auth_compat.sql', '002_quota.sql', '003_limit_cap.sql']);
    expect(first.out).toContain(`${files.map((f) => `applied ${f}`).join('\n')}\nmigrations: ${files.length} applied, 0 already applied`);
    expect(run('migrate.js', [], env).out).toMatch(new RegExp(`migrations: 0 applied, ${files.length} already applied`));
  });

  test('set-limit needs a known user unless --create; show prints the row', () => {
    expect(quota('set-limit', 'alice', '5')).toMatchObject({ code: 1, err: 'quota: unknown user: alice\n' });
    expect(quota('show', 'alice')).toMatchObject({ code: 1 });
    expect(quota('set-limit', 'alice', '5', '--create')).toMatchObject({ code: 0, out: 'alice: daily limit set to 5\n' });
    const show = quota('show', 'alice', '2024-01-01');
    expect(show.code).toBe(0);
    expect(show.out).toBe('user   date        used  limit  remaining\nalice  2024-01-01  0     5      5\n');
  });

  test('top and reset', () => {
    quota('set-limit', 'bob', '9', '--create');
    expect(quota('top', '2024-01-01')).toMatchObject({ code: 0, out: 'no usage on 2024-01-01\n' });
    expect(quota('reset', 'bob', '2024-01-01')).toMatchObject({ code: 0, out: 'bob: no usage on 2024-01-01, nothing to reset\n' });
    expect(quota('reset', 'nobody', '2024-01-01')).toMatchObject({ code: 1, err: 'quota: unknown user: nobody\n' });
    expect(quota('top', '--limit', '1')).toMatchObject({ code: 0 });
    expect(quota('top', '--limit=1')).toMatchObject({ code: 0 });
  });

  test.each([
    [['set-limit', 'alice', 'ten'], /bad limit "ten": expected a positive integer/],
    [['set-limit', 'alice', '0'], /bad limit "0"/],
    [['set-limit', 'alice', '-3'], /bad limit "-3"/],
    [['set-limit', 'alice', String(MAX_DAILY_LIMIT + 1)], new RegExp(`bad limit "${MAX_DAILY_LIMIT + 1}": a daily limit is at most ${MAX_DAILY_LIMIT} ticks`)],
    [['set-limit', 'alice', '2147483647', '--create'], new RegExp(`a daily limit is at most ${MAX_DAILY_LIMIT}`)],
    [['set-limit', 'alice', '5', '--create=yes'], /option --create takes no value/],
    [['show', 'alice', '--create'], /unknown option: --create/],
    [['top', '--limit'], /option --limit needs a value/],
    [['set-limit', 'alice'], /expected: set-limit <user> <n>/],
    [['show', 'alice', '2024-02-30'], /bad date "2024-02-30": expected YYYY-MM-DD/],
    [['reset', 'alice', 'yesterday'], /bad date "yesterday"/],
    [['top', '--limit', 'x'], /bad --limit "x"/],
    [['frobnicate'], /unknown command: frobnicate/],
    [[], /no command given/],
  ])('bad arguments %j exit 2 with usage', (args, msg) => {
    const r = quota(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err).toMatch(/usage: npm run quota/);
  });

  test('set-limit takes the ceiling itself', () => {
    expect(quota('set-limit', 'carol', String(MAX_DAILY_LIMIT), '--create')).toMatchObject({ code: 0, out: `carol: daily limit set to ${MAX_DAILY_LIMIT}\n` });
  });

  test('help exits 0', () => {
    expect(quota('--help')).toMatchObject({ code: 0, out: expect.stringMatching(/^usage: npm run quota/) });
    expect(quota('-h')).toMatchObject({ code: 0, out: expect.stringContaining(`set a user's daily tick limit (1 to ${MAX_DAILY_LIMIT})`) });
  });
});

test('migrate against an unreachable server fails with a clear message', () => {
  const r = run('migrate.js', [], { DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/x' });
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/^migrate failed \(postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/x\): connect ECONNREFUSED/);
  expect(r.err).not.toMatch(/secret/);
});

test('migrate takes no arguments: a stray one is refused before any database is opened', () => {
  expect(run('migrate.js', ['--force'], {})).toMatchObject({
    code: 2,
    err: expect.stringMatching(/^migrate: Unknown option '--force'[^]*usage: npm run migrate/),
  });
  expect(run('migrate.js', ['--help'], {})).toMatchObject({ code: 0, out: expect.stringMatching(/^usage: npm run migrate/) });
});

test('a bad environment value names the variable', () => {
  expect(run('migrate.js', [], { DATABASE_POOL_MAX: 'lots' })).toMatchObject({
    code: 1,
    err: expect.stringMatching(/DATABASE_POOL_MAX: must be a whole number from 1 to 1000, got "lots"/),
  });
  expect(run('quota.js', ['top'], { QUOTA_TIMEZONE: 'Nowhere/Land' })).toMatchObject({
    code: 2,
    err: expect.stringMatching(/QUOTA_TIMEZONE: "Nowhere\/Land" is not an IANA time zone/),
  });
});

test('quota on a database that was never migrated says so', () => {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'tollgate-data-')), 'db');
  const r = run('quota.js', ['show', 'x'], { DATA_DIR: dir });
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/has `npm run migrate` been run/);
});
