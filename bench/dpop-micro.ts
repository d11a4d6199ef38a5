// Micro-benchmark: what a DPoP proof adds to a decision. Cached decisions through the server's
// request listener, in this process (as bench/decision-micro.ts does), for a bearer token and for a
// DPoP-bound one with a fresh proof per request (ES256, EdDSA, RS256 client keys), the replay check
// in this process's cache; with TEST_DATABASE_URL, also with the replay check in a Postgres server
// (a scratch database, dropped at the end). Proofs are made beforehand and are not timed.
//   node dist/bench/dpop-micro.js [decisions per round = 20000] [rounds = 5]
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { dpopClient, type DpopAlg } from '../devkit/dpop';
import { freshServerDatabase } from '../devkit/pg';
import { parseConfig, type Config } from '../validator/config';
import { createApp } from '../validator/http/app';
import { createLogger } from '../validator/observability/logger';
import { createMetrics } from '../validator/observability/metrics';
import { openStore } from '../validator/store';
import type { QuotaStore } from '../validator/store/types';
import { TokenVerifier } from '../validator/token/verify';

import { driveDecisions, fakeReq, say } from './harness';
const ISS = 'https://idp.example/realms/bench';
const SECRET = 'bench-secret-that-is-at-least-32-bytes-long!';
const ORIGIN = 'https://api.example.com';
const PATH = '/api/things';

const mint = (claims: Record<string, unknown>) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'bench', scope: 'api:read', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISS)
    .setAudience('api')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(SECRET));
};

/** ns per decision for `reqs` (each used once), 64 in flight; throws unless every one was granted. */
async function round(listener: (req: IncomingMessage, res: ServerResponse) => void, reqs: IncomingMessage[]): Promise<number> {
  let refused: string | undefined;
  const started = process.hrtime.bigint();
  await driveDecisions(
    listener,
    reqs.length,
    (i) => reqs[i]!,
    (status, body) => {
      if (status !== 200) refused ??= `${status}: ${body}`;
    },
  );
  const ns = Number(process.hrtime.bigint() - started) / reqs.length;
  if (refused) throw new Error(`a decision was refused (${refused})`);
  return ns;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20_000);
  const rounds = Number(process.argv[3] ?? 5);
  const config = parseConfig({
    NODE_ENV: 'test',
    AUTH_MODE: 'hs256',
    AUTH_ISSUER: ISS,
    AUTH_AUDIENCE: 'api',
    AUTH_JWT_SECRET: SECRET,
    QUOTA_ROUTES: ',',
    AUTH_DPOP: 'allowed',
    AUTH_PUBLIC_ORIGIN: ORIGIN,
  });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const logger = createLogger('info', sink);
  const listenerWith = (c: Config, store?: QuotaStore) => {
    const metrics = createMetrics({ defaults: false });
    const verifier = new TokenVerifier({ config: c, metrics, log: logger });
    return { listener: createApp({ config: c, verifier, metrics, logger, store }).listener, verifier };
  };
  const original = { 'x-original-method': 'GET', 'x-original-uri': `${PATH}?page=2`, 'x-request-id': 'bench-request-0001' };
  const bearer = await mint({});
  const results: Array<[string, number[]]> = [];
  const measure = async (name: string, listener: (req: IncomingMessage, res: ServerResponse) => void, make: () => Promise<IncomingMessage[]>) => {
    await round(listener, await make()); // warm-up: JIT, the verified-token cache, the client's key
    const ns: number[] = [];
    for (let r = 0; r < rounds; r++) ns.push(await round(listener, await make()));
    results.push([name, ns]);
  };

  const local = listenerWith(config);
  const bearerReq = fakeReq({ authorization: `Bearer ${bearer}`, ...original });
  await measure('bearer', local.listener, async () => Array.from({ length: n }, () => bearerReq));
  /** A client of `alg`, its bound token, and a maker of `count` requests with fresh proofs (made just before a round: iat stays in the window). */
  const dpopRequests = async (alg: DpopAlg, count: number) => {
    const client = await dpopClient(alg);
    const token = await mint({ cnf: { jkt: client.jkt } });
    return async () => {
      const proofs = await Promise.all(Array.from({ length: count }, () => client.proof({ method: 'GET', url: `${ORIGIN}${PATH}`, accessToken: token })));
      return proofs.map((p) => fakeReq({ authorization: `DPoP ${token}`, dpop: p, ...original }));
    };
  };
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) await measure(`DPoP ${alg}, local`, local.listener, await dpopRequests(alg, n));
  local.verifier.close();

  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    const db = await freshServerDatabase(adminUrl, { prefix: 'tollgate_bench_dpop' });
    const store = await openStore({ ...config.database, url: db.url, dataDir: '', migrate: true });
    try {
      const pg = listenerWith(config, store);
      await measure('DPoP ES256, Postgres', pg.listener, await dpopRequests('ES256', Math.min(n, 5000)));
      pg.verifier.close();
    } finally {
      await store.close();
      await db.drop();
    }
  }

  say(`cached decisions through the listener, ${n} per round x ${rounds} rounds, 64 in flight (µs per decision: median, min)`);
  const base = [...results[0]![1]].sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
  for (const [name, ns] of results) {
    const s = [...ns].sort((a, b) => a - b);
    const med = s[Math.floor(s.length / 2)]!;
    say(
      `  ${name.padEnd(22)} median ${(med / 1000).toFixed(1).padStart(7)}  min ${(s[0]! / 1000).toFixed(1).padStart(7)}  (${(med / base).toFixed(1)}x bearer)`,
    );
  }
}

void main();
