// End to end through the real NGINX on HTTPS: auth_request, identity headers, refusal
// mapping, fail-closed, rate limits, CORS, /files/, exposure and TLS redirects.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { findNginx, type Gateway } from '../../devkit/nginx';
import { freePort } from '../../devkit/process';
import { REPO_ROOT } from '../../devkit/root';
import { defaultMode, startStack, type Stack } from '../helpers/stack';
import { request, type ReqOptions, type Res } from './client';

const nginx = findNginx();
if (!nginx) {
  if (process.env.CI) throw new Error('nginx is required in CI (.ci/run installs it): the gateway e2e tests cannot be skipped');
  console.warn('\n*** SKIPPING the gateway e2e tests: nginx not found. Install it (apt-get install nginx) or set NGINX_BIN. ***\n');
}
const d = nginx ? describe : describe.skip;
if (nginx && defaultMode() === 'stub' && process.env.TOLLGATE_E2E_STUB !== '1') {
  console.warn(
    '\n*** dist/validator or dist/keycloak/dev-idp not built: the gateway e2e tests run against the STUB validator. Run `npm run build` for the real one. ***\n',
  );
}

const ALLOWED_ORIGIN = 'https://app.example.com';

d(`gateway (real NGINX, ${defaultMode()} validator)`, () => {
  let stack: Stack;
  let gw: Gateway;
  let gatewayToken: string;
  let readerToken: string;

  const get = (p: string, o: ReqOptions = {}): Promise<Res> => request(gw.httpsUrl, p, { ca: stack.ca, ...o });
  const bearer = (t: string): Record<string, string> => ({ Authorization: `Bearer ${t}` });
  const t = (name: string, fn: () => Promise<void>): void => test(name, () => stack.withLogs(fn));
  /** Upstream calls made while `fn` runs. */
  const upstreamCalls = async (fn: () => Promise<void>): Promise<number> => {
    const before = stack.upstream.calls();
    await fn();
    return stack.upstream.calls() - before;
  };
  /** The access-log line of a request id (NGINX writes it just after the response). */
  const logLine = async (g: Gateway, requestId: string): Promise<Record<string, unknown>> => {
    for (let i = 0; i < 50; i++) {
      const line = g.accessLog().find((l) => l.request_id === requestId);
      if (line) return line;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no access-log line for ${requestId}`);
  };

  beforeAll(async () => {
    stack = await startStack({ gateway: { publicPaths: ['/api/public/*'] } });
    gw = stack.gateway;
    [gatewayToken, readerToken] = await Promise.all([stack.token('gateway'), stack.token('reader')]);
  }, 45_000);
  afterAll(async () => {
    await stack?.stop();
  });

  describe('public paths', () => {
    t('GET /api/health is public and answered by the validator', async () => {
      const calls = await upstreamCalls(async () => {
        const res = await get('/api/health');
        expect(res.status).toBe(200);
        expect(res.json()).toEqual({ status: 'ok' });
        expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d+; includeSubDomains$/);
      });
      expect(calls).toBe(0);
    });

    t('/healthz answers ok on HTTPS and HTTP', async () => {
      const s = await get('/healthz');
      expect([s.status, s.body]).toEqual([200, 'ok\n']);
      const h = await request(gw.httpUrl, '/healthz');
      expect([h.status, h.body]).toEqual([200, 'ok\n']);
    });

    t('a configured public path reaches the app without a token, identity headers removed', async () => {
      const res = await get('/api/public/info', { headers: { 'X-User-Id': 'admin', 'X-Scopes': 'api:admin' } });
      expect(res.status).toBe(200);
      const echo = res.json<{ headers: Record<string, string | null> }>();
      expect(echo.headers['x-user-id']).toBeNull();
      expect(echo.headers['x-scopes']).toBeNull();
    });

    t('a protected path that NGINX normalises into a public one → 400, upstream never called', async () => {
      // NGINX matches the public location on the normalised $uri but proxies the raw URI: an upstream
      // routing on it (e.g. Express `/api/admin/*splat`) would run a protected handler without a token.
      const calls = await upstreamCalls(async () => {
        for (const p of ['/api/admin/../public/x', '/api/admin/%2e%2e/public/x', '/api/admin%2F..%2Fpublic/x', '/api//public/x']) {
          const res = await get(p, { method: 'DELETE' });
          expect([p, res.status]).toEqual([p, 400]);
        }
      });
      expect(calls).toBe(0);
    });
  });

  describe('auth_request', () => {
    t('no token → 401 with one WWW-Authenticate, upstream never called', async () => {
      const calls = await upstreamCalls(async () => {
        const res = await get('/api/whoami');
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api"/);
        expect(res.count('www-authenticate')).toBe(1);
        expect(res.headers['x-auth-reason']).toBe('token_missing');
      });
      expect(calls).toBe(0);
    });

    t('a forged token → 401 invalid_token', async () => {
      const res = await get('/api/whoami', { headers: bearer(gatewayToken.slice(0, -4) + 'AAAA') });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    });

    t('a valid token → 200 with the identity headers echoed by the upstream', async () => {
      const res = await get('/api/whoami?x=1', { headers: { ...bearer(gatewayToken), 'X-Request-Id': 'e2e-whoami-0001' } });
      expect(res.status).toBe(200);
      const echo = res.json<{ method: string; path: string; headers: Record<string, string | null> }>();
      expect(echo.method).toBe('GET');
      expect(echo.path).toBe('/api/whoami?x=1');
      expect(echo.headers['x-user-id']).toBeTruthy();
      expect(echo.headers['x-scopes']?.split(',')).toEqual(expect.arrayContaining(['api:read', 'api:write']));
      expect(echo.headers['x-client-id']).toBe('gateway');
      expect(echo.headers['x-request-id']).toBe('e2e-whoami-0001');
      expect(res.headers['x-request-id']).toBe('e2e-whoami-0001');

      const line = await logLine(gw, 'e2e-whoami-0001');
      expect(line).toMatchObject({ status: 200, auth_user_id: echo.headers['x-user-id'], auth_status: '200', method: 'GET' });
      expect(typeof line.request_time).toBe('number');
      expect(line.upstream_response_time).toMatch(/^\d+\.\d+/);
      expect(line.auth_response_time).toMatch(/^\d+\.\d+/);
    });

    t("a malformed client X-Request-Id is replaced by NGINX's own", async () => {
      const res = await get('/api/whoami', { headers: { ...bearer(gatewayToken), 'X-Request-Id': 'bad id"{}' } });
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
      expect(res.json<{ headers: Record<string, string> }>().headers['x-request-id']).toBe(res.headers['x-request-id']);
    });

    t('client-sent identity headers are overwritten or removed', async () => {
      const res = await get('/api/whoami', {
        headers: {
          ...bearer(readerToken),
          'X-User-Id': 'admin',
          'X-Scopes': 'api:admin',
          'X-Client-Id': 'gateway',
          'X-User-Email': 'root@example.com',
          'X-Ticks-Charged': '0',
          'X-Ticks-Remaining': '999999',
          'X-Auth-User': 'admin',
          'X-Auth-Request-User': 'admin',
          'X-Forwarded-User': 'admin',
          X_User_Id: 'admin',
        },
      });
      expect(res.status).toBe(200);
      const echo = res.json<{ headers: Record<string, string | null>; otherXHeaders: Record<string, string> }>();
      expect(echo.headers['x-user-id']).not.toBe('admin');
      expect(echo.headers['x-user-id']).toBeTruthy();
      expect(echo.headers['x-scopes']).toBe('api:read');
      expect(echo.headers['x-client-id']).toBe('reader');
      expect(echo.headers['x-user-email']).toBeNull();
      expect(echo.headers['x-ticks-charged']).toBeNull();
      expect(echo.headers['x-ticks-remaining']).toBeNull();
      expect(Object.keys(echo.otherXHeaders)).not.toEqual(expect.arrayContaining(['x-auth-user']));
      expect(echo.otherXHeaders).not.toHaveProperty('x-auth-user');
      expect(echo.otherXHeaders).not.toHaveProperty('x-auth-request-user');
      expect(echo.otherXHeaders).not.toHaveProperty('x-forwarded-user');
      expect(echo.otherXHeaders).not.toHaveProperty('x_user_id');
    });

    t('a route rule the token lacks → 403 insufficient_scope, upstream never called', async () => {
      const calls = await upstreamCalls(async () => {
        const res = await get('/api/admin', { method: 'DELETE', headers: bearer(gatewayToken) });
        expect(res.status).toBe(403);
        expect(res.headers['x-auth-reason']).toBe('scope_missing');
        expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
      });
      expect(calls).toBe(0);
    });

    t('dot segments and encoded slashes in /api/ paths → 400 before auth', async () => {
      // a backslash is a separator to WHATWG URL parsers (Deno, Bun, undici-based frameworks): /api/x\\..\\admin is /api/admin there
      for (const p of ['/api/x/../admin', '/api/x/%2e%2e/admin', '/api/x%2fadmin', '/api//admin', '/api/x\\..\\admin', '/api/admin\\']) {
        const res = await get(p, { method: 'DELETE', headers: bearer(gatewayToken) });
        expect([p, res.status]).toEqual([p, 400]);
      }
    });
  });

  describe('quota refusals reach the client with their real status', () => {
    t('charged POST → 200 with ticks headers; exhausted → 429 with Retry-After, not 500', async () => {
      const ok = await get('/api/tasks', { method: 'POST', headers: { ...bearer(readerToken), 'X-Max-Ticks': '10' }, body: '{}' });
      expect(ok.status).toBe(200);
      expect(ok.headers['x-ticks-charged']).toBe('10');
      expect(ok.headers['x-ticks-remaining']).toBe('0');
      expect(ok.json<{ headers: Record<string, string> }>().headers['x-ticks-charged']).toBe('10');

      const calls = await upstreamCalls(async () => {
        const res = await get('/api/tasks', { method: 'POST', headers: { ...bearer(readerToken), 'X-Max-Ticks': '1' }, body: '{}' });
        expect(res.status).toBe(429);
        expect(res.headers['retry-after']).toMatch(/^\d+$/);
        expect(res.headers['ratelimit-limit']).toBe('10');
        expect(res.headers['ratelimit-remaining']).toBe('0');
        expect(res.headers['x-auth-reason']).toBe('quota_exhausted');
        expect(res.json()).toEqual({ error: 'quota_exhausted' });
      });
      expect(calls).toBe(0);
    });

    t('an invalid X-Max-Ticks → 400 max_ticks_invalid', async () => {
      const res = await get('/api/tasks', { method: 'POST', headers: { ...bearer(gatewayToken), 'X-Max-Ticks': 'lots' } });
      expect(res.status).toBe(400);
      expect(res.headers['x-auth-reason']).toBe('max_ticks_invalid');
      expect(res.json()).toEqual({ error: 'max_ticks_invalid' });
    });
  });

  describe('status mapping (a scripted validator answers X-Original-URI /api/status/<code>)', () => {
    let scripted: http.Server;
    let mapped: Gateway;
    beforeAll(async () => {
      scripted = http.createServer((req, res) => {
        // Like any HTTP server, it would answer a conditional request with 304.
        const conditional = req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
        const code = conditional ? 304 : Number(/\/api\/status\/(\d{3})/.exec(String(req.headers['x-original-uri']))?.[1] ?? 200);
        const headers: Record<string, string> = { 'X-Auth-Reason': code === 503 ? 'keys_unavailable' : 'whatever' };
        if (code === 503) headers['Retry-After'] = '7';
        if (code === 401) headers['WWW-Authenticate'] = 'Bearer realm="api"';
        if (code === 200) headers['X-User-Id'] = 'scripted-user';
        res.writeHead(code, headers).end();
      });
      await new Promise<void>((r) => scripted.listen(0, '127.0.0.1', () => r()));
      mapped = await stack.extraGateway({ validators: [`127.0.0.1:${(scripted.address() as AddressInfo).port}`] });
    });
    afterAll(async () => {
      scripted?.closeAllConnections();
      await new Promise((r) => scripted?.close(r));
    });
    const via = (p: string, o: ReqOptions = {}): Promise<Res> => request(mapped.httpsUrl, p, { ca: stack.ca, ...o });

    t('503 keeps its status and Retry-After; 500, 404 and 302 become 502', async () => {
      const unavailable = await via('/api/status/503');
      expect(unavailable.status).toBe(503);
      expect(unavailable.headers['retry-after']).toBe('7');
      expect(unavailable.json()).toEqual({ error: 'keys_unavailable' });
      for (const code of [500, 404, 302]) expect([code, (await via(`/api/status/${code}`)).status]).toEqual([code, 502]);
    });

    t('conditional request headers never reach the validator (a 304 would become a 500)', async () => {
      const res = await via('/api/status/200', { headers: { 'If-None-Match': '*', 'If-Modified-Since': 'Wed, 21 Oct 2015 07:28:00 GMT' } });
      expect(res.status).toBe(200);
      expect(res.json<{ headers: Record<string, string> }>().headers['x-user-id']).toBe('scripted-user');
    });

    t('edge refusals have JSON bodies: 401, refused preflight, ambiguous path', async () => {
      const unauthorized = await via('/api/status/401');
      expect([unauthorized.status, unauthorized.headers['content-type'], unauthorized.count('www-authenticate')]).toEqual([401, 'application/json', 1]);
      const preflight = await via('/api/x', { method: 'OPTIONS', headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'GET' } });
      expect([preflight.status, preflight.json()]).toEqual([403, { error: 'cors_origin_refused' }]);
      const ambiguous = await via('/api/a/../b');
      expect([ambiguous.status, ambiguous.json()]).toEqual([400, { error: 'path_ambiguous' }]);
    });
  });

  describe('validator availability', () => {
    t('validator down → 502, fail closed, upstream never called', async () => {
      const down = await stack.extraGateway({ validators: [`127.0.0.1:${await freePort()}`] });
      const calls = await upstreamCalls(async () => {
        const res = await request(down.httpsUrl, '/api/whoami', { ca: stack.ca, headers: bearer(gatewayToken) });
        expect(res.status).toBe(502);
        expect(res.json()).toEqual({ error: 'validator_unavailable' });
      });
      expect(calls).toBe(0);
    });

    t('a dead validator instance is skipped for the next one', async () => {
      const live = new URL(stack.validatorUrl).host;
      const mixed = await stack.extraGateway({ validators: [`127.0.0.1:${await freePort()}`, live] });
      for (let i = 0; i < 3; i++) {
        const res = await request(mixed.httpsUrl, '/api/whoami', { ca: stack.ca, headers: bearer(gatewayToken) });
        expect(res.status).toBe(200);
      }
    });
  });

  describe('rate limits', () => {
    t('per IP: past the burst → 429 rate_limited', async () => {
      const slow = await stack.extraGateway({ vars: { GATEWAY_RATE_PER_IP: '6r/m', GATEWAY_BURST_PER_IP: '2' } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await request(slow.httpsUrl, '/api/health', { ca: stack.ca })).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const res = await request(slow.httpsUrl, '/api/whoami', { ca: stack.ca });
      expect(res.status).toBe(429);
      expect(res.json()).toEqual({ error: 'rate_limited' });
    });

    t('per credential: one token throttled, another from the same IP not', async () => {
      const slow = await stack.extraGateway({
        vars: { GATEWAY_RATE_PER_IP: '1000r/s', GATEWAY_BURST_PER_IP: '100', GATEWAY_RATE_PER_CREDENTIAL: '6r/m', GATEWAY_BURST_PER_CREDENTIAL: '1' },
      });
      const call = async (tok: string): Promise<number> => (await request(slow.httpsUrl, '/api/whoami', { ca: stack.ca, headers: bearer(tok) })).status;
      expect([await call(gatewayToken), await call(gatewayToken), await call(gatewayToken)]).toEqual([200, 200, 429]);
      expect(await call(readerToken)).toBe(200);
    });
  });

  describe('CORS', () => {
    const preflight = (origin: string): Promise<Res> =>
      get('/api/tasks', {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization, x-max-ticks',
          'X-Request-Id': `e2e-cors-${origin.length}x`,
        },
      });

    t('preflight from an allowed origin → 204 at the edge, no token, no validator', async () => {
      const calls = await upstreamCalls(async () => {
        const res = await preflight(ALLOWED_ORIGIN);
        expect(res.status).toBe(204);
        expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
        expect(res.headers['access-control-allow-methods']).toContain('POST');
        expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/);
        expect(res.headers.vary).toBe('Origin');
        expect(res.headers['strict-transport-security']).toBeDefined();
      });
      expect(calls).toBe(0);
      const line = await logLine(gw, `e2e-cors-${ALLOWED_ORIGIN.length}x`);
      expect(line.upstream_addr).toBe('');
    });

    t('preflight from another origin → 403 without CORS headers', async () => {
      for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.com', 'null']) {
        const res = await preflight(origin);
        expect(res.status).toBe(403);
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
      }
    });

    t('actual responses carry ACAO + Vary for allowed origins only (also on refusals)', async () => {
      const ok = await get('/api/whoami', { headers: { ...bearer(gatewayToken), Origin: ALLOWED_ORIGIN } });
      expect(ok.status).toBe(200);
      expect(ok.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(ok.headers.vary).toBe('Origin');
      expect(ok.headers['access-control-expose-headers']).toContain('X-Ticks-Remaining');

      const refused = await get('/api/whoami', { headers: { Origin: ALLOWED_ORIGIN } });
      expect(refused.status).toBe(401);
      expect(refused.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);

      const other = await get('/api/whoami', { headers: { ...bearer(gatewayToken), Origin: 'https://evil.example.com' } });
      expect(other.status).toBe(200);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('/files/', () => {
    t('serves a file read-only', async () => {
      const res = await get('/files/hello.txt');
      expect([res.status, res.body]).toEqual([200, 'hello from /files\n']);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect((await get('/files/hello.txt', { method: 'DELETE' })).status).toBe(403);
      expect((await get('/files/hello.txt', { method: 'PUT', body: 'x' })).status).toBe(403);
    });

    t('no directory listing', async () => {
      for (const p of ['/files/', '/files/sub/']) {
        const res = await get(p);
        expect(res.status).toBe(403);
        expect(res.body).not.toMatch(/hello\.txt|inner\.txt|Index of/);
      }
    });

    t('no path traversal, plain or encoded, and no symlink out of the root', async () => {
      const attempts = [
        '/files/../package.json',
        '/files/../secret.txt',
        '/files/..%2fsecret.txt',
        '/files/%2e%2e/secret.txt',
        '/files/%2e%2e%2fsecret.txt',
        '/files/%252e%252e%252fsecret.txt',
        '/files/sub/../../secret.txt',
        '/files/..%5csecret.txt',
        '/files../secret.txt',
        '/files/link.txt',
      ];
      for (const p of attempts) {
        const res = await get(p);
        expect([p, res.status]).toEqual([p, expect.any(Number)]);
        expect([p, [400, 403, 404].includes(res.status)]).toEqual([p, true]);
        expect(res.body).not.toMatch(/outside the files root|"name": "tollgate"/);
      }
    });
  });

  describe('exposure and transport', () => {
    t('/metrics, the internal validate location and unknown paths are not served', async () => {
      for (const p of ['/metrics', '/metrics/', '/api/../metrics', '/_auth/validate', '/api/ready', '/']) {
        const res = await get(p);
        expect([p, res.status === 404 || res.status === 401]).toEqual([p, true]);
        expect(res.body).not.toMatch(/tollgate_|# HELP/);
      }
      expect((await get('/metrics')).status).toBe(404);
    });

    t('HTTP redirects to HTTPS on the configured server name, path and query kept', async () => {
      const res = await request(gw.httpUrl, '/api/whoami?a=1&b=2');
      expect(res.status).toBe(301);
      expect(res.headers.location).toBe(`https://${gw.vars.GATEWAY_SERVER_NAME.split(' ')[0]}:${gw.httpsPort}/api/whoami?a=1&b=2`);
      expect(res.headers['strict-transport-security']).toBeUndefined();
    });

    t('TLS 1.2 with an ECDHE AEAD cipher, TLS 1.3 by default, TLS 1.1 refused', async () => {
      const hello = (o: tls.ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> =>
        new Promise((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, ca: stack.ca, ...o }, () => {
            resolve({ protocol: s.getProtocol(), cipher: s.getCipher().name });
            s.end();
          });
          s.on('error', reject);
        });
      expect((await hello({})).protocol).toBe('TLSv1.3');
      const v12 = await hello({ maxVersion: 'TLSv1.2' });
      expect(v12.protocol).toBe('TLSv1.2');
      expect(v12.cipher).toMatch(/^ECDHE-.*(GCM|CHACHA20)/);
      await expect(hello({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow();
    });
  });

  describe('scripts/smoke.sh', () => {
    t('passes against the stack', async () => {
      const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          'bash',
          [path.join(REPO_ROOT, 'scripts', 'smoke.sh')],
          {
            env: {
              PATH: process.env.PATH,
              GATEWAY_URL: gw.httpsUrl,
              TOKEN_URL: stack.tokenUrl,
              CLIENT_ID: 'gateway',
              CLIENT_SECRET: 'gateway-dev-secret',
              CURL_CA_FILE: stack.tls.certFile,
            },
            timeout: 20_000,
          },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        );
      });
      if (code !== 0) console.error(out);
      expect(code).toBe(0);
      expect(out).toMatch(/all \d+ checks passed/);
    });
  });
});
