// A stand-in for the validator and the dev IdP when they are not built yet: the same HTTP
// contract (statuses, headers, reason codes) over opaque tokens, so the NGINX config can be
// tested alone. test/helpers/stack.ts uses the real ones when they exist.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubClient {
  secret: string;
  scopes: string[];
}

export interface StubOptions {
  clients: Record<string, StubClient>;
  /** Like AUTH_ROUTE_RULES. */
  routeRules: { method: string; path: string; scopes: string[] }[];
  /** Like QUOTA_ROUTES: "POST /api/tasks". */
  quotaRoutes: string[];
  dailyTicks: number;
}

export interface StubValidator {
  url: string;
  port: number;
  tokenUrl: string;
  validateCalls(): number;
  stop(): Promise<void>;
}

const challenge = (extra = ''): string => `Bearer realm="api"${extra}`;

/** Start the stub on 127.0.0.1, any free port. */
export async function startStubValidator(opts: StubOptions): Promise<StubValidator> {
  const tokens = new Map<string, string>(); // token → client id
  const used = new Map<string, number>(); // client id → ticks used
  let validateCalls = 0;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const send = (status: number, headers: Record<string, string>, body = ''): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    const refuse = (status: number, reason: string, headers: Record<string, string> = {}): void =>
      send(status, { 'x-auth-reason': reason, ...headers }, JSON.stringify({ error: reason }));

    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        let id = form.get('client_id') ?? '';
        let secret = form.get('client_secret') ?? '';
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
        if (basic) [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':');
        const client = opts.clients[id];
        if (form.get('grant_type') !== 'client_credentials' || !client || client.secret !== secret) {
          send(401, {}, JSON.stringify({ error: 'invalid_client' }));
          return;
        }
        const token = `stub.${id}.${Math.random().toString(36).slice(2)}`;
        tokens.set(token, id);
        send(200, {}, JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 300, scope: client.scopes.join(' ') }));
      });
      return;
    }
    if (url.pathname === '/api/health') return send(200, {}, '{"status":"ok"}');
    if (url.pathname === '/metrics') return send(200, { 'content-type': 'text/plain' }, 'tollgate_decisions_total 0\n');
    if (url.pathname !== '/api/auth/validate') return send(404, {}, '{"error":"not_found"}');

    validateCalls += 1;
    const auth = req.headers.authorization;
    if (!auth) return refuse(401, 'token_missing', { 'www-authenticate': challenge() });
    const id = tokens.get(auth.replace(/^Bearer /, ''));
    if (!id) return refuse(401, 'signature_invalid', { 'www-authenticate': challenge(', error="invalid_token"') });
    const scopes = opts.clients[id].scopes;
    const method = String(req.headers['x-original-method'] ?? '');
    const path = String(req.headers['x-original-uri'] ?? '').split('?')[0];

    const rule = opts.routeRules.find((r) => r.method === method && (path === r.path || path.startsWith(r.path + '/')));
    const missing = rule?.scopes.filter((s) => !scopes.includes(s)) ?? [];
    if (missing.length) {
      return refuse(403, 'scope_missing', { 'www-authenticate': challenge(`, error="insufficient_scope", scope="${missing.join(' ')}"`) });
    }

    const headers: Record<string, string> = {
      'x-user-id': `service-account-${id}`,
      'x-scopes': scopes.join(','),
      'x-client-id': id,
    };
    if (opts.quotaRoutes.includes(`${method} ${path}`)) {
      const raw = String(req.headers['x-max-ticks'] ?? '1');
      if (!/^[1-9]\d{0,5}$/.test(raw)) return refuse(400, 'max_ticks_invalid');
      const ticks = Number(raw);
      const before = used.get(id) ?? 0;
      const rate = { 'ratelimit-limit': String(opts.dailyTicks), 'ratelimit-reset': '3600' };
      if (before + ticks > opts.dailyTicks) {
        return refuse(429, 'quota_exhausted', { 'retry-after': '3600', 'ratelimit-remaining': String(opts.dailyTicks - before), ...rate });
      }
      used.set(id, before + ticks);
      Object.assign(headers, { 'x-ticks-charged': String(ticks), 'x-ticks-remaining': String(opts.dailyTicks - before - ticks) });
    }
    send(200, headers);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    tokenUrl: `${url}/token`,
    validateCalls: () => validateCalls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
