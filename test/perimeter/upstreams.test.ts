// The path corpus against real upstream frameworks (Express 5, Python's wsgiref, Tomcat 10.1, Rails' router): no
// spelling of a path may reach the protected handler without the scope, or the charged handler
// uncharged, whether the validator is asked directly (any front) or sits behind our NGINX.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDevCerts } from '../../devkit/certs';
import { startGateway, type Gateway } from '../../devkit/nginx';
import { rawRequest, type Res } from '../e2e/client';
import { makeKey, mint, TestIssuer } from '../../devkit/issuer';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { impliedHandler, replyOf, startUpstreams, type Reading, type StartedUpstreams } from '../../devkit/upstreams';
import { PATH_CORPUS, type PathCase } from './path-corpus';

const METHODS = ['GET', 'POST'] as const;
type Method = (typeof METHODS)[number];
const RULES = { '* /api/admin/': ['admin'], 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] };
/** How many corpus cases are probed at once (each case is a handful of requests). */
const CONCURRENCY = 4;

const CASE_SENSITIVE_SERVLET = 'servlet mappings compare case-sensitively (Servlet 6.0 §12.1)';
const CASE_SENSITIVE_WSGI = 'the micro-app routes with case-sensitive regexes on PATH_INFO, as Werkzeug and Bottle do';
const EXPRESS_RAW_MATCH = 'Express matches literal route segments on the still-encoded path (path-to-regexp decodes parameters only)';
/**
 * Where a server's router reads a path that has one canonical reading differently from that
 * reading (lower-cased, see impliedHandler). Recorded, not hidden: the "one reading" test fails on
 * any disagreement missing here and on any entry here that no longer happens. Each one below
 * is on the safe side: the validator judges the stricter reading.
 */
const RAILS_RAW_MATCH = "Rails' router matches literal segments on the still-encoded path, as Express does";
const CASE_SENSITIVE_RAILS = "Rails' router compares paths case-sensitively";
const NO_FORMAT_SUFFIX = 'no format suffix here: the suffixed path is a path of its own (the rules read it as Rails does)';
const WEBRICK_URI_LIMIT = 'WEBrick refuses a request line over 2,083 bytes (414): nothing runs';
const LONG_SEGMENTS = '/api/' + 'a/'.repeat(1500) + 'end';
const LONG_SEGMENT = '/api/' + 'x'.repeat(6000);
const KNOWN_DISAGREEMENTS: readonly { server: string; method: Method | '*'; uri: string; reads: Reading; why: string }[] = [
  ...['express', 'tomcat', 'wsgiref'].flatMap((server) => [
    { server, method: '*' as const, uri: '/api/admin.json', reads: 'other' as const, why: NO_FORMAT_SUFFIX },
    { server, method: 'POST' as const, uri: '/api/tasks.json', reads: 'other' as const, why: NO_FORMAT_SUFFIX },
    { server, method: '*' as const, uri: '/api/ADMIN.json', reads: 'other' as const, why: NO_FORMAT_SUFFIX },
  ]),
  { server: 'rails', method: '*', uri: '/api/ADMIN.json', reads: 'other', why: CASE_SENSITIVE_RAILS },
  { server: 'rails', method: '*', uri: '/api/ADMIN/users', reads: 'other', why: CASE_SENSITIVE_RAILS },
  { server: 'rails', method: '*', uri: '/api/%41DMIN/users', reads: 'other', why: RAILS_RAW_MATCH },
  { server: 'rails', method: '*', uri: '/api/%61dmin/users', reads: 'other', why: RAILS_RAW_MATCH },
  { server: 'rails', method: 'POST', uri: '/api/Tasks', reads: 'other', why: CASE_SENSITIVE_RAILS },
  { server: 'rails', method: '*', uri: LONG_SEGMENTS, reads: 'none', why: WEBRICK_URI_LIMIT },
  { server: 'rails', method: '*', uri: LONG_SEGMENT, reads: 'none', why: WEBRICK_URI_LIMIT },
  { server: 'express', method: '*', uri: '/api/%61dmin/users', reads: 'other', why: EXPRESS_RAW_MATCH },
  { server: 'express', method: '*', uri: '/api/%41DMIN/users', reads: 'other', why: EXPRESS_RAW_MATCH },
  { server: 'tomcat', method: '*', uri: '/api/ADMIN/users', reads: 'other', why: CASE_SENSITIVE_SERVLET },
  { server: 'tomcat', method: '*', uri: '/api/%41DMIN/users', reads: 'other', why: CASE_SENSITIVE_SERVLET },
  { server: 'tomcat', method: 'POST', uri: '/api/Tasks', reads: 'other', why: CASE_SENSITIVE_SERVLET },
  { server: 'wsgiref', method: '*', uri: '/api/ADMIN/users', reads: 'other', why: CASE_SENSITIVE_WSGI },
  { server: 'wsgiref', method: '*', uri: '/api/%41DMIN/users', reads: 'other', why: CASE_SENSITIVE_WSGI },
  { server: 'wsgiref', method: 'POST', uri: '/api/Tasks', reads: 'other', why: CASE_SENSITIVE_WSGI },
];

