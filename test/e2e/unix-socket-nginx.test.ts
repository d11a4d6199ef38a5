// The validator on a Unix domain socket (LISTEN_SOCKET) behind the real NGINX: the gateway grants and
// refuses as over TCP, the socket gets its mode and is removed on shutdown, a stale socket file is
// replaced, and a live one (or a file that is not a socket) makes start-up fail naming the variable.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { makeKey, mint, TestIssuer } from '../../devkit/issuer';
import { nginxOrSkip, startLocalGateway, type LocalGateway } from '../../devkit/nginx';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { request } from './client';

const d = nginxOrSkip('validator on a Unix socket behind NGINX') ? describe : describe.skip;

d('validator on a Unix socket behind NGINX', () => {
  let root: string;
  let iss: TestIssuer;
  let upstream: DemoUpstream;
  let env: Record<string, string>;
  let token: string;
  const started: Array<{ stop(): Promise<void> }> = [];

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-uds-'));
    // Started as root, NGINX's workers run as nobody: they must traverse the directory to the socket.
    fs.chmodSync(root, 0o711);
    const key = await makeKey('ES256', 'uds');
    iss = await TestIssuer.start([key]);
    token = await mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { sub: 'user-uds', scope: 'read' }, expiresIn: 600 });
    upstream = await startDemoUpstream();
    env = {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: iss.jwksUrl,
      AUTH_ROUTE_RULES: '{"GET /api/admin": ["admin"]}',
      QUOTA_ROUTES: ',',
      // the workers (nobody) share no group with this root-run validator
      LISTEN_SOCKET_MODE: '0666',
    };
  }, 60_000);

  afterAll(async () => {
    for (const s of started.reverse()) await s.stop();
    await upstream?.stop();
    await iss?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const start = async (socket: string): Promise<ValidatorProcess> => {
    const v = await spawnValidator({ ...env, LISTEN_SOCKET: socket });
    started.push(v);
    return v;
  };

  test('NGINX reaching the validator only through the socket grants and refuses as over TCP; the file goes on shutdown', async () => {
    const socket = path.join(root, 'validator.sock');
    const validator = await start(socket);
    expect(fs.statSync(socket).isSocket()).toBe(true);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o666);
    expect(validator.logs()).toContain(`"socket":"${socket}"`);
    const gw: LocalGateway = await startLocalGateway({ validators: [`unix:${socket}`], apps: [`127.0.0.1:${upstream.port}`] });
    started.push(gw);
    expect(gw.vars.GATEWAY_VALIDATOR_SERVERS).toMatch(/^server unix:\//);
    const call = (p: string, auth?: string) => request(gw.httpsUrl, p, { ca: gw.ca, headers: auth ? { Authorization: `Bearer ${auth}` } : {} });

    const granted = await call('/api/things', token);
    expect(granted.status).toBe(200);
    expect(granted.json<EchoBody>().headers['x-user-id']).toBe('user-uds');
    const noToken = await call('/api/things');
    expect([noToken.status, noToken.headers['x-auth-reason']]).toEqual([401, 'token_missing']);
    const noScope = await call('/api/admin', token);
    expect([noScope.status, noScope.headers['x-auth-reason']]).toEqual([403, 'scope_missing']);
    // the TCP listener stays for probes and metrics
    expect((await fetch(`${validator.url}/api/health`)).status).toBe(200);

    await validator.stop();
    expect(fs.existsSync(socket)).toBe(false);
    // the validator gone, the gateway fails closed
    expect((await call('/api/things', token)).status).toBe(502);
  }, 60_000);

  test('a socket file left by a killed validator is replaced', async () => {
    const socket = path.join(root, 'stale.sock');
    // a process that binds the socket and dies without closing it (SIGKILL skips the unlink)
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    await new Promise((r) => child.once('exit', r));
    expect(fs.statSync(socket).isSocket()).toBe(true);
    const validator = await start(socket);
    await validator.stop();
    expect(fs.existsSync(socket)).toBe(false);
  }, 30_000);

  test('a socket another process answers on, or a file that is not a socket: start-up refused naming LISTEN_SOCKET, the file left alone', async () => {
    const socket = path.join(root, 'live.sock');
    const other = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => other.listen(socket, r));
    try {
      await expect(spawnValidator({ ...env, LISTEN_SOCKET: socket })).rejects.toThrow(/LISTEN_SOCKET: another process is listening on/);
      expect(fs.statSync(socket).isSocket()).toBe(true);
    } finally {
      await new Promise((r) => other.close(r));
    }
    const file = path.join(root, 'not-a-socket');
    fs.writeFileSync(file, 'keep me');
    await expect(spawnValidator({ ...env, LISTEN_SOCKET: file })).rejects.toThrow(/LISTEN_SOCKET: .* is not a socket/);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
    await expect(spawnValidator({ ...env, LISTEN_SOCKET: path.join(root, 'missing', 'v.sock') })).rejects.toThrow(
      /LISTEN_SOCKET: directory .*missing does not exist/,
    );
  }, 60_000);
});
