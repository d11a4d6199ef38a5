// The validator as an operator runs it (`node dist/validator/server.js`): start-up refusals name
// the variable and exit non-zero; SIGTERM drains in-flight decisions and exits 0.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { TestIssuer, makeKey, mint } from '../helpers/issuer';

const SERVER = path.resolve(__dirname, '../../dist/validator/server.js');
const cwd = mkdtempSync(path.join(tmpdir(), 'tollgate-proc-')); // no .env / keys.env here
const base = { PATH: process.env.PATH ?? '', DATA_DIR: 'memory://' };

function run(env: Record<string, string>) {
  return spawnSync(process.execPath, [SERVER], { env: { ...base, ...env }, cwd, encoding: 'utf8', timeout: 20_000 });
}

test.each([
  ['no issuer in production', { NODE_ENV: 'production' }, 'AUTH_MODE'],
  ['short HS256 secret in production', { NODE_ENV: 'production', AUTH_MODE: 'hs256', AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'api', AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET'],
  ['unconfirmed Supabase users in production', { NODE_ENV: 'production', AUTH_MODE: 'supabase', SUPABASE_URL: 'https://x.supabase.co', SUPABASE_JWT_SECRET: 'x'.repeat(40), SUPABASE_ALLOW_UNCONFIRMED: 'true' }, 'SUPABASE_ALLOW_UNCONFIRMED'],
  ['plain http issuer in production', { NODE_ENV: 'production', AUTH_MODE: 'jwks', AUTH_ISSUER: 'http://idp.example/realms/x', AUTH_AUDIENCE: 'api' }, 'AUTH_ISSUER'],
  ['a bad port anywhere', { NODE_ENV: 'development', AUTH_MODE: 'jwks', AUTH_ISSUER: 'http://127.0.0.1:1/x', AUTH_AUDIENCE: 'api', PORT: 'eighty' }, 'PORT'],
])('refuses to start: %s', (_name, env, variable) => {
  const r = run(env);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(`configuration error: ${variable}:`);
  expect(r.stdout).not.toContain('listening');
});

test('SIGTERM lets an in-flight decision finish, then exits 0', async () => {
  const key = await makeKey('RS256', 'k');
  const iss = await TestIssuer.start([key]);
  iss.mode = 'hang'; // the first JWKS fetch hangs until AUTH_JWKS_TIMEOUT_MS: a decision stays in flight
  const child = spawn(process.execPath, [SERVER], {
    env: { ...base, NODE_ENV: 'test', PORT: '0', AUTH_MODE: 'jwks', AUTH_ISSUER: iss.issuer, AUTH_AUDIENCE: 'wavestack', AUTH_JWKS_URL: iss.jwksUrl, AUTH_JWKS_TIMEOUT_MS: '1500', SHUTDOWN_GRACE_MS: '5000' },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => {
        try {
          const j = JSON.parse(l);
          if (j.msg === 'listening') resolve(j.port);
        } catch {
          /* not JSON */
        }
      });
      child.once('exit', (c) => reject(new Error(`exited ${c}`)));
    });
    const tok = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key });
    const inflight = fetch(`http://127.0.0.1:${port}/api/auth/validate`, { headers: { authorization: `Bearer ${tok}` } });
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const res = await inflight; // answered, not dropped: fail closed because the keys never came
    expect(res.status).toBe(503);
    expect(res.headers.get('x-auth-reason')).toBe('keys_unavailable');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
    await iss.stop();
  }
});