let issuer: TestIssuer | undefined;
let validator: ValidatorProcess | undefined;
let started: StartedUpstreams | undefined;
const gateways = new Map<string, Gateway>();
let token = '';
let ca: Buffer;
let tmp = '';

/** What one upstream did with one request. */
interface Seen {
  status: number;
  reading: Reading;
  path?: string;
  charged?: string;
}
const seen = (res: Res): Seen => {
  const r = replyOf(res);
  return { status: res.status, reading: r?.handler ?? 'none', path: r?.path, charged: r?.headers['x-ticks-charged'] };
};
/** The URI as a JSON string; long ones cut (test names and messages stay readable). */
const show = (uri: string): string => (uri.length > 72 ? `${JSON.stringify(uri.slice(0, 60))}…(${uri.length} chars)` : JSON.stringify(uri));

interface Decision {
  status: number;
  reason: string;
  charged: number;
}
interface ProbeA {
  decisions: Record<Method, Decision>;
  /** upstream name → method → what it did with the raw request. */
  upstreams: Record<string, Record<Method, Seen>>;
}
/** upstream name → method → what reached it through its NGINX (reading 'none' when NGINX answered itself). */
type ProbeB = Record<string, Record<Method, Seen>>;

/** Wraps async functions so that at most `n` run at a time. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
const limit = limiter(CONCURRENCY);

/** Once per case: a describe's beforeAll starts them all (CONCURRENCY at a time), its tests await theirs. */
function memo<T>(run: (c: PathCase) => Promise<T>): { get(c: PathCase): Promise<T>; startAll(): void; done: Map<string, Promise<T>> } {
  const done = new Map<string, Promise<T>>();
  const get = (c: PathCase): Promise<T> => {
    let p = done.get(c.uri);
    if (!p) done.set(c.uri, (p = limit(() => run(c))));
    return p;
  };
  // a failed probe is reported by the test that awaits it
  return { get, done, startAll: () => PATH_CORPUS.forEach((c) => void get(c).catch(() => undefined)) };
}

/** Leg A: the validator's decision on the raw URI, and each upstream's reading of the same raw request. */
const probesA = memo(async (c): Promise<ProbeA> => {
  const decisions = {} as Record<Method, Decision>;
  const upstreams: Record<string, Record<Method, Seen>> = {};
  await Promise.all(
    METHODS.flatMap((m) => [
      // raw: Node's own client refuses to send some corpus bytes (controls) in a header
      rawRequest(validator!.url, '/api/auth/validate', {
        headers: { Authorization: `Bearer ${token}`, 'X-Original-Method': m, 'X-Original-URI': c.uri },
      }).then((r) => {
        decisions[m] = { status: r.status, reason: String(r.headers['x-auth-reason'] ?? ''), charged: Number(r.headers['x-ticks-charged'] ?? 0) };
      }),
      ...started!.upstreams.map((u) =>
        rawRequest(u.url, c.uri, { method: m }).then((r) => {
          (upstreams[u.name] ??= {} as Record<Method, Seen>)[m] = seen(r);
        }),
      ),
    ]),
  );
  return { decisions, upstreams };
});

