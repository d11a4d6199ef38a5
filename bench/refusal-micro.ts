// What a refusal costs, in this process. A refusal is an expected outcome (a forged-token flood is
// nothing but refusals), so AuthError takes no stack trace; this measures what that saves.
//   1. construct + throw + catch one AuthError ten frames deep (a pipeline stage's depth): as it is
//      now, and with the stack trace the Error constructor used to capture (Error.captureStackTrace
//      on the same object, which is the same work), and a plain Error for reference;
//   2. whole decisions through the server's request listener (validate handler, pipeline, log line
//      to a discarding stream; in-memory request/response, as decision-micro.ts): an HS256 token seen
//      for the first time, granted, against a well-formed token whose signature is wrong, refused.
//      BENCH_COMPARE_DIST=/other/build/dist runs the same decisions through that build too.
//   node dist/bench/refusal-micro.js [refusals per round = 200000] [rounds = 7]
import type { RequestListener } from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { AuthError } from '../validator/errors';
import { mintMany } from './tokens';

import { driveDecisions, fakeReq, say } from './harness';
const ISS = 'https://idp.example/realms/bench';
const SECRET = 'bench-secret-that-is-at-least-32-bytes-long!';
/** Frames between the throw and the catch: about a pipeline stage's depth, and V8's default stackTraceLimit. */
const DEPTH = 10;

/** AuthError with the stack trace its constructor captured before refusals went stackless. */
class StackedAuthError extends AuthError {
  constructor(message: string) {
    super('signature_invalid', message);
    Error.captureStackTrace(this, new.target);
  }
}

function deep(d: number, fail: () => never): never {
  return d === 0 ? fail() : deep(d - 1, fail);
}

/** CPU time (all threads of this process, µs) since `from`: the shared machine's other work stays out. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

/** CPU ns per construct + throw + catch (the messages' length is kept so nothing is optimised away). */
function throwRound(n: number, make: () => Error): number {
  let sink = 0;
  const fail = (): never => {
    throw make();
  };
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    try {
      deep(DEPTH, fail);
    } catch (e) {
      sink += (e as Error).message.length;
    }
  }
  const ns = (cpuSince(t0) * 1000) / n;
  if (sink === 0) throw new Error('unreachable');
  return ns;
}

interface Build {
  name: string;
  listener: RequestListener;
  close(): void;
}

/** The production listener of the build in `dist` (this one by default), HS256, logging to a discarding stream. */
function build(name: string, dist: string): Build {
  const req = (m: string) => require(path.join(dist, m));
  const { parseConfig } = req('validator/config');
  const { createApp } = req('validator/http/app');
  const { createLogger } = req('validator/observability/logger');
  const { createMetrics } = req('validator/observability/metrics');
  const { TokenVerifier } = req('validator/token/verify');
  const config = parseConfig({
    NODE_ENV: 'test',
    AUTH_MODE: 'hs256',
    AUTH_ISSUER: ISS,
    AUTH_AUDIENCE: 'api',
    AUTH_JWT_SECRET: SECRET,
    QUOTA_ROUTES: ',',
    DATA_DIR: 'memory://',
  });
  const logger = createLogger('info', new Writable({ write: (_c, _e, cb) => cb() }));
  const metrics = createMetrics({ defaults: false });
  const verifier = new TokenVerifier({ config, metrics, log: logger });
  const { listener } = createApp({ config, verifier, metrics, logger });
  return { name, listener, close: () => verifier.close() };
}

/** CPU ns per decision, 64 in flight, each request the next token of the pool; `statuses` counts the answers. */
async function decisionRound(b: Build, tokens: string[], from: number, n: number, statuses: Map<number, number>): Promise<number> {
  const started = process.cpuUsage();
  await driveDecisions(
    b.listener,
    n,
    (i) => fakeReq({ authorization: `Bearer ${tokens[(from + i) % tokens.length]!}`, 'x-original-method': 'GET', 'x-original-uri': '/api/things' }),
    (status) => statuses.set(status, (statuses.get(status) ?? 0) + 1),
  );
  return (cpuSince(started) * 1000) / n;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, min: s[0]! };
};
const us = (ns: number) => (ns / 1000).toFixed(2).padStart(7);

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const rounds = Number(process.argv[3] ?? 7);

  const throwing: Array<[string, () => Error]> = [
    ['AuthError (stackless, now)', () => new AuthError('signature_invalid', 'token signature verification failed')],
    ['AuthError with a stack (before)', () => new StackedAuthError('token signature verification failed')],
    ['plain Error (reference)', () => new Error('token signature verification failed')],
  ];
  const tr = new Map<string, number[]>(throwing.map(([k]) => [k, []]));
  for (const [, make] of throwing) throwRound(n / 10, make); // warm-up
  for (let r = 0; r < rounds; r++) for (const [k, make] of throwing) tr.get(k)!.push(throwRound(n, make));
  say(`construct + throw + catch, ${DEPTH} frames deep, ${n} x ${rounds} rounds (CPU µs per refusal)`);
  for (const [k, xs] of tr) {
    const s = stats(xs);
    say(`  ${k.padEnd(34)} median ${us(s.median)}  min ${us(s.min)}`);
  }

  // Decisions: pools larger than the verified-token cache (10,000), so a good token is never a hit.
  const pool = 20_000;
  const good = await mintMany(
    { key: { alg: 'HS256', kid: '', private: SECRET }, iss: ISS, aud: 'api', users: 1000, ttlS: 3600, claims: { scope: 'api:read' } },
    pool,
  );
  // one signature character changed in the middle: well-formed, canonical, wrong
  const bad = good.map((t) => {
    const i = t.lastIndexOf('.') + 10;
    return t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
  });
  const builds = [build('this build', path.join(__dirname, '..'))];
  if (process.env.BENCH_COMPARE_DIST) builds.push(build('BENCH_COMPARE_DIST', path.resolve(process.env.BENCH_COMPARE_DIST)));
  const perDecision = Math.min(n / 4, pool);
  const variants = builds.flatMap((b) => [
    { name: `${b.name}: first sight, granted`, b, tokens: good, ns: [] as number[], statuses: new Map<number, number>() },
    { name: `${b.name}: bad signature, refused`, b, tokens: bad, ns: [] as number[], statuses: new Map<number, number>() },
  ]);
  for (const v of variants) await decisionRound(v.b, v.tokens, 0, perDecision, new Map()); // warm-up
  let offset = perDecision;
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) v.ns.push(await decisionRound(v.b, v.tokens, offset, perDecision, v.statuses));
    offset += perDecision;
  }
  say(`\ndecisions through the listener (HS256, distinct tokens, 64 in flight), ${perDecision} x ${rounds} rounds (CPU µs per decision)`);
  for (const v of variants) {
    const s = stats(v.ns);
    say(`  ${v.name.padEnd(40)} median ${us(s.median)}  min ${us(s.min)}  statuses ${JSON.stringify(Object.fromEntries(v.statuses))}`);
  }
  for (const b of builds) b.close();
}

void main();
