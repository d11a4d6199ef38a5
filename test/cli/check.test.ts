// `tollgate check` against good and broken configurations: every configuration error at once (exit
// 2), then real probes (exit 3 on any failure) of a devkit issuer, the real Postgres server and, when
// installed, NGINX; the JSON shape; the compiled command's exit codes; and the validator's start-up
// refusing the same deployments with the same sentences.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDevCerts } from '../../devkit/certs';
import { TestIssuer, makeKey, type TestKey } from '../../devkit/issuer';
import { nginxOrSkip } from '../../devkit/nginx';
import { AUDIENCE, RESOURCE_SERVER, startOAuthServer } from '../../devkit/oauth-server';
import { freshServerDatabase, serverUrlOrSkip, type FreshDatabase } from '../../devkit/pg';
import { freePort } from '../../devkit/process';
import { distPath } from '../../devkit/root';
import { VALIDATOR_JS } from '../../devkit/validator';
import { runCheck, type CheckReport } from '../../validator/cli/check';
import { openDb } from '../../validator/store/db';
import { migrate, readMigrations, defaultMigrationsDir } from '../../validator/store/migrate';
import { RLS_TABLES } from '../../validator/store/schema';

const serverUrl = serverUrlOrSkip();
const maybe = serverUrl ? describe : describe.skip;
const MIGRATIONS = readMigrations(defaultMigrationsDir()).length;