/** Leg B: the raw request through each upstream's NGINX, with the token. */
const probesB = memo(async (c): Promise<ProbeB> => {
  const out: ProbeB = {};
  await Promise.all(
    [...gateways].flatMap(([name, gw]) =>
      METHODS.map(async (m) => {
        const res = await rawRequest(gw.httpsUrl, c.uri, { method: m, ca, headers: { Authorization: `Bearer ${token}` } });
        (out[name] ??= {} as Record<Method, Seen>)[m] = seen(res);
      }),
    ),
  );
  return out;
});

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-upstreams-'));
  // NGINX's workers (nobody) read the files root below this directory
  fs.chmodSync(tmp, 0o755);
  fs.mkdirSync(path.join(tmp, 'files'));
  const key = await makeKey('ES256');
  issuer = await TestIssuer.start([key]);
  token = await mint({ iss: issuer.issuer, aud: 'api' }, { key, claims: { scope: 'api:read api:write' } });
  // both at once; each is kept as soon as it runs, so afterAll stops it even if the other failed
  const starting = await Promise.allSettled([
    spawnValidator({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: issuer.jwksUrl,
      AUTH_ROUTE_RULES: JSON.stringify(RULES),
      QUOTA_ROUTES: 'POST /api/tasks',
      QUOTA_DEFAULT_DAILY_TICKS: '1000000',
    }).then((v) => (validator = v)),
    startUpstreams().then((u) => (started = u)),
  ]);
  for (const s of starting) if (s.status === 'rejected') throw s.reason;
  const v = validator!;
  const ups = started!;
  for (const s of ups.skipped) console.warn(`upstream ${s.name} skipped: ${s.why}`);
  const tls = ensureDevCerts({ dir: path.join(tmp, 'certs') });
  ca = fs.readFileSync(tls.certFile);
  for (const u of ups.upstreams) {
    gateways.set(
      u.name,
      await startGateway({
        env: {},
        httpsPort: 0,
        httpPort: 0,
        validators: [`127.0.0.1:${v.port}`],
        apps: [u.host],
        vars: {
          GATEWAY_TLS_CERT: tls.certFile,
          GATEWAY_TLS_KEY: tls.keyFile,
          GATEWAY_FILES_ROOT: path.join(tmp, 'files') + '/',
          GATEWAY_RATE_PER_IP: '10000r/s',
          GATEWAY_BURST_PER_IP: '10000',
          GATEWAY_RATE_PER_CREDENTIAL: '10000r/s',
          GATEWAY_BURST_PER_CREDENTIAL: '10000',
        },
      }),
    );
  }
  if (process.env.UPSTREAMS_TIMINGS) console.log(ups.upstreams.map((u) => `${u.name} started in ${u.startMs} ms`).join('\n'));
}, 90_000);

