// Runs the development IdP (dist/keycloak/dev-idp/main.js) as a child process, for tests and `npm start`.
import { existsSync } from 'node:fs';
import type { DpopClient } from './dpop';
import { startChild, type Started } from './process';
import { distPath } from './root';

/** The dev IdP's entry point in the build. */
export const DEV_IDP_JS = distPath('keycloak', 'dev-idp', 'main.js');
/** Before load scaling (startupTimeout). */
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
/** Secrets the dev IdP registers by default (keycloak/dev-idp/provider.ts). */
const DEFAULT_SECRETS: Record<string, string> = { gateway: 'gateway-dev-secret', reader: 'reader-dev-secret' };

export interface StartDevIdpOptions {
  /** Port to listen on (DEV_IDP_PORT; a string is passed as written); default 0 (any free port). */
  port?: number | string;
  /** Extra environment for the child, over this process's own (e.g. `DEV_IDP_CLIENT_SECRET`, `NODE_ENV`). */
  env?: Record<string, string | undefined>;
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
  /** The same, bound to `dpop`'s key (RFC 9449 §5: the request carries a proof; the token has cnf.jkt and payload typ DPoP). */
  dpopToken(dpop: DpopClient, clientId?: string, secret?: string, scope?: string): Promise<string>;
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

/** Starts the dev IdP from the build (run `npx tsc -p tsconfig.json` first) and waits for its ready line (15 s, scaled by load). */
export async function startDevIdp(opts: StartDevIdpOptions = {}): Promise<DevIdp> {
  const env = opts.env ?? {};
  const secrets: Record<string, string> = { ...DEFAULT_SECRETS, ...(env.DEV_IDP_CLIENT_SECRET ? { gateway: env.DEV_IDP_CLIENT_SECRET } : {}) };
  let run = await spawnDevIdp(opts.port ?? 0, env);
  let log = '';

  /** client_credentials, client_secret_basic; with `dpop`, a proof for this very request (a new one per attempt). */
  async function requestToken(clientId: string, secret: string, scope: string | undefined, dpop?: DpopClient): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined) body.set('scope', scope);
    const post = async () => {
      const headers: Record<string, string> = { Authorization: basicAuth(clientId, secret) };
      if (dpop) headers.DPoP = await dpop.proof({ method: 'POST', url: run.ready.tokenUrl });
      return fetch(run.ready.tokenUrl, { method: 'POST', headers, body });
    };
    // A pooled keep-alive socket may be closed by the IdP (or a restart) just as it is reused:
    // retry that once, as any OAuth client would. HTTP error statuses are not retried.
    const res = await post().catch(() => post());
    const text = await res.text();
    if (res.status !== 200) throw new Error(`dev IdP token request for ${clientId} failed: ${res.status} ${text}`);
    const answer = JSON.parse(text) as { access_token: string; token_type: string };
    if (dpop && answer.token_type !== 'DPoP') throw new Error(`dev IdP answered token_type ${answer.token_type} to a DPoP token request`);
    return answer.access_token;
  }

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
    token(clientId = 'gateway', secret = secrets[clientId] ?? '', scope) {
      return requestToken(clientId, secret, scope);
    },
    dpopToken(dpop, clientId = 'gateway', secret = secrets[clientId] ?? '', scope) {
      return requestToken(clientId, secret, scope, dpop);
    },
    async rotate(drop = false) {
      const res = await fetch(`http://127.0.0.1:${run.ready.port}/admin/rotate${drop ? '?drop=1' : ''}`, { method: 'POST' });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`dev IdP rotate failed: ${res.status} ${text}`);
      return (JSON.parse(text) as { kids: string[] }).kids;
    },
    async stop() {
      await run.stop(STOP_TIMEOUT_MS);
    },
    async restart() {
      const { port } = run.ready;
      await run.stop(STOP_TIMEOUT_MS);
      log += output(run);
      run = await spawnDevIdp(port, env);
    },
    logs: () => log + output(run),
  };
  return idp;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined. */
function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

type Run = Started<ReadyLine>;

const output = (run: Run): string => `--- dev IdP output\n${run.logs()}`;

function spawnDevIdp(port: number | string, env: Record<string, string | undefined>): Promise<Run> {
  if (!existsSync(DEV_IDP_JS)) throw new Error(`${DEV_IDP_JS} is missing: build first (npx tsc -p tsconfig.json)`);
  return startChild(process.execPath, [DEV_IDP_JS], {
    name: 'dev IdP',
    env: { ...process.env, DEV_IDP_HOST: '127.0.0.1', ...env, DEV_IDP_PORT: String(port) },
    timeoutMs: READY_TIMEOUT_MS,
    ready: {
      line: (line) => {
        if (!line.startsWith('{') || !line.includes('"ready"')) return undefined;
        try {
          const j = JSON.parse(line) as ReadyLine;
          return j.event === 'ready' ? j : undefined;
        } catch {
          return undefined;
        }
      },
    },
  });
}
