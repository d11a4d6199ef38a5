// The Caddy front (deploy/caddy/Caddyfile, real Caddy) before the built validator (AUTH_FRONT=forwarded)
// and the demo upstream: the client-visible checks of the NGINX stack. Identity reaches the upstream
// from the validator only; 401/403/429/400 reach the client with their status and headers; every
// gateway-owned header a client sends is gone; the client cannot pick the URI that is judged; no
// spelling of the path corpus reaches the admin handler without the scope or the charged handler
// uncharged; a decision Caddy retries after the charge is charged once.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findCaddy, startCaddy, type CaddyGateway } from '../../devkit/caddy';
import { ensureDevCerts } from '../../devkit/certs';
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { caddyfileMatcher, currentMatcherLine, DOT_SEGMENT, parseMap, toRe2, withoutPossessive } from '../../scripts/gen-caddy-path-filter';
import { templateMap } from '../../scripts/gen-path-filter';
import { freePort } from '../../devkit/process';
import { rawRequest, request, type ReqOptions, type Res } from '../e2e/client';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { PATH_CORPUS } from './path-corpus';
import { under } from '../../devkit/upstreams/routes';
import { HARMLESS_URIS, SECRET, TOKEN_URIS } from './token-uri-cases';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const njs = (require('../../nginx/njs/tollgate.js') as { default: { STRIPPED_NAMES: string[]; REFUSED_FAMILIES: string[] } }).default;

const RULES = { '* /api/admin/': ['admin'], 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] };
const DAILY = 1000;
/** The six names Caddy copies from the validator's answer (never the client's value). */
const SET_FROM_VALIDATOR = ['x-user-id', 'x-scopes', 'x-client-id', 'x-user-email', 'x-ticks-charged', 'x-ticks-remaining'];

describe('the Caddyfile refuses the request targets the NGINX template refuses', () => {
  const map = parseMap(templateMap()!);

  test('its @ambiguous matcher is the one generated from the NGINX map as it is now', () => {
    expect(caddyfileMatcher()).toBe(currentMatcherLine());
  });

  test('the RE2 translation decides like the PCRE map on the corpus and on 5,000 generated targets', () => {
    // NGINX's map, in JS (which has lookahead but no possessive quantifiers; dropping them matches the same here)
    const pcre = map.entries.map((e) => ({ re: new RegExp(withoutPossessive(e.regex), e.caseInsensitive ? 'i' : ''), ambiguous: e.ambiguous }));
    const nginxSays = (uri: string): boolean => pcre.find((e) => e.re.test(uri))?.ambiguous ?? map.fallback;
    // the Caddy conditions, in JS: RE2's syntax here is a subset of JS's, bar the leading (?i)
    const dot = new RegExp(DOT_SEGMENT);
    const re2 = map.entries.map(toRe2).map((t) => ({ ...t, re: new RegExp(t.re2.replace(/^\(\?i\)/, ''), t.re2.startsWith('(?i)') ? 'i' : '') }));
    const caddySays = (uri: string): boolean =>
      re2.find((t) => (t.startsWith === undefined || uri.startsWith(t.startsWith)) && t.re.test(uri) && !(t.noDotSegment && dot.test(uri)))?.ambiguous ??
      map.fallback;

    const pieces = [
      '/',
      '/',
      '/',
      'a',
      'Z',
      '.',
      '..',
      ';',
      '?',
      '#',
      '%2e',
      '%2E',
      '%2f',
      '%5c',
      '%3b',
      '%25',
      '%41',
      '%00',
      '%0a',
      '%zz',
      '%',
      '%c3%a9',
      '%c3',
      '%e2%80%ae',
      '%ef%bd%81',
      '%cc%81',
      '%f0%9f%98%80',
      '%ed%a0%80',
      '\\',
      ' ',
      '\x7f',
      '\xe9',
      '~',
      '=',
      '&',
      '*',
      'api',
      'admin',
    ];
    let seed = 42;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const targets = PATH_CORPUS.map((c) => c.uri);
    for (let i = 0; i < 5000; i++) targets.push(Array.from({ length: 1 + rnd(8) }, () => pieces[rnd(pieces.length)]).join(''));
    const differ = targets.filter((u) => nginxSays(u) !== caddySays(u)).map((u) => ({ u, nginx: nginxSays(u), caddy: caddySays(u) }));
    expect(differ).toEqual([]);
    // the edge refuses exactly the corpus's refusals
    expect(PATH_CORPUS.filter((c) => caddySays(c.uri) !== (c.canonical === null)).map((c) => c.uri)).toEqual([]);
  });
});