afterAll(async () => {
  if (process.env.UPSTREAMS_TABLE) await writeTable(process.env.UPSTREAMS_TABLE).catch((e: Error) => console.warn(e.message));
  for (const g of gateways.values()) await g.stop().catch(() => undefined);
  await started?.stop();
  await validator?.stop();
  await issuer?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('every upstream is running and answers from its router', async () => {
  const names = started!.upstreams.map((u) => u.name);
  if (process.env.CI === 'true') expect(names.sort()).toEqual(['express', 'rails', 'tomcat', 'wsgiref']);
  for (const u of started!.upstreams) {
    const r = replyOf(await rawRequest(u.url, '/api/admin/x', { method: 'POST' }));
    expect(r).toMatchObject({ server: u.name, handler: 'admin', path: '/api/admin/x' });
  }
});

describe('leg A: the validator asked directly (any front), then the same raw request to each upstream', () => {
  beforeAll(() => probesA.startAll());
  test.each(PATH_CORPUS.map((c) => [show(c.uri), c] as const))('%s', async (_, c) => {
    const a = await probesA.get(c);
    const violations: string[] = [];
    for (const m of METHODS) {
      const d = a.decisions[m];
      for (const [name, byMethod] of Object.entries(a.upstreams)) {
        const s = byMethod[m];
        if (d.status === 200 && s.reading === 'admin') violations.push(`${m} ${show(c.uri)}: validator granted, ${name} ran admin (routed ${show(s.path!)})`);
        if (m === 'POST' && d.status === 200 && s.reading === 'tasks' && !(d.charged >= 1)) {
          violations.push(`POST ${show(c.uri)}: validator granted uncharged (X-Ticks-Charged ${d.charged}), ${name} ran tasks (routed ${show(s.path!)})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });
});

describe('one reading: a path with a canonical form routes, on every upstream, where that form says', () => {
  const known = (server: string, m: Method, uri: string): Reading | undefined =>
    KNOWN_DISAGREEMENTS.find((k) => k.server === server && (k.method === '*' || k.method === m) && k.uri === uri)?.reads;
  const cases = PATH_CORPUS.filter((c) => c.canonical !== null);
  test.each(cases.map((c) => [show(c.uri), c] as const))('%s', async (_, c) => {
    const a = await probesA.get(c);
    const got: string[] = [];
    const want: string[] = [];
    for (const m of METHODS) {
      for (const [name, byMethod] of Object.entries(a.upstreams).sort(([x], [y]) => x.localeCompare(y))) {
        got.push(`${name} ${m} → ${byMethod[m].reading}`);
        want.push(`${name} ${m} → ${known(name, m, c.uri) ?? impliedHandler(m, c.canonical!)}`);
      }
    }
    expect(got).toEqual(want);
  });
  test('every recorded disagreement is a corpus case with a canonical path, and on the safe side', () => {
    for (const k of KNOWN_DISAGREEMENTS) {
      const c = PATH_CORPUS.find((x) => x.uri === k.uri && x.canonical !== null);
      expect(c).toBeDefined();
      // safe: the server runs nothing, or a plain handler where the validator judged the protected or charged one
      for (const m of k.method === '*' ? METHODS : [k.method]) {
        if (k.reads === 'none') continue;
        expect(['admin', 'tasks']).toContain(impliedHandler(m, c!.canonical!));
        expect(k.reads).toBe('other');
      }
    }
  });
});

describe('leg B: client → NGINX → upstream, judged on what reached the upstream', () => {
  beforeAll(() => probesB.startAll());
  test.each(PATH_CORPUS.map((c) => [show(c.uri), c] as const))('%s', async (_, c) => {
    const b = await probesB.get(c);
    const violations: string[] = [];
    for (const [name, byMethod] of Object.entries(b)) {
      for (const m of METHODS) {
        const s = byMethod[m];
        // the token has no admin scope: any admin handler reached is a bypass
        if (s.reading === 'admin') violations.push(`${m} ${show(c.uri)} via NGINX: ${name} ran admin (routed ${show(s.path!)})`);
        if (m === 'POST' && s.reading === 'tasks' && !(Number(s.charged) >= 1)) {
          violations.push(`POST ${show(c.uri)} via NGINX: ${name} ran tasks with X-Ticks-Charged ${JSON.stringify(s.charged ?? null)}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });
});

/** UPSTREAMS_TABLE=file: every decision and reading of this run as one JSON document, for reviewing the corpus. */
async function writeTable(file: string): Promise<void> {
  const settled = async <T>(p: Promise<T> | undefined): Promise<T | string | undefined> => p?.catch((e: Error) => `error: ${e.message}`);
  const rows = [];
  for (const c of PATH_CORPUS) {
    const a = await settled(probesA.done.get(c.uri));
    rows.push({
      uri: c.uri,
      canonical: c.canonical,
      validator: typeof a === 'object' ? a.decisions : a,
      direct: typeof a === 'object' ? a.upstreams : a,
      viaNginx: await settled(probesB.done.get(c.uri)),
    });
  }
  fs.writeFileSync(file, JSON.stringify(rows, null, 1));
}
