// The bench's cases: what runs where, and what each one sends. Every server is its own process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findNginx, startLocalGateway, type Gateway } from '../devkit/nginx';
import { childrenOf } from '../devkit/proc';
import { benchExecArgv, startBenchServer, storeEnv, tollgateEnv, type BenchServer } from './harness';
import { AUDIENCE, USERS, type Material } from './setup';
import type { LoadSpec } from './load';

export interface Case {
  id: string;
  label: string;
  /** `node`: compared with bare Express; `gateway`: compared with NGINX without auth. */
  group: 'node' | 'gateway';
  /** Why the case cannot run here (it is then reported as skipped). */
  skip?: string;
  /** What to send (pool cases take a new token for every request). */
  load?: Omit<LoadSpec, 'seconds' | 'connections' | 'tokenOffset'>;
  /** Processes whose memory counts for this case (summed). */
  pids: number[];
  /** tollgate's /metrics, to check the cache behaved as the case says. */
  metricsUrl?: string;
  /** `first`: the pool must never hit the verified-token cache. */
  expectCache?: 'first' | 'repeated';
  /** The status every answer should have (default 200, a grant); any other is counted as unexpected. */
  expectStatus?: number;
}

export interface Env {
  m: Material;
  /** Bench database on the Postgres server, or why there is none. */
  db: { url: string } | { skip: string };
  logDir: string;
  /** Extra Node flags for the tollgate processes (profiling). */
  execArgv?: string;
}

const VALIDATE = '/api/auth/validate';
const asGet = { 'X-Original-Method': 'GET', 'X-Original-URI': '/api/things' };
const asCharged = { 'X-Original-Method': 'POST', 'X-Original-URI': '/api/tasks' };

export interface Running {
  cases: Case[];
  stop(): Promise<void>;
}

