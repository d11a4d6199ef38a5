// The validator as an operator runs it (`node dist/validator/server.js`): start-up refusals name
// the variable and exit non-zero; SIGTERM drains in-flight decisions and exits 0.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestIssuer, makeKey, mint } from '../../devkit/issuer';
import { spawnValidator, VALIDATOR_JS } from '../../devkit/validator';

const cwd = mkdtempSync(path.join(tmpdir(), 'tollgate-proc-')); // no .env / keys.env here
const base = { PATH: process.env.PATH ?? '', DATA_DIR: 'memory://' };

function run(env: Record<string, string>) {
  return spawnSync(process.execPath, [VALIDATOR_JS], { env: { ...base, ...env }, cwd, encoding: 'utf8', timeout: 20_000 });
}

test.each([
  ['no issuer in production', { NODE_ENV: 'production' }, 'AUTH_MODE'],
  [
    'short HS256 secret in production',
    { NODE_ENV: 'production', AUTH_MODE: 'hs256', AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'api', AUTH_JWT_SECRET: 'short' },
    'AUTH_JWT_SECRET',
  ],
  [
    'unconfirmed Supabase users in production',
    {
      NODE_ENV: 'production',
      AUTH_MODE: 'supabase',
      SUPABASE_URL: 'https://x.supabase.co',
      SUPABASE_JWT_SECRET: 'x'.repeat(40),
      SUPABASE_ALLOW_UNCONFIRMED: 'true',
    },
    'SUPABASE_ALLOW_UNCONFIRMED',
  ],
  [
    'plain http issuer in production',
    { NODE_ENV: 'production', AUTH_MODE: 'jwks', AUTH_ISSUER: 'http://idp.example/realms/x', AUTH_AUDIENCE: 'api' },
    'AUTH_ISSUER',
  ],
  ['a bad port anywhere', { NODE_ENV: 'development', AUTH_MODE: 'jwks', AUTH_ISSUER: 'http://127.0.0.1:1/x', AUTH_AUDIENCE: 'api', PORT: 'eighty' }, 'PORT'],
])('refuses to start: %s', (_name, env, variable) => {
  const r = run(env);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(`configuration error: ${variable}:`);
  expect(r.stdout).not.toContain('listening');
});

test('three mistakes at once: every one is printed, one per line, and the exit code is 2', () => {
  const r = run({
    NODE_ENV: 'production',
    AUTH_MODE: 'jwks',
    AUTH_ISSUER: 'http://idp.example/realms/x',
    AUTH_AUDIENCE: 'api',
    PORT: 'eighty',
    AUTH_ALLOWED_CLIENT: 'gateway',
  });
  expect(r.status).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines.map((l) => /^tollgate: configuration error: ([A-Z_]+):/.exec(l)?.[1])).toEqual(['PORT', 'AUTH_ISSUER', 'AUTH_ALLOWED_CLIENT', undefined]);
  expect(lines[2]).toMatch(/did you mean AUTH_ALLOWED_CLIENTS\?/);
  expect(lines[3]).toBe('tollgate: 3 configuration errors; fix them all, then start again');
  expect(r.stdout).not.toContain('listening');
});

test('outside production an unknown variable is a warning in the start-up log, and the validator runs', async () => {
  const v = await spawnValidator({ AUTH_MODE: 'jwks', AUTH_ISSUER: 'http://127.0.0.1:1/x', AUTH_AUDIENCE: 'api', AUTH_ALLOWED_CLIENT: 'gateway' });
  try {
    const warning = v
      .logs()
      .split('\n')
      .find((l) => l.includes('UNKNOWN VARIABLE'));
    expect(JSON.parse(warning!)).toMatchObject({
      level: 40,
      variable: 'AUTH_ALLOWED_CLIENT',
      msg: expect.stringMatching(/did you mean AUTH_ALLOWED_CLIENTS\?/),
    });
  } finally {
    await v.stop();
  }
});

test('SIGTERM lets an in-flight decision finish, then exits 0', async () => {
  const key = await makeKey('RS256', 'k');
  const iss = await TestIssuer.start([key]);
  iss.mode = 'hang'; // the first JWKS fetch hangs until AUTH_JWKS_TIMEOUT_MS: a decision stays in flight
  const v = await spawnValidator({
    AUTH_MODE: 'jwks',
    AUTH_ISSUER: iss.issuer,
    AUTH_AUDIENCE: 'wavestack',
    AUTH_JWKS_URL: iss.jwksUrl,
    AUTH_JWKS_TIMEOUT_MS: '1500',
    SHUTDOWN_GRACE_MS: '5000',
  });
  try {
    const tok = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key });
    const inflight = fetch(`${v.url}/api/auth/validate`, {
      headers: { authorization: `Bearer ${tok}`, 'x-original-method': 'GET', 'x-original-uri': '/api/things' },
    });
    await new Promise((r) => setTimeout(r, 300));
    v.child.kill('SIGTERM');
    const res = await inflight; // answered, not dropped: fail closed because the keys never came
    expect(res.status).toBe(503);
    expect(res.headers.get('x-auth-reason')).toBe('keys_unavailable');
    expect(await v.exited).toBe(0);
  } finally {
    await v.stop();
    await iss.stop();
  }
});
