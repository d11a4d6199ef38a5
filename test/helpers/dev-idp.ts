// Runs the development IdP (dist/keycloak/dev-idp/main.js) as a child process for tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
/** Secrets the dev IdP registers by default (keycloak/dev-idp/provider.ts). */
const DEFAULT_SECRETS: Record<string, string> = { gateway: 'gateway-dev-secret', reader: 'reader-dev-secret' };

export interface StartDevIdpOptions {
  /** Port to listen on; default 0 (any free port). */
  port?: number;
  /** Extra environment for the child, over the test's own (e.g. `DEV_IDP_CLIENT_SECRET`, `NODE_ENV`). */
  env?: Record<string, string>;
}

export interface DevIdp {
  /** `http://127.0.0.1:<port>/realms/wavestack` */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly tokenUrl: string;
  readonly discoveryUrl: string;
  readonly port: number;
  /** A client_credentials access token (client_secret_basic). Defaults: client `gateway`, its configured secret, all its scopes. Throws on a non-200 answer. */
  token(clientId?: string, secret?: string, scope?: string): Promise<string>;
  /** Publishes a new signing key; `drop` also unpublishes the old ones. Returns the published kids, signing key first. */
  rotate(drop?: boolean): Promise<string[]>;
  /** SIGTERM, then waits for the exit (SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts again on the same port (same issuer, NEW keys: they live in memory only). */
  restart(): Promise<void>;
  /** Everything the child wrote to stdout and stderr, for failure diagnostics. */
  logs(): string;
}

interface ReadyLine {
  event: 'ready';
  issuer: string;
  port: number;
  tokenUrl: string;
  jwksUrl: string;
  discoveryUrl: string;
}

/** Starts the dev IdP from the build (run `npx tsc -p tsconfig.json` first) and waits for its ready line (15 s). */
export async function startDevIdp(opts: StartDevIdpOptions = {}): Promise<DevIdp> {
  const env = opts.env ?? {};
  const secrets: Record<string, string> = { ...DEFAULT_SECRETS, ...(env.DEV_IDP_CLIENT_SECRET ? { gateway: env.DEV_IDP_CLIENT_SECRET } : {}) };
  let run = await spawnDevIdp(opts.port ?? 0, env);
  let log = '';

  const idp: DevIdp = {
    get issuer() {
      return run.ready.issuer;
    },
    get jwksUrl() {
      return run.ready.jwksUrl;
    },
    get tokenUrl() {
      return run.ready.tokenUrl;
    },
    get discoveryUrl() {
      return run.ready.discoveryUrl;
    },
    get port() {
      return run.ready.port;
    },
    async token(clientId = 'gateway', secret = secrets[clientId] ?? '', scope) {
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope !== undefined) body.set('scope', scope);
      const post = () => fetch(run.ready.tokenUrl, { method: 'POST', headers: { Authorization: basicAuth(clientId, secret) }, body });
      // A pooled keep-alive socket may be closed by the IdP (or a restart) just as it is reused:
      // retry that once, as any OAuth client would. HTTP error statuses are not retried.
      const res = await post().catch(() => post());
      const text = await res.text();
      if (res.status !== 200) throw new Error(`dev IdP token request for ${clientId} failed: ${res.status} ${text}`);
      return (JSON.parse(text) as { access_token: string }).access_token;
    },
    async rotate(drop = false) {
      const res = await fetch(`http://127.0.0.1:${run.ready.port}/admin/rotate${drop ? '?drop=1' : ''}`, { method: 'POST' });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`dev IdP rotate failed: ${res.status} ${text}`);
      return (JSON.parse(text) as { kids: string[] }).kids;
    },
    async stop() {
      await run.stop();
    },
    async restart() {
      const { port } = run.ready;
      await run.stop();
      log += run.output();
      run = await spawnDevIdp(port, env);
    },
    logs: () => log + run.output(),
  };
  return idp;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined. */
function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

interface Run {
  ready: ReadyLine;
  output(): string;
  stop(): Promise<void>;
}

function spawnDevIdp(port: number, env: Record<string, string>): Promise<Run> {
  const root = repoRoot();
  const main = join(root, 'dist/keycloak/dev-idp/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.json)`);

  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: { ...process.env, DEV_IDP_HOST: '127.0.0.1', ...env, DEV_IDP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output = () => `--- dev IdP stdout\n${stdout}--- dev IdP stderr\n${stderr}`;

  return new Promise<Run>((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`dev IdP did not start: ${why}\n${output()}`));
    };
    const timer = setTimeout(() => fail(`no ready line within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => fail(`exited with code ${code}${signal ? ` (${signal})` : ''}`);
    const onError = (err: Error) => fail(err.message);
    const onData = () => {
      const line = stdout.split('\n').find((l) => l.startsWith('{') && l.includes('"ready"'));
      if (!line) return;
      cleanup();
      resolve({ ready: JSON.parse(line) as ReadyLine, output, stop: () => stopChild(child, exited) });
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('exit', onExit).off('error', onError);
      child.stdout!.off('data', onData);
    };
    child.once('exit', onExit).once('error', onError);
    child.stdout!.on('data', onData);
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** The nearest folder above this file with a package.json: the same from sources and from dist/. */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}
