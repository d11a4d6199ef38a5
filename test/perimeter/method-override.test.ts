// Method override: a real Express 5 app with the method-override middleware (query `_method` and the
// X-HTTP-Method-Override header, as its README sets it up) runs DELETE for `POST …?_method=DELETE`.
// The validator judges the method the front reports, so any such parameter is refused (400
// method_override) before a rule is read, and through NGINX the app is never called.
import express from 'express';
import methodOverride from 'method-override';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeKey, mint, TestIssuer } from '../../devkit/issuer';
import { nginxOrSkip, startLocalGateway, type LocalGateway } from '../../devkit/nginx';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { rawRequest, type Res } from '../e2e/client';

/** Query spellings of an override; each must be refused, and Express honours some of them. */
const SPELLINGS = [
  '_method=DELETE',
  'a=1&_method=DELETE',
  '%5Fmethod=DELETE',
  '%5fmethod=DELETE',
  '_%6Dethod=DELETE',
  '%255Fmethod=DELETE',
  '_METHOD=DELETE',
  '_method[]=DELETE',
  '_method[0]=DELETE',
  '.method=DELETE',
  '+method=DELETE',
  'a=1;_method=DELETE',
  'X-HTTP-Method-Override=DELETE',
  'x-http-method=DELETE',
  'X-Method-Override=DELETE',
];
/** Parameters that only look alike: passed on. */
const HARMLESS = ['method=flickr.photos.search', 'payment_method=card', '_methodical=1', 'methods=GET'];

const d = nginxOrSkip('method override through NGINX') ? describe : describe.skip;

d('method override parameters (real Express 5 + method-override, real NGINX, the built validator)', () => {
  let app: { url: string; host: string; calls: string[]; server: Server };
  let iss: TestIssuer;
  let validator: ValidatorProcess;
  let gw: LocalGateway;
  let writer: string;

  beforeAll(async () => {
    const x = express();
    const calls: string[] = [];
    x.use(methodOverride('X-HTTP-Method-Override'));
    x.use(methodOverride('_method'));
    const reply = (handler: string) => (req: express.Request, res: express.Response) => {
      calls.push(`${handler} ${req.originalUrl}`);
      res.json({ handler, method: req.method, user: req.headers['x-user-id'] ?? null });
    };
    x.delete('/api/things/:id', reply('delete'));
    x.post('/api/things/:id', reply('post'));
    x.get('/api/things/:id', reply('get'));
    const server: Server = await new Promise((resolve) => {
      const s = x.listen(0, '127.0.0.1', () => resolve(s));
    });
    const port = (server.address() as AddressInfo).port;
    app = { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, calls, server };

    const key = await makeKey('ES256', 'mo');
    iss = await TestIssuer.start([key]);
    writer = await mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { sub: 'writer', scope: 'api:read api:write' }, expiresIn: 600 });
    validator = await spawnValidator({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: iss.jwksUrl,
      AUTH_ROUTE_RULES: JSON.stringify({ 'DELETE /api/things': ['admin'], 'POST /api/things': ['api:write'], 'GET /api/things': ['api:read'] }),
      QUOTA_ROUTES: ',',
    });
    gw = await startLocalGateway({ validators: [`127.0.0.1:${validator.port}`], apps: [app.host] });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await validator?.stop();
    await iss?.stop();
    if (app) {
      app.server.closeAllConnections();
      await new Promise((r) => app.server.close(r));
    }
  });

  const direct = (method: string, target: string): Promise<Res> => rawRequest(app.url, target, { method, body: method === 'GET' ? '' : '{}' });
  const through = (method: string, target: string, headers: Record<string, string> = {}): Promise<Res> =>
    rawRequest(gw.httpsUrl, target, { ca: gw.ca, method, body: method === 'GET' ? '' : '{}', headers: { Authorization: `Bearer ${writer}`, ...headers } });

  test('the app really runs DELETE for POST ?_method=DELETE when asked directly, for the spellings its parser decodes', async () => {
    const honoured: string[] = [];
    for (const q of SPELLINGS) if ((await direct('POST', `/api/things/1?${q}`)).json<{ handler: string }>().handler === 'delete') honoured.push(q);
    // node:querystring (Express 5's default parser) decodes the name; method-override reads req.query._method
    expect(honoured).toEqual(expect.arrayContaining(['_method=DELETE', 'a=1&_method=DELETE', '%5Fmethod=DELETE', '%5fmethod=DELETE', '_%6Dethod=DELETE']));
    expect((await direct('POST', '/api/things/1')).json<{ handler: string }>().handler).toBe('post');
  });

  test('through NGINX: the writer may POST, may not DELETE, and no override spelling turns the POST into a DELETE (400 method_override, app never called)', async () => {
    app.calls.length = 0;
    expect([(await through('POST', '/api/things/1')).status, app.calls]).toEqual([200, ['post /api/things/1']]);
    const del = await through('DELETE', '/api/things/1');
    expect([del.status, del.headers['x-auth-reason']]).toEqual([403, 'scope_missing']);
    app.calls.length = 0;
    for (const q of SPELLINGS) {
      for (const method of ['POST', 'GET']) {
        const res = await through(method, `/api/things/1?${q}`);
        expect({ q, method, got: [res.status, res.headers['x-auth-reason']] }).toEqual({ q, method, got: [400, 'method_override'] });
      }
    }
    expect(app.calls).toEqual([]);
    // the header form is a gateway-owned name: stripped or refused before anything reads it
    const header = await through('POST', '/api/things/1', { 'X-HTTP-Method-Override': 'DELETE' });
    expect(app.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
    expect([200, 400]).toContain(header.status);
  });

  test('parameters that only look alike reach the app', async () => {
    for (const q of HARMLESS) {
      const res = await through('POST', `/api/things/1?${q}`);
      expect({ q, status: res.status, handler: res.json<{ handler: string }>().handler }).toEqual({ q, status: 200, handler: 'post' });
    }
  });

  test('the validator alone (any front) refuses the same, before any rule: even a token allowed everything learns nothing about the rules', async () => {
    for (const q of SPELLINGS) {
      const res = await fetch(`${validator.url}/api/auth/validate`, {
        headers: { Authorization: `Bearer ${writer}`, 'X-Original-Method': 'POST', 'X-Original-URI': `/api/things/1?${q}` },
      });
      expect({ q, status: res.status, reason: res.headers.get('x-auth-reason') }).toEqual({ q, status: 400, reason: 'method_override' });
    }
  });
});
