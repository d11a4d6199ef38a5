// Micro-benchmark of one signature verification, sequential, in this process: jose's jwtVerify
// (WebCrypto) against tollgate's synchronous verifyJwt (node:crypto), and fast-jwt when it can be
// loaded (`BENCH_FAST_JWT=/path/to/node_modules/fast-jwt`: it is not a dependency). Distinct tokens,
// so nothing is cached; CPU µs per verification (the libuv pool's threads included: WebCrypto's jobs
// run there), wall µs beside it.
//   node dist/bench/verify-micro.js [tokens per alg = 2000] [rounds = 5]
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { parseJws, verifyJwt, type JwtVerifyOptions } from '../validator/token/fast-verify';

const ISS = 'https://idp.example/realms/bench';
const AUD = 'bench-api';
import { say } from './harness';

type Alg = 'RS256' | 'ES256' | 'EdDSA' | 'HS256';
interface Material {
  alg: Alg;
  verifyKey: CryptoKey | Uint8Array;
  pem?: string;
  secret?: Buffer;
  tokens: string[];
  bad: string[];
}

async function material(alg: Alg, n: number): Promise<Material> {
  let sign: CryptoKey | KeyObject | Uint8Array;
  let verifyKey: CryptoKey | Uint8Array;
  let pem: string | undefined;
  let secret: Buffer | undefined;
  if (alg === 'HS256') {
    secret = Buffer.from('bench-secret-that-is-at-least-32-bytes-long!');
    sign = verifyKey = new Uint8Array(secret);
  } else {
    const pair =
      alg === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : alg === 'ES256'
          ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : generateKeyPairSync('ed25519');
    sign = pair.privateKey;
    // as the JWKS store imports it: the published JWK, for this alg
    verifyKey = (await importJWK({ ...pair.publicKey.export({ format: 'jwk' }), alg }, alg)) as CryptoKey;
    pem = pair.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  }
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    tokens.push(
      await new SignJWT({ iss: ISS, aud: AUD, sub: `user-${i}`, scope: 'api:read', azp: 'bench', jti: `j${i}` })
        .setProtectedHeader({ alg, typ: 'JWT', kid: 'k1' })
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(sign),
    );
  }
  // same tokens, one signature byte changed: a flood of well-formed forgeries
  const bad = tokens.map((t) => {
    const i = t.lastIndexOf('.') + 5;
    return t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
  });
  return { alg, verifyKey, pem, secret, tokens, bad };
}

const options = (alg: string): JwtVerifyOptions => ({ issuer: ISS, audience: [AUD], algorithms: [alg], clockTolerance: 30, requiredClaims: ['exp'] });

/** The part of fast-jwt's API used here (it is not a dependency, so no types). */
interface FastJwt {
  createVerifier(o: {
    key: string | Buffer;
    algorithms: string[];
    allowedIss: string;
    allowedAud: string;
    cache: boolean;
    clockTolerance: number;
  }): (token: string) => unknown;
}

interface Result {
  wallUs: number;
  cpuUs: number;
}

/** Runs `fn` over every token `rounds` times; the median round, per token. */
async function measure(tokens: string[], rounds: number, fn: (t: string) => unknown): Promise<Result> {
  const runs: Result[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const t of tokens) await fn(t);
    const wall = Number(process.hrtime.bigint() - t0) / 1000;
    const c = process.cpuUsage(c0);
    if (r > 0) runs.push({ wallUs: wall / tokens.length, cpuUs: (c.user + c.system) / tokens.length }); // round 0 warms up
  }
  // CPU time, not wall time, orders the rounds: on a shared machine a round's wall time includes
  // the time other processes held the core
  runs.sort((a, b) => a.cpuUs - b.cpuUs);
  return runs[Math.floor(runs.length / 2)]!;
}

const refused = (fn: (t: string) => unknown) => async (t: string) => {
  try {
    await fn(t);
  } catch {
    return; // the refusal is the expected outcome
  }
  throw new Error('a forged token was accepted');
};

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 2000);
  const rounds = Number(process.argv[3] ?? 5);
  const fastJwt = process.env.BENCH_FAST_JWT ? (require(process.env.BENCH_FAST_JWT) as FastJwt) : undefined;
  say(
    `verify micro-benchmark: ${n} distinct tokens per alg, ${rounds} rounds (median), Node ${process.version}, sequential; CPU µs per verification (all threads), wall in brackets`,
  );
  say('| alg | jose jwtVerify | tollgate verifyJwt | speed-up | fast-jwt | forged: jose | forged: verifyJwt |');
  say('|---|---:|---:|---:|---:|---:|---:|');
  const fmt = (r: Result) => `${r.cpuUs.toFixed(1)} µs (wall ${r.wallUs.toFixed(1)})`;
  for (const alg of ['RS256', 'ES256', 'EdDSA', 'HS256'] as const) {
    const m = await material(alg, n);
    const o = options(alg);
    const joseOptions = { issuer: ISS, audience: [AUD], algorithms: [alg], clockTolerance: 30, requiredClaims: ['exp'] };
    const jose = await measure(m.tokens, rounds, (t) => jwtVerify(t, m.verifyKey, joseOptions));
    const fast = await measure(m.tokens, rounds, (t) => verifyJwt(t, m.verifyKey, o));
    let fj = '—';
    if (fastJwt) {
      const verifier = fastJwt.createVerifier({
        key: alg === 'HS256' ? m.secret! : m.pem!,
        algorithms: [alg],
        allowedIss: ISS,
        allowedAud: AUD,
        cache: false,
        clockTolerance: 30_000,
      });
      fj = fmt(await measure(m.tokens, rounds, (t) => verifier(t)));
    }
    const joseBad = await measure(
      m.bad,
      rounds,
      refused((t) => jwtVerify(t, m.verifyKey, joseOptions)),
    );
    const fastBad = await measure(
      m.bad,
      rounds,
      refused((t) => verifyJwt(t, m.verifyKey, o)),
    );
    say(`| ${alg} | ${fmt(jose)} | ${fmt(fast)} | ${(jose.cpuUs / fast.cpuUs).toFixed(1)}× | ${fj} | ${fmt(joseBad)} | ${fmt(fastBad)} |`);
    if (alg === 'RS256') {
      const dec = await measure(m.tokens, rounds, (t) => [decodeProtectedHeader(t), decodeJwt(t)]);
      const parse = await measure(m.tokens, rounds, (t) => parseJws(t));
      say(`| (decoding before issuer selection) | jose decodeProtectedHeader + decodeJwt ${fmt(dec)} | parseJws ${fmt(parse)} | | | | |`);
    }
  }
}

main().catch((e: Error) => {
  process.stderr.write(`verify-micro: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
