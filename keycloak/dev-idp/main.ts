// Process entry of the development IdP: env config, one loopback listener, a JSON ready line, signals.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDevIdp, type DevIdp } from './provider';

interface DevIdpConfig {
  /** `DEV_IDP_PORT`, default 8180; 0 picks a free port. */
  port: number;
  /** `DEV_IDP_HOST`, default 127.0.0.1. */
  host: string;
  /** `DEV_IDP_CLIENT_SECRET`, default `gateway-dev-secret`. */
  gatewaySecret: string;
  /** `DEV_IDP_ISSUER_BASE`, default `http://HOST:PORT`. */
  issuerBase?: string;
}

class StartupError extends Error {}

function readConfig(env: NodeJS.ProcessEnv): DevIdpConfig {
  // The dev IdP signs tokens with keys anyone on the machine can ask it to mint: never in production.
  if (env.NODE_ENV === 'production') {
    throw new StartupError(
      'refusing to start with NODE_ENV=production: the development IdP is for development and tests only; ' +
        'point AUTH_ISSUER at the real Keycloak realm (see keycloak/README.md)',
    );
  }
  // empty means unset, as for every tollgate variable
  const rawPort = env.DEV_IDP_PORT || '8180';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) {
    throw new StartupError(`DEV_IDP_PORT must be an integer from 0 to 65535 (0 = any free port), got "${rawPort}"`);
  }
  const issuerBase = env.DEV_IDP_ISSUER_BASE?.trim() || undefined;
  if (issuerBase !== undefined && !/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(issuerBase)) {
    throw new StartupError(`DEV_IDP_ISSUER_BASE must be an http(s) URL without query or fragment, got "${issuerBase}"`);
  }
  const gatewaySecret = env.DEV_IDP_CLIENT_SECRET || 'gateway-dev-secret';
  return { port, host: env.DEV_IDP_HOST || '127.0.0.1', gatewaySecret, issuerBase };
}

async function main(): Promise<void> {
  const config = readConfig(process.env);
  let idp: DevIdp | undefined;
  const server = createServer((req, res) => {
    if (!idp) return sendJson(res, 503, { error: 'starting' });
    if (isAdminPath(req.url)) return void admin(idp, req, res);
    if (!idp.handle(req, res)) sendJson(res, 404, { error: 'not_found' });
  });

  await listen(server, config.port, config.host);
  const { port } = server.address() as AddressInfo;
  const local = `http://${urlHost(config.host)}:${port}`;
  idp = await createDevIdp({ base: config.issuerBase ?? local, gatewaySecret: config.gatewaySecret });

  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  // The issuer may be a public URL (DEV_IDP_ISSUER_BASE); the endpoint URLs are where this process answers.
  const { issuer, paths } = idp;
  const ready = { event: 'ready', issuer, port, tokenUrl: local + paths.token, jwksUrl: local + paths.jwks, discoveryUrl: local + paths.discovery };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

function isAdminPath(url = '/'): boolean {
  return url === '/admin' || url.startsWith('/admin/') || url.startsWith('/admin?');
}

/** Dev-only key management: `POST /admin/rotate[?drop=1]` → `{ kids }`, signing key first. */
async function admin(idp: DevIdp, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // The listener is on loopback by default; this also holds when DEV_IDP_HOST opens it wider.
  if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { error: 'admin endpoints answer loopback clients only' });
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/admin/rotate') return sendJson(res, 404, { error: 'not_found' });
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return sendJson(res, 405, { error: 'method_not_allowed' });
  }
  const drop = ['1', 'true'].includes(url.searchParams.get('drop') ?? '');
  try {
    sendJson(res, 200, { kids: await idp.rotate({ drop }) });
  } catch (err) {
    process.stderr.write(`dev-idp: rotate failed: ${(err as Error).stack}\n`);
    sendJson(res, 500, { error: 'rotate_failed' });
  }
}

function isLoopback(address = ''): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** A wildcard bind address is no URL host: loopback stands in for it. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

main().catch((err: unknown) => {
  const message = err instanceof StartupError ? err.message : ((err as Error)?.stack ?? String(err));
  process.stderr.write(`dev-idp: ${message}\n`);
  process.exit(1);
});