const caddyBin = findCaddy();
if (!caddyBin) {
  if (process.env.CI) throw new Error('caddy.test needs caddy in CI (apt-get install caddy, or CADDY_BIN)');
  console.warn('\n*** SKIPPING the Caddy front tests: caddy not found (apt-get install caddy, or CADDY_BIN) ***\n');
}
const d = caddyBin ? describe : describe.skip;

/**
 * Every path some upstream could route `target` to, lower-cased: percent-decoded zero to two times
 * (as bytes, and as UTF-8 under NFKC), `;params` cut or kept, `\` read as `/` or not, `//` merged or
 * not, cut at a NUL or not, dot segments resolved.
 */
function readings(target: string): Set<string> {
  const pct = (s: string): string => s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  const forms = new Set<string>();
  let s = target.split(/[?#]/)[0]!;
  for (let i = 0; i < 3; i++, s = pct(s)) forms.add(s).add(Buffer.from(s, 'latin1').toString('utf8').normalize('NFKC'));
  const out = new Set<string>();
  for (const f of forms) {
    for (const cutParams of [false, true]) {
      for (const backslash of [false, true]) {
        for (const merge of [false, true]) {
          for (const nul of [false, true]) {
            let p = nul ? f.split('\0')[0]! : f;
            if (backslash) p = p.replace(/\\/g, '/');
            let segs = p.split('/').slice(1);
            if (cutParams) segs = segs.map((x) => x.split(';')[0]!);
            if (merge) segs = segs.filter((x, i) => x !== '' || i === segs.length - 1);
            const stack: string[] = [];
            for (const seg of segs) {
              if (seg === '..') stack.pop();
              else if (seg !== '.') stack.push(seg);
            }
            out.add(('/' + stack.join('/')).toLowerCase());
          }
        }
      }
    }
  }
  return out;
}
const isAdmin = (p: string): boolean => under(p, '/api/admin');
const isTasks = (p: string): boolean => p === '/api/tasks' || p === '/api/tasks/' || p.startsWith('/api/tasks.');

/**
 * A TCP proxy before the validator that resets Caddy's connection (RST, nothing relayed) as soon as
 * the validator starts answering the first attempt of each charge id (the validator writes only
 * after the charge is committed); a repeated id goes through. Caddy then retries the decision.
 */
async function startResettingProxy(target: number): Promise<{ port: number; resets(): number; stop(): Promise<void> }> {
  const seenIds = new Set<string>();
  let resets = 0;
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = net.createServer((client) => {
    track(client);
    const upstream = net.connect(target, '127.0.0.1');
    track(upstream);
    upstream.on('close', () => client.destroy());
    let head = '';
    let fresh = false;
    client.on('data', (b: Buffer) => {
      head += b.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0) {
        const id = /\r\nx-tollgate-charge-id: *([^\r]*)/i.exec(head.slice(0, end))?.[1] ?? '';
        fresh = id !== '' && !seenIds.has(id);
        seenIds.add(id);
        head = head.slice(end + 4);
      }
      upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => {
      if (!fresh) return void client.write(b);
      resets++;
      client.resetAndDestroy();
      upstream.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    resets: () => resets,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

d('the Caddy front (deploy/caddy/Caddyfile) before the validator with AUTH_FRONT=forwarded', () => {
  let root: string;
  let iss: TestIssuer;
  let key: TestKey;
  let upstream: DemoUpstream;
  let validator: ValidatorProcess;
  let gw: CaddyGateway;
  let certFile: string;
  let keyFile: string;
  let ca: Buffer;
  const extra: CaddyGateway[] = [];

  /** A Caddy on free ports with the test certificate; `validators`/`apps` default to the shared ones. */
  const caddy = async (o: { validators?: string[]; apps?: string[] } = {}): Promise<CaddyGateway> =>
    startCaddy({
      env: {},
      httpsPort: 0,
      httpPort: 0,
      validators: o.validators ?? [`127.0.0.1:${validator.port}`],
      apps: o.apps ?? [`127.0.0.1:${upstream.port}`],
      vars: { GATEWAY_TLS_CERT: certFile, GATEWAY_TLS_KEY: keyFile },
    });

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-caddy-test-'));
    key = await makeKey('ES256', 'caddy');
    iss = await TestIssuer.start([key]);
    upstream = await startDemoUpstream();
    validator = await spawnValidator({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: iss.jwksUrl,
      AUTH_FRONT: 'forwarded',
      AUTH_ROUTE_RULES: JSON.stringify(RULES),
      QUOTA_ROUTES: 'POST /api/tasks',
      QUOTA_DEFAULT_DAILY_TICKS: String(DAILY),
      // safe behind this Caddyfile: it sets the charge id itself and strips the client's
      QUOTA_TRUST_CHARGE_ID: 'true',
      DATA_DIR: 'memory://',
    });
    ({ certFile, keyFile } = ensureDevCerts({ dir: path.join(root, 'certs') }));
    ca = fs.readFileSync(certFile);
    gw = await caddy();
  }, 60_000);

  afterAll(async () => {
    for (const g of [gw, ...extra]) await g?.stop();
    await validator?.stop();
    await upstream?.stop();
    await iss?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** Runs `fn`; on failure prints Caddy's and the validator's logs first. */
  const t = (name: string, fn: () => Promise<void>, timeout?: number): void =>
    test(
      name,
      async () => {
        try {
          await fn();
        } catch (err) {
          console.error(
            `caddy.test failure; logs:\n--- caddy ---\n${[gw, ...extra].map((g) => g.logs()).join('\n')}\n--- validator ---\n${validator.logs().slice(-20_000)}`,
          );
          throw err;
        }
      },
      timeout,
    );

  const token = (claims: Record<string, unknown> = {}): Promise<string> =>
    mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { scope: 'api:read api:write', ...claims } });
  const call = async (uri: string, o: ReqOptions & { claims?: Record<string, unknown>; noToken?: boolean } = {}): Promise<Res> => {
    const headers: Record<string, string> = o.noToken ? {} : { authorization: `Bearer ${await token(o.claims)}` };
    return request(gw.httpsUrl, uri, { ca, method: o.method, body: o.body ?? (o.method === 'POST' ? '{}' : undefined), headers: { ...headers, ...o.headers } });
  };
  const echoOf = (r: Res): EchoBody => r.json<EchoBody>();

  t('identity headers reach the upstream from the validator only; an absent one is absent, never a placeholder', async () => {
    const spoof = { 'x-user-id': 'admin', 'x-scopes': 'admin', 'x-client-id': 'spoofed', 'x-user-email': 'victim@example.com', 'x-ticks-charged': '0' };
    const ok = await call('/api/things', {
      claims: { sub: 'alice', azp: 'web', email: 'alice@example.com', email_verified: true, roles: ['editor', 'x,admin'] },
      headers: { ...spoof, 'x-user-roles': 'admin' },
    });
    expect(ok.status).toBe(200);
    expect(echoOf(ok).headers).toMatchObject({
      'x-user-id': 'alice',
      'x-scopes': 'api:read,api:write',
      'x-client-id': 'web',
      'x-user-email': 'alice@example.com',
      'x-ticks-charged': null,
    });
    expect(echoOf(ok).otherXHeaders['x-user-roles']).toBe('editor');
    expect(ok.headers['strict-transport-security']).toMatch(/^max-age=\d+; includeSubDomains$/);
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    expect(ok.headers.server).toBeUndefined();

    // Caddy 2.6's copy_headers would send "{http.reverse_proxy.header.X-User-Email}" for an unverified address
    const unverified = await call('/api/things', { claims: { sub: 'bob', email: 'victim@example.com', email_verified: false }, headers: spoof });
    const echo = echoOf(unverified);
    expect(echo.headers['x-user-id']).toBe('bob');
    expect(echo.headerNames.filter((h) => ['x-user-email', 'x-user-roles', 'x-client-id', 'x-ticks-charged', 'x-ticks-remaining'].includes(h))).toEqual([]);
    expect(JSON.stringify(echo)).not.toContain('{http.');

    // a subject that looks like a placeholder arrives as written, not expanded
    const placeholder = await call('/api/things', { claims: { sub: '{http.request.header.Authorization}' } });
    expect(echoOf(placeholder).headers['x-user-id']).toBe('{http.request.header.Authorization}');
  });

  t("X-Request-Id: the client's when it looks like one, else Caddy's; the same at the upstream and in the response, once", async () => {
    const kept = await call('/api/things', { headers: { 'x-request-id': 'client-req-12345' } });
    expect([echoOf(kept).headers['x-request-id'], kept.headers['x-request-id'], kept.count('x-request-id')]).toEqual([
      'client-req-12345',
      'client-req-12345',
      1,
    ]);
    const replaced = await call('/api/things', { headers: { 'x-request-id': 'bad id <script>' } });
    const id = echoOf(replaced).headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.headers['x-request-id']).toBe(id);
    // on a refusal too (the validator echoes the id it was given; Caddy's copy replaces it)
    const refused = await call('/api/things', { noToken: true, headers: { 'x-request-id': 'client-req-67890' } });
    expect([refused.status, refused.headers['x-request-id'], refused.count('x-request-id')]).toEqual([401, 'client-req-67890', 1]);
  });

  t('401, 403, 429 and 400 reach the client with status, WWW-Authenticate, Retry-After and X-Auth-Reason; the upstream is never called', async () => {
    const before = upstream.calls();
    const missing = await call('/api/things', { noToken: true });
    expect([missing.status, missing.headers['x-auth-reason'], missing.count('www-authenticate')]).toEqual([401, 'token_missing', 1]);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer /);

    const forged = await call('/api/things', { noToken: true, headers: { authorization: 'Bearer not.a.token' } });
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toContain('error="invalid_token"');

    const admin = await call('/api/admin/users', { claims: { sub: 'reader', scope: 'api:read' } });
    expect([admin.status, admin.headers['x-auth-reason']]).toEqual([403, 'scope_missing']);
    expect(admin.headers['www-authenticate']).toContain('error="insufficient_scope"');

    const invalid = await call('/api/tasks', { method: 'POST', claims: { sub: 'ticks-user' }, headers: { 'x-max-ticks': 'lots' } });
    expect([invalid.status, invalid.headers['x-auth-reason']]).toEqual([400, 'max_ticks_invalid']);
    const twice = await request(gw.httpsUrl, '/api/tasks', {
      ca,
      method: 'POST',
      body: '{}',
      headers: ['Authorization', `Bearer ${await token({ sub: 'ticks-user' })}`, 'X-Max-Ticks', '1', 'X-Max-Ticks', '1000'] as unknown as Record<
        string,
        string
      >,
    });
    expect(twice.status).toBe(400);

    const all = await call('/api/tasks', { method: 'POST', claims: { sub: 'quota-user' }, headers: { 'x-max-ticks': String(DAILY) } });
    expect([all.status, echoOf(all).headers['x-ticks-charged'], all.headers['x-ticks-charged']]).toEqual([200, String(DAILY), String(DAILY)]);
    const over = await call('/api/tasks', { method: 'POST', claims: { sub: 'quota-user' } });
    expect([over.status, over.headers['x-auth-reason']]).toEqual([429, 'quota_exhausted']);
    expect(over.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(upstream.calls()).toBe(before + 1);
  });

  t("every gateway-owned header a client sends is absent at the upstream (the six identity names hold the validator's values)", async () => {
    const families = njs.REFUSED_FAMILIES.map((f) => `${f}${f.endsWith('-') ? '' : '-'}probe-zz`);
    // Caddy-specific: what forward-auth fronts send, and what the reverse proxy sets itself
    const caddyOwn = ['x-forwarded-uri', 'x-forwarded-method', 'x-forwarded-host', 'x-forwarded-for', 'x-forwarded-proto', 'x-real-ip', 'x-authorization'];
    const names = [...new Set([...njs.STRIPPED_NAMES, ...families, ...caddyOwn])];
    const spoofed = Object.fromEntries(names.map((n) => [n, n === 'x-max-ticks' ? '1' : 'spoofed']));
    for (const [method, uri] of [
      ['GET', '/api/things'],
      ['POST', '/api/tasks'],
    ] as const) {
      const res = await call(uri, { method, claims: { sub: `spoof-${method}` }, headers: spoofed });
      expect(res.status).toBe(200);
      const echo = echoOf(res);
      const setByGateway = [...SET_FROM_VALIDATOR, 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip'];
      const arrived = echo.headerNames.filter((h) => names.includes(h) && !setByGateway.includes(h));
      expect({ method, arrived }).toEqual({ method, arrived: [] });
      expect(JSON.stringify(echo)).not.toContain('spoofed');
      expect(echo.otherXHeaders['x-real-ip']).toBe('127.0.0.1');
      expect(echo.otherXHeaders['x-forwarded-for']).toBe('127.0.0.1');
      expect(echo.headers['x-user-id']).toBe(`spoof-${method}`);
      if (method === 'POST') expect(echo.headers['x-ticks-charged']).toBe('1');
    }
  });

  t('the client cannot pick the request that is judged: its X-Forwarded-Uri/-Method and X-Original-* are ignored', async () => {
    const before = upstream.calls();
    const lie = { 'x-forwarded-uri': '/api/things', 'x-forwarded-method': 'GET', 'x-original-uri': '/api/things', 'x-original-method': 'GET' };
    const admin = await call('/api/admin/x', { claims: { sub: 'liar', scope: 'api:read' }, headers: lie });
    expect([admin.status, admin.headers['x-auth-reason']]).toEqual([403, 'scope_missing']);
    expect(upstream.calls()).toBe(before);
    // a POST that says it is a GET elsewhere is charged as the POST it is
    const post = await call('/api/tasks', { method: 'POST', claims: { sub: 'liar' }, headers: lie });
    expect([post.status, echoOf(post).method, echoOf(post).headers['x-ticks-charged']]).toEqual([200, 'POST', '1']);
  });

  t("a client's X-Tollgate-Charge-Id never reaches the validator: two requests with the same id are two charges", async () => {
    const id = 'a'.repeat(32);
    const first = await call('/api/tasks', { method: 'POST', claims: { sub: 'charge-id-user' }, headers: { 'x-tollgate-charge-id': id } });
    const second = await call('/api/tasks', { method: 'POST', claims: { sub: 'charge-id-user' }, headers: { 'x-tollgate-charge-id': id } });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.headers['x-ticks-remaining'], second.headers['x-ticks-remaining']]).toEqual([String(DAILY - 1), String(DAILY - 2)]);
  });

  t('a decision whose answer broke off after the charge is retried by Caddy with the same charge id: N requests, N ticks', async () => {
    const proxy = await startResettingProxy(validator.port);
    try {
      const retrying = await caddy({ validators: [`127.0.0.1:${proxy.port}`] });
      extra.push(retrying);
      const tok = await token({ sub: 'retry-user' });
      for (let i = 0; i < 3; i++) {
        const res = await request(retrying.httpsUrl, '/api/tasks', { ca, method: 'POST', body: '{}', headers: { authorization: `Bearer ${tok}` } });
        expect([res.status, echoOf(res).headers['x-ticks-charged']]).toEqual([200, '1']);
      }
      expect(proxy.resets()).toBe(3);
      const after = await call('/api/tasks', { method: 'POST', claims: { sub: 'retry-user' } });
      expect(after.headers['x-ticks-remaining']).toBe(String(DAILY - 4));
    } finally {
      await proxy.stop();
    }
  });

  t(
    'the path corpus: refused where it is ambiguous, judged as the upstream reads it otherwise; never admin without the scope, never tasks uncharged',
    async () => {
      const tok = await token({ sub: 'corpus-user' });
      const failures: unknown[] = [];
      for (const c of PATH_CORPUS) {
        for (const method of ['GET', 'POST'] as const) {
          const before = upstream.calls();
          const res = await rawRequest(gw.httpsUrl, c.uri, { ca, method, headers: { Authorization: `Bearer ${tok}` }, body: method === 'POST' ? '{}' : '' });
          const reached = upstream.calls() > before;
          const echo = reached ? echoOf(res) : undefined;
          const seen = {
            uri: c.uri,
            method,
            status: res.status,
            reason: res.headers['x-auth-reason'],
            upstreamPath: echo?.path,
            charged: echo?.headers['x-ticks-charged'],
          };
          // the property, whatever the corpus says: no reading of what the upstream got is admin, a tasks reading is charged
          const read = echo ? [...readings(echo.path)] : [];
          if (read.some(isAdmin)) failures.push({ ...seen, why: 'reached an admin reading without the admin scope' });
          if (method === 'POST' && read.some(isTasks) && echo?.headers['x-ticks-charged'] !== '1')
            failures.push({ ...seen, why: 'reached a tasks reading uncharged' });
          // the contract of the corpus, as for the validator and NGINX
          if (c.canonical === null) {
            // an absolute-form target names its own host, which is not ours: 421 before any path check
            const refusedAs = /^[a-z]+:\/\//i.test(c.uri) ? 421 : 400;
            if (res.status !== refusedAs || reached) failures.push({ ...seen, why: `not refused with ${refusedAs}` });
            continue;
          }
          const p = c.canonical.toLowerCase();
          if (isAdmin(p)) {
            if (res.status !== 403 || reached) failures.push({ ...seen, why: 'admin path not refused 403' });
          } else if (!p.startsWith('/api/')) {
            if (reached) failures.push({ ...seen, why: 'outside /api/ yet proxied' });
          } else if (res.status !== 200 || echo?.path !== c.uri) {
            failures.push({ ...seen, why: 'not passed on as sent' });
          } else if (method === 'POST' && isTasks(p) && echo.headers['x-ticks-charged'] !== '1') {
            failures.push({ ...seen, why: 'tasks not charged' });
          }
        }
      }
      expect(failures).toEqual([]);
    },
    120_000,
  );

  t('a token in the URI is refused at the edge however it is spelled (the NGINX table); names that only look like one pass', async () => {
    const before = upstream.calls();
    const uris = [
      ...TOKEN_URIS.map((c) => c.uri),
      `/api/things?token%3d${SECRET}`,
      `/api/things?%74oken=${SECRET}`,
      `/api/things?a%63cess_token=${SECRET}`,
      `/api/things?tok%65n=${SECRET}`,
      `/api/things#access_token=${SECRET}`,
    ];
    for (const uri of uris) {
      const res = await rawRequest(gw.httpsUrl, uri, { ca, headers: { Authorization: `Bearer ${await token()}` } });
      expect({ uri, status: res.status, reason: res.headers['x-auth-reason'], body: res.body }).toEqual({
        uri,
        status: 400,
        reason: 'token_in_uri',
        body: '{"error":"token_in_uri"}',
      });
    }
    expect(upstream.calls()).toBe(before);
    for (const uri of HARMLESS_URIS) expect({ uri, status: (await call(uri)).status }).toEqual({ uri, status: 200 });
    expect(gw.logs()).not.toContain(SECRET);
    expect(validator.logs()).not.toContain(SECRET);
  });

  t('HTTPS: a Host outside GATEWAY_SERVER_NAME and CADDY_SERVER_ALIASES is a 421 host_unknown, even with a valid token; ours in any case pass', async () => {
    const tok = await token({ sub: 'host-user' });
    const before = upstream.calls();
    for (const host of ['evil.example', `evil.example:${gw.httpsPort}`, 'localhost.evil.example', '127.0.0.2', 'localhost-evil']) {
      const res = await rawRequest(gw.httpsUrl, '/api/things', { ca, headers: { Host: host, Authorization: `Bearer ${tok}` } });
      expect({ host, got: [res.status, res.headers['x-auth-reason'], res.body] }).toEqual({ host, got: [421, 'host_unknown', '{"error":"host_unknown"}'] });
    }
    const absolute = await rawRequest(gw.httpsUrl, 'https://evil.example/api/things', { ca, headers: { Authorization: `Bearer ${tok}` } });
    expect([absolute.status, absolute.headers['x-auth-reason']]).toEqual([421, 'host_unknown']);
    expect(upstream.calls()).toBe(before);
    for (const host of ['LOCALHOST', `localhost:${gw.httpsPort}`, `127.0.0.1:${gw.httpsPort}`]) {
      const res = await rawRequest(gw.httpsUrl, '/api/things', { ca, headers: { Host: host, Authorization: `Bearer ${tok}` } });
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
  });

  t("plain HTTP: /healthz, and a redirect to the configured server name, never the client's Host", async () => {
    expect((await request(gw.httpUrl, '/healthz')).status).toBe(200);
    const expected = `https://localhost:${gw.httpsPort}/api/x?a=1`;
    for (const host of ['evil.example', 'evil.example:443', 'localhost.evil.example']) {
      const res = await request(gw.httpUrl, '/api/x?a=1', { headers: { Host: host } });
      expect({ host, status: res.status, location: res.headers.location }).toEqual({ host, status: 301, location: expected });
    }
    // absolute-form: Go takes the Host from it; the redirect still does not
    expect((await rawRequest(gw.httpUrl, 'http://evil.example/api/x?a=1')).headers.location).toBe(expected);
    const tokenInUri = await request(gw.httpUrl, '/api/x?access_token=abc');
    expect([tokenInUri.status, tokenInUri.headers.location]).toEqual([400, undefined]);
  });

  t('headers larger than the validator accepts are a 4xx to the client, never a 5xx', async () => {
    const big = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`x-pad-${i}`, 'p'.repeat(12_000)]));
    const res = await call('/api/things', { headers: big });
    expect([400, 431]).toContain(res.status);
  });

  t("validator unreachable: 502, the upstream is never called, and Caddy's error log holds no secret from the URI", async () => {
    const closed = await freePort();
    const down = await caddy({ validators: [`127.0.0.1:${closed}`] });
    extra.push(down);
    const before = upstream.calls();
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const res = await request(down.httpsUrl, `/api/things/${jwt}?q=${jwt}`, { ca, headers: { authorization: 'Bearer whatever' } });
    expect(res.status).toBe(502);
    expect(upstream.calls()).toBe(before);
    await new Promise((r) => setTimeout(r, 200));
    expect(down.logs()).toContain('"status":502');
    expect(down.logs()).not.toContain('eyJ');
  });
});
