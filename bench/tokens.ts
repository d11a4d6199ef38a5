// Bench keys and tokens, signed with node:crypto directly (jose's async API would add nothing but
// time): RS256 and ES256 from one JWKS, HS256 with a Supabase-style secret. A large first-sight
// pool is signed in worker threads, one per core (an RSA-2048 signature costs ~0.5–1 ms).
import { createHmac, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { b64 } from '../devkit/issuer';
import { benchUserId } from './users';

export type Alg = 'RS256' | 'ES256' | 'HS256';

/** A signing key in a form a worker thread can take (setup.ts makes them). */
export interface BenchKey {
  alg: Alg;
  kid: string;
  /** PKCS#8 PEM (asymmetric) or the secret (HS256). */
  private: string;
}

export interface TokenSpec {
  key: BenchKey;
  iss: string;
  aud: string;
  /** Extra claims for every token. */
  claims?: Record<string, unknown>;
  /** Distinct subjects, cycled (`sub` of token i is benchUserId(i % users)). */
  users: number;
  /** Lifetime in seconds. */
  ttlS: number;
}

function signer(key: BenchKey): (data: string) => string {
  if (key.alg === 'HS256') return (d) => createHmac('sha256', key.private).update(d).digest('base64url');
  const k: KeyObject = createPrivateKey(key.private);
  if (key.alg === 'ES256') return (d) => sign('sha256', Buffer.from(d), { key: k, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return (d) => sign('sha256', Buffer.from(d), k).toString('base64url');
}

/** Tokens `from`..`to-1` of a spec: each one distinct (its own jti), so each is a first sight. */
function mintRange(spec: TokenSpec, from: number, to: number, nowS: number): string[] {
  const s = signer(spec.key);
  const header = b64(spec.key.alg === 'HS256' ? { alg: 'HS256', typ: 'JWT' } : { alg: spec.key.alg, kid: spec.key.kid, typ: 'JWT' });
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    const payload = b64({ iss: spec.iss, aud: spec.aud, sub: benchUserId(i % spec.users), iat: nowS, exp: nowS + spec.ttlS, jti: `b${i}`, ...spec.claims });
    const data = `${header}.${payload}`;
    out.push(`${data}.${s(data)}`);
  }
  return out;
}

/** `n` distinct tokens, signed in parallel worker threads when there are many. */
export async function mintMany(spec: TokenSpec, n: number): Promise<string[]> {
  const nowS = Math.floor(Date.now() / 1000);
  const workers = spec.key.alg === 'RS256' && n >= 2000 ? Math.max(1, os.availableParallelism()) : 1;
  if (workers === 1) return mintRange(spec, 0, n, nowS);
  const per = Math.ceil(n / workers);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const from = w * per;
      const to = Math.min(n, from + per);
      return new Promise<string[]>((resolve, reject) => {
        const worker = new Worker(__filename, { workerData: { spec, from, to, nowS } });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    }),
  );
  return parts.flat();
}

/** One token (the "repeated" cases). */
export const mintOne = (spec: TokenSpec, i = 0): string => mintRange(spec, i, i + 1, Math.floor(Date.now() / 1000))[0]!;

if (!isMainThread && workerData?.spec) {
  const { spec, from, to, nowS } = workerData as { spec: TokenSpec; from: number; to: number; nowS: number };
  parentPort!.postMessage(mintRange(spec, from, to, nowS));
}
