// Micro-benchmark of one cached decision through the server's request listener, in this process:
// the validate handler, the pipeline and the decision's log line (to a discarding stream), with
// in-memory request/response objects instead of sockets, so that a few tens of nanoseconds show.
// Variants: without and with a client `traceparent` (tracing off, the default). Used to check that
// tracing costs nothing when it is off; the same file runs against an older build to compare.
//   node dist/bench/decision-micro.js [decisions per round = 200000] [rounds = 7]
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { parseConfig } from '../validator/config';
import { createApp } from '../validator/http/app';
import { createLogger } from '../validator/observability/logger';
import { createMetrics } from '../validator/observability/metrics';
import { TokenVerifier } from '../validator/token/verify';

import { driveDecisions, fakeReq, say } from './harness';
const ISS = 'https://idp.example/realms/bench';
const SECRET = 'bench-secret-that-is-at-least-32-bytes-long!';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const rounds = Number(process.argv[3] ?? 7);
  const config = parseConfig({
    NODE_ENV: 'test',
    AUTH_MODE: 'hs256',
    AUTH_ISSUER: ISS,
    AUTH_AUDIENCE: 'api',
    AUTH_JWT_SECRET: SECRET,
    QUOTA_ROUTES: ',',
    DATA_DIR: 'memory://',
  });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const logger = createLogger('info', sink);
  const metrics = createMetrics({ defaults: false });
  const verifier = new TokenVerifier({ config, metrics, log: logger });
  const { listener } = createApp({ config, verifier, metrics, logger });
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: 'bench', scope: 'api:read' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISS)
    .setAudience('api')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(SECRET));
  const base = { authorization: `Bearer ${token}`, 'x-original-method': 'GET', 'x-original-uri': '/api/things?page=2', 'x-request-id': 'bench-request-0001' };
  const variants: Array<[string, Record<string, string>]> = [
    ['no traceparent', base],
    ['traceparent', { ...base, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'congo=t61rcWkgMzE' }],
  ];

  const round = async (headers: Record<string, string>): Promise<number> => {
    const req = fakeReq(headers);
    const started = process.hrtime.bigint();
    await driveDecisions(listener, n, () => req);
    return Number(process.hrtime.bigint() - started) / n;
  };

  for (const [, h] of variants) await round(h); // warm-up: JIT, the verified-token cache
  const results = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) for (const [name, h] of variants) results.get(name)!.push(await round(h));
  say(`decision through the listener, cached token, ${n} decisions x ${rounds} rounds (ns per decision: median, min)`);
  for (const [name, ns] of results) {
    const s = [...ns].sort((a, b) => a - b);
    say(`  ${name.padEnd(16)} median ${s[Math.floor(s.length / 2)]!.toFixed(0).padStart(6)}  min ${s[0]!.toFixed(0).padStart(6)}`);
  }
  verifier.close();
}

void main();
