// LISTEN_SOCKET / LISTEN_SOCKET_MODE: refusals name the variable, the defaults, the directory check
// at start-up, and both wait for a restart on reload.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigErrors, parseConfig } from '../../validator/config';
import type { RawEnv } from '../../validator/config/env';
import { MAX_SOCKET_PATH_BYTES } from '../../validator/config/listen-socket';
import { pinnedValues, planReload, RESTART_ONLY } from '../../validator/config/reload';
import { deploymentProblems } from '../../validator/probes/startup';

const PROD: RawEnv = {
  NODE_ENV: 'production',
  AUTH_MODE: 'jwks',
  AUTH_ISSUER: 'https://idp.example.com/realms/wavestack',
  AUTH_AUDIENCE: 'wavestack',
  DATABASE_URL: 'postgres://tollgate@db.example.com/tollgate',
};

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tollgate-socket-config-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function problems(env: RawEnv): string[] {
  try {
    parseConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigErrors);
    return (e as ConfigErrors).errors.map((x) => x.message);
  }
  throw new Error('accepted');
}

test('unset: TCP only; set: the path with mode 0660 unless told', () => {
  expect(parseConfig(PROD).listenSocket).toBeNull();
  expect(parseConfig({ ...PROD, LISTEN_SOCKET: '/run/tollgate/validator.sock' }).listenSocket).toEqual({ path: '/run/tollgate/validator.sock', mode: 0o660 });
  expect(parseConfig({ ...PROD, LISTEN_SOCKET: '/run/t.sock', LISTEN_SOCKET_MODE: '666' }).listenSocket?.mode).toBe(0o666);
});

test.each([
  ['relative', { LISTEN_SOCKET: 'run/validator.sock' }, /^LISTEN_SOCKET: must be an absolute path/],
  ['a directory', { LISTEN_SOCKET: '/run/tollgate/' }, /^LISTEN_SOCKET: must name a file/],
  ['too long for sockaddr_un', { LISTEN_SOCKET: '/' + 'a'.repeat(MAX_SOCKET_PATH_BYTES) }, /^LISTEN_SOCKET: is 108 bytes long; .* at most 107/],
  ['a mode that is not octal', { LISTEN_SOCKET: '/run/t.sock', LISTEN_SOCKET_MODE: '0x1b6' }, /^LISTEN_SOCKET_MODE: must be octal/],
  ['a mode with 8 in it', { LISTEN_SOCKET: '/run/t.sock', LISTEN_SOCKET_MODE: '0680' }, /^LISTEN_SOCKET_MODE: must be octal/],
])('refused: %s', (_what, vars, message) => {
  expect(problems({ ...PROD, ...vars })).toEqual([expect.stringMatching(message)]);
});

test('start-up refuses a socket whose directory does not exist, naming LISTEN_SOCKET; an existing one passes', () => {
  const missing = deploymentProblems(parseConfig({ ...PROD, LISTEN_SOCKET: join(tmp, 'nope', 'v.sock') }));
  expect(missing.map((e) => e.variable)).toEqual(['LISTEN_SOCKET']);
  expect(missing[0]!.message).toMatch(/directory .*nope does not exist/);
  expect(deploymentProblems(parseConfig({ ...PROD, LISTEN_SOCKET: join(tmp, 'v.sock') }))).toEqual([]);
});

test('restart-only: a reload reports the change and keeps the running socket', () => {
  expect(RESTART_ONLY).toEqual(expect.arrayContaining(['LISTEN_SOCKET', 'LISTEN_SOCKET_MODE']));
  const running = { ...PROD, LISTEN_SOCKET: '/run/a.sock' };
  const plan = planReload({ ...running, LISTEN_SOCKET: '/run/b.sock', LISTEN_SOCKET_MODE: '0600' }, pinnedValues(running));
  expect(plan.ok).toBe(true);
  if (!plan.ok) return;
  expect(plan.restartPending).toEqual(['LISTEN_SOCKET', 'LISTEN_SOCKET_MODE']);
  expect(plan.config.listenSocket).toEqual({ path: '/run/a.sock', mode: 0o660 });
});
