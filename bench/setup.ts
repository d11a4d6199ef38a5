// Everything the cases need before the first request: keys, the issuer, token pools, the bench
// database on the Postgres server (if reachable), and the server processes.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startIssuer, type BenchIssuer } from './issuer';
import { makeKey, mintMany, mintOne, type BenchKey, type TokenSpec } from './tokens';

export const AUDIENCE = 'bench-api';
/** Distinct users behind the token pools (and the confirmed Supabase users seeded). */
export const USERS = 1000;
export const RULES = JSON.stringify({ 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] });

export interface Material {
  issuer: BenchIssuer;
  hsSecret: string;
  /** First-sight pools: every token distinct. */
  rsPool: string[];
  esPool: string[];
  hsPool: string[];
  /** The repeated token (RS256). */
  rsOne: string;
  /** One token per user (charged cases: each user's token repeats every USERS requests). */
  perUser: string[];
}

export async function makeMaterial(poolSize: number, say: (s: string) => void): Promise<Material> {
  const rs = makeKey('RS256', 'bench-rs-1');
  const es = makeKey('ES256', 'bench-es-1');
  const sbEs = makeKey('ES256', 'bench-sb-es-1');
  const issuer = await startIssuer([rs, es], [sbEs]);
  const hsSecret = randomBytes(32).toString('base64url');
  const hs: BenchKey = { alg: 'HS256', kid: '', private: hsSecret };
  const claims = { typ: 'Bearer', azp: 'bench-client', scope: 'api:read api:write' };
  const spec = (key: BenchKey, iss = issuer.realm, aud = AUDIENCE, extra: Record<string, unknown> = claims): TokenSpec => ({ key, iss, aud, claims: extra, users: USERS, ttlS: 3 * 3600 });
  const t0 = Date.now();
  const rsPool = await mintMany(spec(rs), poolSize);
  say(`  minted ${poolSize} RS256 tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const esPool = await mintMany(spec(es), poolSize);
  const sbClaims = { role: 'authenticated', aal: 'aal1', is_anonymous: false, session_id: 'bench', scope: 'api:read api:write' };
  const hsPool = await mintMany(spec(hs, `${issuer.supabaseUrl}/auth/v1`, 'authenticated', sbClaims), poolSize);
  return { issuer, hsSecret, rsPool, esPool, hsPool, rsOne: mintOne(spec(rs), 0), perUser: rsPool.slice(0, USERS) };
}

/** A fresh database on the server for the charged case, or why there is none. */
export async function benchDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> } | { skip: string }> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (e) {
    return { skip: `Postgres server at ${redact(adminUrl)} unreachable (${(e as Error).message}); set BENCH_DATABASE_URL` };
  }
  const name = `tollgate_bench_${randomBytes(4).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