let key: TestKey;
let iss: TestIssuer;
let migrated: FreshDatabase;
let bare: FreshDatabase;
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-check-'));
  key = await makeKey('RS256', 'k1');
  iss = await TestIssuer.start([key], '/realms/wavestack');
  if (serverUrl) {
    [migrated, bare] = await Promise.all([freshServerDatabase(serverUrl), freshServerDatabase(serverUrl)]);
    const db = await openDb({ url: migrated.url, dataDir: '', poolMax: 1, statementTimeoutMs: 0, ssl: false, defaultDailyTicks: 32 });
    await migrate(db.pool);
    await db.close();
  }
}, 60_000);
afterAll(async () => {
  await iss?.stop();
  await Promise.all([migrated?.drop(), bare?.drop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

/** A configuration that passes, on the migrated database; `NGINX_BIN` set aside unless a test sets it. */
const good = (extra: Record<string, string | undefined> = {}) => ({
  NODE_ENV: 'production',
  AUTH_MODE: 'jwks',
  AUTH_ISSUER: iss.issuer,
  AUTH_AUDIENCE: 'wavestack',
  DATABASE_URL: migrated?.url,
  NGINX_BIN: path.join(work, 'no-nginx'),
  ...extra,
});

const probe = (r: CheckReport, name: string) => r.probes.find((p) => p.name === name);

describe('configuration errors: every one at once, exit 2, no probe', () => {
  test('several mistakes in one environment', async () => {
    const r = await runCheck({
      NODE_ENV: 'production',
      AUTH_MODE: 'jwks',
      AUTH_AUDIENCE: 'api',
      PORT: 'eighty',
      AUTH_ALLOWED_CLIENT: 'gateway',
      QUOTA_TIMEZONE: 'Mars/Olympus',
    });
    expect(r).toMatchObject({ ok: false, exitCode: 2, probes: [] });
    expect(r.configuration.errors.map((e) => e.variable).sort()).toEqual(['AUTH_ALLOWED_CLIENT', 'AUTH_ISSUER', 'PORT', 'QUOTA_TIMEZONE']);
    expect(r.configuration.errors.find((e) => e.variable === 'AUTH_ALLOWED_CLIENT')!.message).toMatch(/did you mean AUTH_ALLOWED_CLIENTS\?/);
  });

  test('production without DATABASE_URL, on an unmigrated embedded store: refused as configuration', async () => {
    const r = await runCheck({ ...good(), DATABASE_URL: undefined, DATA_DIR: path.join(work, 'never') });
    expect(r.exitCode).toBe(2);
    expect(r.configuration.errors).toEqual([
      { variable: 'DATABASE_URL', message: expect.stringMatching(/^DATABASE_URL: is not set: in production quotas need a Postgres server/) },
    ]);
    // on purpose, one instance: allowed
    expect((await runCheck({ ...good(), DATABASE_URL: undefined, DATA_DIR: 'memory://', MIGRATE_ON_START: 'true' }, { probes: false })).exitCode).toBe(0);
  });
});

maybe('probes', () => {
  test('a good configuration: every probe passes, in the documented JSON shape', async () => {
    const r = await runCheck(good());
    expect(r).toMatchObject({ ok: true, exitCode: 0, configuration: { ok: true, errors: [], warnings: [] } });
    expect(r.probes.map((p) => [p.name, p.ok])).toEqual([
      ['discovery', true],
      ['jwks', true],
      ['clock', true],
      ['database', true],
      ['nginx', true],
    ]);
    expect(probe(r, 'discovery')!.detail).toBe(`jwks_uri ${iss.jwksUrl}`);
    expect(probe(r, 'jwks')!.detail).toMatch(/^1 usable signing key for RS256, ES256: kid k1 \(RSA, RS256, use sig\) verifies RS256$/);
    expect(probe(r, 'clock')!.detail).toMatch(/agrees with ours|is 1 s (ahead of|behind) ours/);
    expect(probe(r, 'database')).toMatchObject({
      target: migrated.url,
      detail: `reachable; ${MIGRATIONS} migrations applied; RLS on ${[...RLS_TABLES]
        .sort()
        .map((t) => `public.${t}`)
        .join(', ')}`,
    });
    expect(probe(r, 'nginx')).toMatchObject({ skipped: true });
    for (const p of r.probes) expect(Object.keys(p).every((k) => ['name', 'target', 'ok', 'skipped', 'detail', 'hint'].includes(k))).toBe(true);
  });

  test('JWKS unreachable: the URL and the cause, not "fetch failed"', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/certs`;
    const r = await runCheck(good({ AUTH_JWKS_URL: url, AUTH_JWKS_TIMEOUT_MS: '2000' }));
    expect(r.exitCode).toBe(3);
    expect(probe(r, 'discovery')).toBeUndefined(); // a configured JWKS URL needs no discovery
    expect(probe(r, 'jwks')).toMatchObject({
      ok: false,
      target: url,
      detail: `GET ${url}: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`,
      hint: expect.stringMatching(/DNS, egress/),
    });
    expect(probe(r, 'clock')).toMatchObject({ ok: true, skipped: true });
  });

  test('introspection (real oidc-provider): answers with our credentials → ok; a wrong secret, a wrong URL, nothing listening → fails with the cause', async () => {
    const server = await startOAuthServer();
    try {
      const env = (extra: Record<string, string>) =>
        good({
          AUTH_ISSUER: server.issuer,
          AUTH_AUDIENCE: AUDIENCE,
          AUTH_JWKS_URL: server.jwksUrl,
          AUTH_INTROSPECTION_URL: server.introspectionUrl,
          AUTH_INTROSPECTION_CLIENT_ID: RESOURCE_SERVER.id,
          AUTH_INTROSPECTION_CLIENT_SECRET: RESOURCE_SERVER.secret,
          NODE_ENV: 'development',
          ...extra,
        });
      const ok = await runCheck(env({}));
      expect(probe(ok, 'introspection')).toEqual({
        name: 'introspection',
        target: server.introspectionUrl,
        ok: true,
        detail: 'answers with our client credentials (a token it never issued: active false)',
      });
      const wrongSecret = await runCheck(env({ AUTH_INTROSPECTION_CLIENT_SECRET: 'not-the-secret-of-this-client' }));
      expect(wrongSecret.exitCode).toBe(3);
      expect(probe(wrongSecret, 'introspection')).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^answered 401: the client credentials were refused$/),
      });
      expect(JSON.stringify(wrongSecret)).not.toContain('not-the-secret-of-this-client');
      const wrongUrl = await runCheck(env({ AUTH_INTROSPECTION_URL: server.jwksUrl }));
      expect(probe(wrongUrl, 'introspection')).toMatchObject({ ok: false });
      const port = await freePort();
      const down = await runCheck(env({ AUTH_INTROSPECTION_URL: `http://127.0.0.1:${port}/introspect` }));
      expect(probe(down, 'introspection')).toMatchObject({ ok: false, detail: expect.stringMatching(/ECONNREFUSED/) });
    } finally {
      await server.stop();
    }
  }, 60_000);

  test('discovery names another issuer (a trailing slash): discovery fails, the JWKS is not reached', async () => {
    const r = await runCheck(good({ AUTH_ISSUER: `${iss.issuer}/` }));
    expect(r.exitCode).toBe(3);
    expect(probe(r, 'discovery')).toMatchObject({ ok: false, detail: `discovery document issuer "${iss.issuer}" differs from ${iss.issuer}/` });
    expect(probe(r, 'jwks')).toBeUndefined();
  });

  test('a JWKS with no key for the allowed algorithms lists each key and why it is not used', async () => {
    const other = await TestIssuer.start([key]);
    other.extraJwks = [{ ...key.publicJwk, kid: 'enc1', use: 'enc' }];
    try {
      const r = await runCheck(good({ AUTH_ISSUER: other.issuer, AUTH_ALGORITHMS: 'ES256' }));
      const jwks = probe(r, 'jwks')!;
      expect(jwks.ok).toBe(false);
      expect(jwks.detail).toMatch(/JWKS has no usable signing key for the allowed algorithms/);
      expect(jwks.detail).toMatch(/kid k1 \(RSA, RS256, use sig\) is not used: alg RS256 is not among ES256/);
      expect(jwks.detail).toMatch(/kid enc1 \(RSA, RS256, use enc\) is not used: use enc, not sig/);
      expect(jwks.hint).toMatch(/AUTH_ALGORITHMS/);
    } finally {
      await other.stop();
    }
  });

  test("the IdP's clock ten minutes ahead fails the clock probe", async () => {
    const server: Server = createServer((_req, res) => {
      res.sendDate = false;
      res.setHeader('Date', new Date(Date.now() + 600_000).toUTCString());
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [key.publicJwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
      const r = await runCheck(good({ AUTH_JWKS_URL: url }));
      expect(probe(r, 'jwks')!.ok).toBe(true);
      expect(probe(r, 'clock')).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/is (599|600|601) s ahead of ours .*AUTH_CLOCK_TOLERANCE_S=30/),
        hint: expect.stringMatching(/NTP/),
      });
      expect(r.exitCode).toBe(3);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('database: unreachable (cause, no password), not migrated, RLS off', async () => {
    const port = await freePort();
    const down = await runCheck(good({ DATABASE_URL: `postgres://tollgate:s3cret@127.0.0.1:${port}/x` }));
    expect(probe(down, 'database')).toMatchObject({
      ok: false,
      target: `postgres://tollgate:***@127.0.0.1:${port}/x`,
      detail: `unreachable: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
    expect(JSON.stringify(down)).not.toContain('s3cret');

    const unmigrated = await runCheck(good({ DATABASE_URL: bare.url }));
    expect(probe(unmigrated, 'database')).toMatchObject({
      ok: false,
      hint: 'npx tollgate migrate',
      detail: expect.stringMatching(
        new RegExp(`^${bare.url.replace(/[/.?]/g, '.')} lacks ${MIGRATIONS} migrations \\(001_auth_compat.sql, .*\\): every charge would fail`),
      ),
    });
    // a configuration that migrates at start-up is fine with it
    expect(probe(await runCheck(good({ DATABASE_URL: bare.url, MIGRATE_ON_START: 'true' })), 'database')).toMatchObject({
      ok: true,
      detail: expect.stringMatching(new RegExp(`${MIGRATIONS} pending, applied at start-up`)),
    });

    const c = new pg.Client({ connectionString: migrated.url });
    await c.connect();
    await c.query('ALTER TABLE public.profiles DISABLE ROW LEVEL SECURITY');
    try {
      const rls = await runCheck(good());
      expect(probe(rls, 'database')).toMatchObject({ ok: false, detail: expect.stringMatching(/row-level security is off on public\.profiles/) });
      expect(rls.exitCode).toBe(3);
    } finally {
      await c.query('ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY');
      await c.end();
    }
  });

  test('several probes failing at once are all reported', async () => {
    const [jp, dp] = [await freePort(), await freePort()];
    const r = await runCheck(good({ AUTH_JWKS_URL: `http://127.0.0.1:${jp}/certs`, DATABASE_URL: `postgres://postgres@127.0.0.1:${dp}/x` }));
    expect(r.probes.filter((p) => !p.ok).map((p) => p.name)).toEqual(['jwks', 'database']);
    expect(r.exitCode).toBe(3);
  });
});

const nginx = nginxOrSkip('tollgate check: nginx -t probe');
(nginx ? describe : describe.skip)('nginx -t on the rendered templates', () => {
  test('passes with a certificate, fails naming the missing one with the fix', async () => {
    const certs = ensureDevCerts({ dir: path.join(work, 'certs') });
    const files = path.join(work, 'files');
    fs.mkdirSync(files, { recursive: true });
    const gateway = { NGINX_BIN: nginx!, GATEWAY_TLS_CERT: certs.certFile, GATEWAY_TLS_KEY: certs.keyFile, GATEWAY_FILES_ROOT: `${files}/` };
    // no database here: the embedded throw-away one is not probed
    const env = { ...good(gateway), NODE_ENV: 'test', DATABASE_URL: undefined, DATA_DIR: 'memory://' };
    const ok = await runCheck(env);
    expect(probe(ok, 'nginx')).toMatchObject({ ok: true, detail: expect.stringMatching(/pass `nginx -t`/) });

    const broken = await runCheck({ ...env, GATEWAY_TLS_CERT: path.join(work, 'missing.crt') });
    expect(probe(broken, 'nginx')).toMatchObject({ ok: false, detail: expect.stringMatching(/missing\.crt/), hint: expect.stringMatching(/GATEWAY_TLS_CERT/) });
    expect(broken.exitCode).toBe(3);
  });
});

describe('the compiled command and the validator agree', () => {
  // asynchronous: the devkit issuer answers from this process, which spawnSync would block
  const run = (file: string, args: string[], env: Record<string, string | undefined>) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        [file, ...args],
        { cwd: work, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '', ...env } as NodeJS.ProcessEnv },
        (e, out, err) => {
          const code = e ? (e as { code?: unknown }).code : 0;
          if (typeof code !== 'number') reject(e);
          else resolve({ code, out, err });
        },
      );
    });
  const TOLLGATE = distPath('validator', 'cli', 'tollgate.js');

  test('exit 2 and the same sentence as the validator refusing to start', async () => {
    const env = {
      NODE_ENV: 'production',
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: 'https://idp.example/realms/x',
      AUTH_AUDIENCE: 'api',
      DATA_DIR: path.join(work, 'never'),
    };
    const check = await run(TOLLGATE, ['check', '--json'], env);
    expect(check.code).toBe(2);
    const report = JSON.parse(check.out) as CheckReport;
    expect(report).toMatchObject({ ok: false, exitCode: 2, probes: [] });
    const start = await run(VALIDATOR_JS, [], { ...env, PORT: '0' });
    expect(start.code).toBe(2);
    expect(start.err).toBe(`tollgate: configuration error: ${report.configuration.errors[0]!.message}\n`);
  });

  (serverUrl ? test : test.skip)('exit 0 and 3 from the command; migrations missing stop the validator with the same sentence', async () => {
    const ok = await run(TOLLGATE, ['check'], good());
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.out).toMatch(/^✓ configuration {2}parsed\n✓ discovery/);
    expect(ok.out.trim().split('\n').at(-1)).toBe('ok');

    const env = good({ DATABASE_URL: bare.url });
    const check = await run(TOLLGATE, ['check', '--json'], env);
    expect(check.code).toBe(3);
    const detail = probe(JSON.parse(check.out) as CheckReport, 'database')!.detail;
    const start = await run(VALIDATOR_JS, [], { ...env, PORT: '0' });
    expect(start.code).toBe(1);
    expect(start.err).toBe(`tollgate: cannot start: ${detail}\n`);
  });
});