/** Starts every server (in parallel) and returns the cases, in their canonical order. */
export async function startCases(e: Env, wanted: (id: string) => boolean): Promise<Running> {
  const { m, logDir } = e;
  const procs: BenchServer[] = [];
  const gateways: Gateway[] = [];
  const serverDb = 'url' in e.db ? e.db.url : undefined;
  const start = async (name: string, script: string, env: Record<string, string | undefined>) => {
    const p = await startBenchServer(name, script, env, logDir, { execArgv: script === 'tollgate' ? benchExecArgv(e.execArgv) : [] });
    procs.push(p);
    return p;
  };
  // tollgate as deployed: production settings, one JSON log line per decision to stdout (a file here),
  // quota store on the Postgres server when there is one, else the embedded one.
  const tollgate = (name: string, extra: Record<string, string | undefined> = {}) =>
    start(name, 'tollgate', tollgateEnv(m.issuer.realm, { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', ...storeEnv(e.db), ...extra }));
  const peerEnv = { BENCH_ISSUER: m.issuer.realm, BENCH_AUDIENCE: AUDIENCE, BENCH_JWKS_URL: m.issuer.realmJwks };
  const dirs: string[] = [];
  const tmpDir = (n: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `tollgate-bench-${n}-`));
    dirs.push(d);
    return d;
  };

  type Def = { id: string; label: string; group: Case['group']; skip?: string; run: () => Promise<Omit<Case, 'id' | 'label' | 'group'>> };
  const node = (p: BenchServer, load: Omit<NonNullable<Case['load']>, 'url'>, more: Partial<Case> = {}) => ({
    pids: [p.pid],
    load: { ...load, url: p.url },
    ...more,
  });
  const defs: Def[] = [
    {
      id: 'express-bare',
      label: 'bare Express 5 route (baseline)',
      group: 'node',
      run: async () => node(await start('express-bare', 'express-bare', {}), { path: VALIDATE, headers: { ...asGet, authorization: `Bearer ${m.rsOne}` } }),
    },
    {
      id: 'node-raw',
      label: 'raw node:http, SHA-256 + Map (ceiling)',
      group: 'node',
      run: async () =>
        node(await start('node-raw', 'node-raw', { BENCH_TOKEN: m.rsOne }), { path: VALIDATE, headers: { ...asGet, authorization: `Bearer ${m.rsOne}` } }),
    },
    {
      id: 'tollgate-repeated',
      label: 'tollgate RS256, repeated token',
      group: 'node',
      run: async () => {
        const p = await tollgate('tollgate-repeated');
        return node(
          p,
          { path: VALIDATE, headers: { ...asGet, authorization: `Bearer ${m.rsOne}` } },
          { metricsUrl: `${p.url}/metrics`, expectCache: 'repeated' },
        );
      },
    },
    {
      id: 'tollgate-rs256-first',
      label: 'tollgate RS256, first sight',
      group: 'node',
      run: async () => {
        const p = await tollgate('tollgate-rs256-first');
        return node(p, { path: VALIDATE, headers: asGet, tokens: m.rsPool }, { metricsUrl: `${p.url}/metrics`, expectCache: 'first' });
      },
    },
    {
      id: 'tollgate-es256-first',
      label: 'tollgate ES256, first sight',
      group: 'node',
      run: async () => {
        const p = await tollgate('tollgate-es256-first');
        return node(p, { path: VALIDATE, headers: asGet, tokens: m.esPool }, { metricsUrl: `${p.url}/metrics`, expectCache: 'first' });
      },
    },
    {
      id: 'tollgate-hs256-first',
      label: 'tollgate HS256 (Supabase), first sight',
      group: 'node',
      run: async () => {
        const p = await tollgate('tollgate-hs256-first', {
          AUTH_MODE: 'supabase',
          AUTH_ISSUER: undefined,
          AUTH_AUDIENCE: undefined,
          SUPABASE_URL: m.issuer.supabaseUrl,
          SUPABASE_JWT_SECRET: m.hsSecret,
          BENCH_SEED_CONFIRMED: String(USERS),
          ...(serverDb ? {} : { DATA_DIR: tmpDir('supabase') }),
        });
        return node(p, { path: VALIDATE, headers: asGet, tokens: m.hsPool }, { metricsUrl: `${p.url}/metrics`, expectCache: 'first' });
      },
    },
    {
      id: 'tollgate-badsig-flood',
      label: 'tollgate RS256, bad-signature flood (401)',
      group: 'node',
      run: async () => {
        const p = await tollgate('tollgate-badsig-flood');
        return node(p, { path: VALIDATE, headers: asGet, tokens: m.badSigPool }, { metricsUrl: `${p.url}/metrics`, expectCache: 'first', expectStatus: 401 });
      },
    },
    {
      id: 'charged-embedded',
      label: 'tollgate charged POST /api/tasks, embedded Postgres',
      group: 'node',
      run: async () => {
        // On disk, as deployed (memory:// holds the whole cluster in JS memory as well: dev and tests only)
        const p = await tollgate('charged-embedded', { DATABASE_URL: undefined, DATA_DIR: tmpDir('embedded') });
        return node(p, { path: VALIDATE, headers: asCharged, tokens: m.perUser }, { metricsUrl: `${p.url}/metrics` });
      },
    },
    {
      id: 'charged-server',
      label: 'tollgate charged POST /api/tasks, Postgres server',
      group: 'node',
      skip: serverDb ? undefined : (e.db as { skip: string }).skip,
      run: async () => {
        const p = await tollgate('charged-server');
        return node(p, { path: VALIDATE, headers: asCharged, tokens: m.perUser }, { metricsUrl: `${p.url}/metrics` });
      },
    },
    {
      id: 'auth0-repeated',
      label: 'express-oauth2-jwt-bearer, repeated token',
      group: 'node',
      run: async () =>
        node(await start('auth0-repeated', 'peer-auth0', peerEnv), { path: VALIDATE, headers: { ...asGet, authorization: `Bearer ${m.rsOne}` } }),
    },
    {
      id: 'auth0-first',
      label: 'express-oauth2-jwt-bearer, first sight',
      group: 'node',
      run: async () => node(await start('auth0-first', 'peer-auth0', peerEnv), { path: VALIDATE, headers: asGet, tokens: m.rsPool }),
    },
    {
      id: 'expressjwt-repeated',
      label: 'express-jwt + jwks-rsa, repeated token',
      group: 'node',
      run: async () =>
        node(await start('expressjwt-repeated', 'peer-express-jwt', peerEnv), { path: VALIDATE, headers: { ...asGet, authorization: `Bearer ${m.rsOne}` } }),
    },
    {
      id: 'expressjwt-first',
      label: 'express-jwt + jwks-rsa, first sight',
      group: 'node',
      run: async () => node(await start('expressjwt-first', 'peer-express-jwt', peerEnv), { path: VALIDATE, headers: asGet, tokens: m.rsPool }),
    },
  ];

  // The gateway: the repository's NGINX templates before one upstream app. /api/public/* is proxied
  // without auth (the baseline); /api/things goes through auth_request to the case's validators.
  const nginx = findNginx();
  const gwSkip = nginx ? undefined : 'nginx is not installed (apt-get install nginx)';
  // Shared by the gateway cases: one upstream app and one tollgate.
  let shared: Promise<{ upstream: BenchServer; validator: BenchServer }> | undefined;
  const backends = () =>
    (shared ??= (async () => {
      const [upstream, validator] = await Promise.all([start('upstream', 'upstream', {}), tollgate('tollgate-gateway')]);
      return { upstream, validator };
    })());
  // NGINX alone answers ~100,000 req/s here: the limits sit ten times above that
  const rate = { GATEWAY_RATE_PER_IP: '1000000r/s', GATEWAY_RATE_PER_CREDENTIAL: '1000000r/s' };
  // One NGINX per set of validator addresses and cache setting: cases that ask for the same one share it
  // (the no-auth baseline and the plain auth case are two locations of one NGINX).
  const nginxes = new Map<string, Promise<Gateway>>();
  const gatewayFor = async (addresses: string[], cache: 'on' | 'off') => {
    const { upstream } = await backends();
    const key = `${addresses.join(' ')} cache=${cache}`;
    if (!nginxes.has(key)) {
      const g = startLocalGateway({
        validators: addresses,
        apps: [`127.0.0.1:${upstream.port}`],
        publicPaths: ['/api/public/*'],
        vars: { ...rate, GATEWAY_AUTH_CACHE: cache },
      });
      nginxes.set(key, g);
      gateways.push(await g);
    }
    return nginxes.get(key)!;
  };
  const tcp = (p: BenchServer) => `127.0.0.1:${p.port}`;
  const gwPids = (g: Gateway, ...more: BenchServer[]) => [...childrenOf(g.pid), ...more.map((p) => p.pid)];

  /**
   * The auth_request cases, one entry each: the validator processes behind NGINX and their
   * addresses (`host:port`, or `unix:/abs/path` for a validator started with LISTEN_SOCKET).
   * Each is compared with `nginx-noauth`. Validators may be shared between cases, so only a case
   * with `metrics` reads the first one's cache counters (they then include the other cases' traffic).
   */
  const gatewayCases: Array<{
    id: string;
    label: string;
    cache?: 'on' | 'off';
    metrics?: boolean;
    validators: () => Promise<{ procs: BenchServer[]; addresses: string[] }>;
  }> = [
    {
      id: 'nginx-auth',
      label: 'NGINX auth_request → tollgate → upstream',
      metrics: true,
      validators: async () => {
        const { validator } = await backends();
        return { procs: [validator], addresses: [tcp(validator)] };
      },
    },
    {
      id: 'nginx-auth-unix',
      label: 'NGINX auth_request → tollgate over a Unix socket → upstream',
      validators: async () => {
        // NGINX's workers run as nobody when the bench runs as root: a searchable dir, a 0666 socket
        const dir = tmpDir('socket');
        fs.chmodSync(dir, 0o711);
        const sock = path.join(dir, 'tollgate.sock');
        const v = await tollgate('tollgate-gateway-unix', { LISTEN_SOCKET: sock, LISTEN_SOCKET_MODE: '0666' });
        return { procs: [v], addresses: [`unix:${sock}`] };
      },
    },
    {
      id: 'nginx-auth-x2',
      label: 'NGINX auth_request → 2 tollgate processes → upstream',
      validators: async () => {
        const [{ validator }, second] = await Promise.all([backends(), tollgate('tollgate-gateway-2')]);
        return { procs: [validator, second], addresses: [tcp(validator), tcp(second)] };
      },
    },
    {
      id: 'nginx-edge-cache',
      label: 'NGINX auth_request + edge decision cache → upstream',
      cache: 'on',
      validators: async () => {
        const { validator } = await backends();
        return { procs: [validator], addresses: [tcp(validator)] };
      },
    },
  ];
  defs.push(
    {
      id: 'nginx-noauth',
      label: 'NGINX → upstream, no auth (baseline)',
      group: 'gateway',
      skip: gwSkip,
      run: async () => {
        const { upstream, validator } = await backends();
        const g = await gatewayFor([tcp(validator)], 'off');
        return { pids: gwPids(g, upstream), load: { url: g.httpsUrl, path: '/api/public/things', headers: {} } };
      },
    },
    ...gatewayCases.map(
      (c): Def => ({
        id: c.id,
        label: c.label,
        group: 'gateway',
        skip: gwSkip,
        run: async () => {
          const [{ upstream }, { procs, addresses }] = await Promise.all([backends(), c.validators()]);
          const g = await gatewayFor(addresses, c.cache ?? 'off');
          return {
            pids: gwPids(g, upstream, ...procs),
            load: { url: g.httpsUrl, path: '/api/things', headers: { authorization: `Bearer ${m.rsOne}` } },
            ...(c.metrics ? { metricsUrl: `${procs[0]!.url}/metrics`, expectCache: 'repeated' as const } : {}),
          };
        },
      }),
    ),
  );

  const stop = async () => {
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await Promise.allSettled(procs.map((p) => p.stop()));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  };
  const chosen = defs.filter((d) => wanted(d.id));
  const started = await Promise.allSettled(
    chosen.map(
      async (d): Promise<Case> =>
        d.skip ? { id: d.id, label: d.label, group: d.group, skip: d.skip, pids: [] } : { id: d.id, label: d.label, group: d.group, ...(await d.run()) },
    ),
  );
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { cases: started.map((r) => (r as PromiseFulfilledResult<Case>).value), stop };
}
