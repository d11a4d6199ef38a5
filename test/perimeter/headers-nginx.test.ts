// One header namespace, owned by the gateway (real NGINX): every name of the strip list sent by a
// client is absent at the upstream (or holds the validator's value), a name of a refused family
// that the list does not know is a 400 header_forbidden, a second X-Max-Ticks is a 400, and the
// HTTP→HTTPS redirect never goes to the client's Host, and no Host outside GATEWAY_SERVER_NAME
// reaches the application (HTTP/1.1 Host, absolute-form, SNI ≠ Host, HTTP/2 :authority).
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import type { EchoBody } from '../../devkit/demo-upstream';
import { findNginx, type Gateway } from '../../devkit/nginx';
import { request, type ReqOptions, type Res } from '../e2e/client';
import { defaultMode, startStack, type Stack } from '../helpers/stack';
import { REPO_ROOT as ROOT } from '../../devkit/root';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const njs = (
  require('../../nginx/njs/tollgate.js') as {
    default: { STRIPPED_NAMES: string[]; REFUSED_FAMILIES: string[]; SINGLE_NAMES: string[]; FAMILY: RegExp; FIRST: Record<string, boolean> };
  }
).default;

/** The names the gateway sets from the validator's answer (never the client's value). */
const SET_FROM_VALIDATOR = ['x-user-id', 'x-scopes', 'x-client-id', 'x-user-email', 'x-user-roles', 'x-ticks-charged', 'x-ticks-remaining', 'x-token-binding'];

/** Names of refused families that the strip list does not know: each must be refused. */
const UNKNOWN_FAMILY_NAMES = [
  'X-User-Roles2',
  'x-USER-department',
  'X-Scopes-Extra',
  'X-Client-Id-Override',
  'X-Ticks-Bonus',
  'X-Auth-Request-Tenant',
  'X-Auth-Whatever',
  'X-Max-Ticks-Override',
  'X-Tollgate-Debug',
  'X-Forwarded-User-Id',
  'X-Forwarded-Email-Verified',
  'X-Forwarded-Groups-Extra',
  'X-Forwarded-Preferred-Username2',
  'X-Remote-Role',
  'Remote-Role',
  'X-Original-Path',
  'X-Rewrite-Url-Old',
  'X-HTTP-Method-Override2',
  'X-Method-Override-Name',
];

