// A real OAuth 2.0 server for tests of token introspection and revocation: oidc-provider issuing
// opaque client-credentials access tokens, with RFC 7662 introspection and RFC 7009 revocation on.
// Run as a child (`node dist/devkit/oauth-server.js`; oidc-provider is ESM-only, which jest cannot
// load in-process); startOAuthServer() spawns it and talks to it as a client and a resource server would.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startChild, type Started } from './process';
import { distPath } from './root';

export const OAUTH_SERVER_JS = distPath('devkit', 'oauth-server.js');

/** The client that obtains tokens (client_credentials), and the resource server that introspects them. */
export const API_CLIENT = { id: 'api-client', secret: 'api-client-secret-for-tests', scope: 'api:read api:write' };
export const RESOURCE_SERVER = { id: 'tollgate', secret: 'tollgate-introspection-secret' };
/** The audience of every access token (oidc-provider's resource server for the default resource indicator). */
export const AUDIENCE = 'tollgate-api';
const RESOURCE = 'urn:tollgate:api';

interface ReadyLine {
  event: 'ready';
  issuer: string;
  port: number;
}

export interface OAuthServer {
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly introspectionUrl: string;
  readonly revocationUrl: string;
  readonly jwksUrl: string;
  /** An opaque access token for API_CLIENT (client_secret_basic), with `scope` when given. */
  token(scope?: string): Promise<string>;
  /** What the server answers the resource server about `token` (RFC 7662 §2.2). */
  introspect(token: string): Promise<Record<string, unknown>>;
  /** API_CLIENT revokes its token (RFC 7009 §2.1); throws unless the server answers 200. */
  revoke(token: string): Promise<void>;
  stop(): Promise<void>;
  logs(): string;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined. */
function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

async function post(url: string, id: string, secret: string, form: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: basic(id, secret) }, body: new URLSearchParams(form) });
  return { status: res.status, body: await res.text() };
}

/** Starts the server from the build (run `npx tsc -p tsconfig.json` first) on a free loopback port. */
export async function startOAuthServer(): Promise<OAuthServer> {
  if (!existsSync(OAUTH_SERVER_JS)) throw new Error(`${OAUTH_SERVER_JS} is missing: build first (npx tsc -p tsconfig.json)`);
  const run: Started<ReadyLine> = await startChild(process.execPath, [OAUTH_SERVER_JS], {
    name: 'OAuth server',
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test' },
    timeoutMs: 15_000,
    ready: {
      line: (line) => {
        if (!line.startsWith('{"event":"ready"')) return undefined;
        return JSON.parse(line) as ReadyLine;
      },
    },
  });
  const { issuer } = run.ready;
  const at = (path: string) => `${issuer}${path}`;
  return {
    issuer,
    tokenUrl: at('/token'),
    introspectionUrl: at('/token/introspection'),
    revocationUrl: at('/token/revocation'),
    jwksUrl: at('/jwks'),
    async token(scope) {
      const r = await post(at('/token'), API_CLIENT.id, API_CLIENT.secret, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
      if (r.status !== 200) throw new Error(`token request failed: ${r.status} ${r.body}`);
      return (JSON.parse(r.body) as { access_token: string }).access_token;
    },
    async introspect(token) {
      const r = await post(at('/token/introspection'), RESOURCE_SERVER.id, RESOURCE_SERVER.secret, { token });
      if (r.status !== 200) throw new Error(`introspection failed: ${r.status} ${r.body}`);
      return JSON.parse(r.body) as Record<string, unknown>;
    },
    async revoke(token) {
      const r = await post(at('/token/revocation'), API_CLIENT.id, API_CLIENT.secret, { token, token_type_hint: 'access_token' });
      if (r.status !== 200) throw new Error(`revocation failed: ${r.status} ${r.body}`);
    },
    stop: () => run.stop(5000),
    logs: run.logs,
  };
}

// --- the child: oidc-provider on 127.0.0.1, port 0 ---

interface ProviderModule {
  Provider: new (
    issuer: string,
    configuration: object,
  ) => { callback(): (req: unknown, res: unknown) => void; on(event: string, fn: (...a: unknown[]) => void): void };
}

async function main(): Promise<void> {
  if (process.env.NODE_ENV === 'production') throw new Error('the test OAuth server refuses to run with NODE_ENV=production');
  const { generateKeyPair, exportJWK } = await import('jose');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-oauth-server', use: 'sig', alg: 'RS256' };
  // oidc-provider needs its issuer before it is built: listen first, then build it.
  let handle: ((req: unknown, res: unknown) => void) | undefined;
  const server = createServer((req, res) => (handle ? handle(req, res) : res.writeHead(503).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const { Provider } = require('oidc-provider') as ProviderModule;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: API_CLIENT.id,
        client_secret: API_CLIENT.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: API_CLIENT.scope,
      },
      // the protected resource: it only introspects
      { client_id: RESOURCE_SERVER.id, client_secret: RESOURCE_SERVER.secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ],
    jwks: { keys: [jwk] },
    scopes: ['api:read', 'api:write'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        getResourceServerInfo: async () => ({ audience: AUDIENCE, scope: API_CLIENT.scope, accessTokenFormat: 'opaque', accessTokenTTL: 300 }),
      },
    },
  });
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oauth-server: ${(err as Error)?.stack ?? String(err)}\n`));
  handle = provider.callback();
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ event: 'ready', issuer, port })}\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`oauth-server: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}