describe('the strip list: one list in the njs, the snippet and the docs', () => {
  test("the njs's written-out family regex and first-character table follow its lists", () => {
    expect(njs.FAMILY.source).toBe(`^(?:${njs.REFUSED_FAMILIES.join('|')})`);
    const firsts = [...new Set([...njs.SINGLE_NAMES, ...njs.REFUSED_FAMILIES].flatMap((n) => [n.charCodeAt(0), n.toUpperCase().charCodeAt(0)]))];
    expect(Object.keys(njs.FIRST).map(Number).sort()).toEqual(firsts.sort());
  });

  const snippet = fs.readFileSync(path.join(ROOT, 'nginx/templates/snippets/identity-headers.conf.template'), 'utf8');
  const inSnippet = [...snippet.matchAll(/^proxy_set_header\s+(\S+)\s/gm)].map((m) => m[1]!.toLowerCase());
  const docs = fs.readFileSync(path.join(ROOT, 'docs/GATEWAY.md'), 'utf8').toLowerCase();

  test('every stripped name is set (to "" or the validator\'s value) by identity-headers.conf, and the reverse', () => {
    const gatewayOwn = ['host', 'x-request-id', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host'];
    expect([...inSnippet].sort()).toEqual([...njs.STRIPPED_NAMES, ...gatewayOwn].sort());
    for (const name of SET_FROM_VALIDATOR) expect(snippet).toMatch(new RegExp(`^proxy_set_header\\s+${name}\\s+\\$auth_`, 'im'));
  });

  test("the brief's families are refused, and every listed name and family is published in docs/GATEWAY.md", () => {
    for (const f of [
      'x-user',
      'x-scopes',
      'x-client-id',
      'x-ticks-',
      'x-auth-',
      'x-original-',
      'x-max-ticks',
      'x-http-method',
      'x-method-override',
      'x-rewrite-url',
      'x-remote-',
      'remote-',
    ]) {
      expect(njs.REFUSED_FAMILIES).toContain(f);
    }
    for (const name of njs.STRIPPED_NAMES) expect({ name, documented: docs.includes(`\`${name}\``) }).toEqual({ name, documented: true });
    for (const f of njs.REFUSED_FAMILIES) expect({ f, documented: docs.includes(`\`${f}*\``) }).toEqual({ f, documented: true });
  });
});

const nginx = findNginx();
if (!nginx) {
  if (process.env.CI) throw new Error('headers-nginx needs nginx in CI');
  console.warn('\n*** SKIPPING headers-nginx: nginx not found (apt-get install nginx, or NGINX_BIN) ***\n');
}
const d = nginx ? describe : describe.skip;

d(`gateway-owned headers (real NGINX, ${defaultMode()} validator)`, () => {
  let stack: Stack;
  let gw: Gateway;
  let token: string;

  const call = (p: string, o: ReqOptions = {}): Promise<Res> => request(gw.httpsUrl, p, { ca: stack.ca, ...o });
  /**
   * Node's client sends a flat [name, value, …] list as is (rawHeaders format), duplicates included,
   * but then adds no Host of its own.
   */
  const callRaw = (p: string, flat: string[], method = 'GET', body?: string): Promise<Res> =>
    request(gw.httpsUrl, p, { ca: stack.ca, method, body, headers: ['Host', new URL(gw.httpsUrl).host, ...flat] as unknown as Record<string, string> });
  const t = (name: string, fn: () => Promise<void>): void => test(name, () => stack.withLogs(fn));
  const spoofed = (): Record<string, string> => Object.fromEntries(njs.STRIPPED_NAMES.map((n) => [n, n === 'x-max-ticks' ? '1' : 'spoofed']));

  beforeAll(async () => {
    stack = await startStack({ gateway: { publicPaths: ['/api/public/*'] } });
    gw = stack.gateway;
    token = await stack.token('reader');
  }, 45_000);
  afterAll(async () => {
    await stack?.stop();
  });

  t('every strip-list name sent by the client is absent at the upstream (protected and public paths)', async () => {
    const granted = await call('/api/things', { headers: { ...spoofed(), Authorization: `Bearer ${token}` } });
    expect(granted.status).toBe(200);
    const pub = await call('/api/public/info', { headers: spoofed() });
    expect(pub.status).toBe(200);
    for (const [where, echo] of [
      ['protected', granted.json<EchoBody>()],
      ['public', pub.json<EchoBody>()],
    ] as const) {
      const arrived = echo.headerNames.filter((h) => njs.STRIPPED_NAMES.includes(h) && !SET_FROM_VALIDATOR.includes(h));
      expect({ where, arrived }).toEqual({ where, arrived: [] });
      for (const h of SET_FROM_VALIDATOR) expect({ where, h, value: echo.headers[h as keyof EchoBody['headers']] }).not.toEqual({ where, h, value: 'spoofed' });
    }
    expect(granted.json<EchoBody>().headers['x-client-id']).toBe('reader');
  });

  t('a name of a refused family that the strip list does not know → 400 header_forbidden, everywhere, upstream never called', async () => {
    const before = stack.upstream.calls();
    for (const name of UNKNOWN_FAMILY_NAMES) {
      for (const p of ['/api/things', '/api/public/info', '/files/hello.txt']) {
        const res = await call(p, { headers: { [name]: 'admin', Authorization: `Bearer ${token}`, 'X-Request-Id': `hdr-${name}-${p.length}` } });
        expect({ name, p, status: res.status, reason: res.headers['x-auth-reason'], body: res.body }).toEqual({
          name,
          p,
          status: 400,
          reason: 'header_forbidden',
          body: '{"error":"header_forbidden"}\n',
        });
      }
    }
    expect(stack.upstream.calls()).toBe(before);
    await new Promise((r) => setTimeout(r, 50));
    const line = gw.accessLog().find((l) => l.request_id === 'hdr-X-Remote-Role-11');
    expect(line).toMatchObject({ status: 400, auth_reason: 'header_forbidden', refused_header: 'X-Remote-Role' });
  });

  t('two X-Max-Ticks → 400 header_duplicate before the validator charges anything; two Authorization → 400', async () => {
    const before = stack.upstream.calls();
    const twice = await callRaw(
      '/api/tasks',
      ['Authorization', `Bearer ${token}`, 'X-Max-Ticks', '1', 'X-Max-Ticks', '1000', 'Content-Length', '2'],
      'POST',
      '{}',
    );
    expect([twice.status, twice.headers['x-auth-reason'], twice.body]).toEqual([400, 'header_duplicate', '{"error":"header_duplicate"}\n']);
    const auth = await callRaw('/api/things', ['Authorization', `Bearer ${token}`, 'Authorization', 'Bearer other']);
    expect(auth.status).toBe(400);
    expect(stack.upstream.calls()).toBe(before);
    // one X-Max-Ticks is charged and never forwarded: the upstream learns the amount from X-Ticks-Charged
    const once = await call('/api/tasks', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'X-Max-Ticks': '1' }, body: '{}' });
    expect(once.status).toBe(200);
    const echo = once.json<EchoBody>();
    expect(echo.headerNames).not.toContain('x-max-ticks');
    expect(echo.headers['x-ticks-charged']).toBe('1');
  });

  t("the HTTP→HTTPS redirect goes to the configured server name, never the client's Host", async () => {
    const first = gw.vars.GATEWAY_SERVER_NAME.split(' ')[0]!;
    const expected = `https://${first}:${gw.httpsPort}/api/x?a=1`;
    for (const host of ['evil.example', 'evil.example:443', `${first}.evil.example`]) {
      const res = await request(gw.httpUrl, '/api/x?a=1', { headers: { Host: host } });
      expect({ host, status: res.status, location: res.headers.location }).toEqual({ host, status: 301, location: expected });
    }
    // absolute-form request target: NGINX takes $host from it, the redirect still does not
    const absolute = await request(gw.httpUrl, 'http://evil.example/api/x?a=1');
    expect(absolute.headers.location).toBe(expected);
  });

  const refusedHost = (res: Res): unknown => [res.status, res.headers['x-auth-reason'], res.body];
  const HOST_UNKNOWN = [421, 'host_unknown', '{"error":"host_unknown"}\n'];

  t('a Host outside GATEWAY_SERVER_NAME is a 421 host_unknown, even with a valid token: nothing reaches the validator or the app', async () => {
    const port = gw.httpsPort;
    const before = stack.upstream.calls();
    const decisions = (stack.logs().match(/"msg":"(?:granted|refused)"/g) ?? []).length;
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      'localhost.evil.example',
      '127.0.0.2',
      '127.0.0.1.evil.example',
      'xn--lcalhost-5ya',
      'localhost-evil',
    ]) {
      // the same request with the gateway's own name is granted
      expect((await callRaw('/api/things', ['Authorization', `Bearer ${token}`])).status).toBe(200);
      const foreign = await request(gw.httpsUrl, '/api/things', {
        ca: stack.ca,
        headers: ['Host', host, 'Authorization', `Bearer ${token}`] as unknown as Record<string, string>,
      });
      expect({ host, refused: refusedHost(foreign) }).toEqual({ host, refused: HOST_UNKNOWN });
    }
    // the request line's host wins over Host in NGINX: an absolute-form target is refused too
    const absolute = await callRaw(`https://evil.example/api/things`, ['Authorization', `Bearer ${token}`]);
    expect(refusedHost(absolute)).toEqual(HOST_UNKNOWN);
    // public paths and /healthz are behind the same check
    const pub = await request(gw.httpsUrl, '/api/public/info', { ca: stack.ca, headers: ['Host', 'evil.example'] as unknown as Record<string, string> });
    expect(refusedHost(pub)).toEqual(HOST_UNKNOWN);
    expect(stack.upstream.calls() - before).toBe(7); // only the seven granted requests with our own name
    expect((stack.logs().match(/"msg":"(?:granted|refused)"/g) ?? []).length - decisions).toBe(7);
  });

  t('our names in any case, with a trailing dot or a port reach the app as the lower-cased configured name (Host and X-Forwarded-Host)', async () => {
    for (const host of ['LOCALHOST', 'localhost.', `LocalHost:${gw.httpsPort}`, `127.0.0.1:${gw.httpsPort}`]) {
      const res = await request(gw.httpsUrl, '/api/things', {
        ca: stack.ca,
        headers: ['Host', host, 'Authorization', `Bearer ${token}`] as unknown as Record<string, string>,
      });
      expect(res.status).toBe(200);
      const echo = res.json<EchoBody>();
      const want = host.startsWith('127.') ? '127.0.0.1' : 'localhost';
      expect({ host, upstreamHost: echo.host, forwardedHost: echo.otherXHeaders['x-forwarded-host'] }).toEqual({
        host,
        upstreamHost: want,
        forwardedHost: want,
      });
    }
  });

  t('TLS server name (SNI) of ours with a foreign Host, and an HTTP/2 :authority of another host: 421 host_unknown', async () => {
    const before = stack.upstream.calls();
    const sni = await request(gw.httpsUrl, '/api/things', {
      ca: stack.ca,
      servername: 'localhost',
      headers: { Host: 'evil.example', Authorization: `Bearer ${token}` },
    });
    expect(refusedHost(sni)).toEqual(HOST_UNKNOWN);

    const session = http2.connect(gw.httpsUrl, { ca: stack.ca, servername: 'localhost' });
    try {
      const ask = (authority: string) =>
        new Promise<[number, unknown]>((resolve, reject) => {
          const s = session.request({ ':path': '/api/things', ':authority': authority, authorization: `Bearer ${token}` });
          let status = 0;
          let reason: unknown;
          s.on('response', (h) => {
            status = Number(h[':status']);
            reason = h['x-auth-reason'];
          });
          s.on('data', () => undefined);
          s.on('end', () => resolve([status, reason]));
          s.on('error', reject);
          s.end();
        });
      expect(await ask(`localhost:${gw.httpsPort}`)).toEqual([200, undefined]);
      expect(await ask('evil.example')).toEqual([421, 'host_unknown']);
    } finally {
      session.close();
    }
    expect(stack.upstream.calls() - before).toBe(1);
  });
});
