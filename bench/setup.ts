// Everything the cases need before the first request: keys, the issuers, token pools, and the
// bench database on the Postgres server (if reachable).
import { randomBytes } from 'node:crypto';
import { exportPKCS8 } from 'jose';
import { makeKey, TestIssuer, type TestKey } from '../devkit/issuer';
import { freshServerDatabase, type FreshDatabase } from '../devkit/pg';
import { redactUrl } from '../validator/observability/redact-url';
import { mintMany, mintOne, type BenchKey, type TokenSpec } from './tokens';

export const AUDIENCE = 'bench-api';
/** Distinct users behind the token pools (and the confirmed Supabase users seeded). */
export const USERS = 1000;
export const RULES = JSON.stringify({ 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] });

export interface BenchIssuer {
  /** Keycloak-shaped issuer: `http://127.0.0.1:PORT/realms/bench`. */
  realm: string;
  realmJwks: string;
  /** SUPABASE_URL; the Supabase issuer is `${supabaseUrl}/auth/v1`. */
  supabaseUrl: string;
  stop(): Promise<void>;
}

/** A Keycloak-shaped realm (its paths, so the peers' discovery reads what it reads in production) and a Supabase project. */
async function startIssuers(realmKeys: TestKey[], supabaseKeys: TestKey[]): Promise<BenchIssuer> {
  const realm = await TestIssuer.start(realmKeys, '/realms/bench', { jwksPath: '/protocol/openid-connect/certs' });
  const supabase = await TestIssuer.start(supabaseKeys, '/auth/v1');
  return {
    realm: realm.issuer,
    realmJwks: realm.jwksUrl,
    supabaseUrl: new URL(supabase.issuer).origin,
    stop: async () => {
      await realm.stop();
      await supabase.stop();
    },
  };
}

/** The PEM form the signing workers take: a CryptoKey cannot be posted to a worker thread. */
async function pem(k: TestKey): Promise<BenchKey> {
  return { alg: k.alg as BenchKey['alg'], kid: k.kid, private: await exportPKCS8(k.privateKey) };
}

export interface Material {
  issuer: BenchIssuer;
  hsSecret: string;
  /** First-sight pools: every token distinct. */
  rsPool: string[];
  esPool: string[];
  hsPool: string[];
  /**
   * A forged-token flood: the RS256 pool with one signature character changed in each token, so
   * every token is well-formed, names a key the JWKS has, the right issuer and audience, and is new;
   * only the signature check refuses it (401).
   */
  badSigPool: string[];
  /** The repeated token (RS256). */
  rsOne: string;
  /** One token per user (charged cases: each user's token repeats every USERS requests). */
  perUser: string[];
}

export async function makeMaterial(poolSize: number, say: (s: string) => void): Promise<Material> {
  const [rsKey, esKey, sbEs] = await Promise.all([makeKey('RS256', 'bench-rs-1'), makeKey('ES256', 'bench-es-1'), makeKey('ES256', 'bench-sb-es-1')]);
  const issuer = await startIssuers([rsKey, esKey], [sbEs]);
  const [rs, es] = await Promise.all([pem(rsKey), pem(esKey)]);
  const hsSecret = randomBytes(32).toString('base64url');
  const hs: BenchKey = { alg: 'HS256', kid: '', private: hsSecret };
  const claims = { typ: 'Bearer', azp: 'bench-client', scope: 'api:read api:write' };
  const spec = (key: BenchKey, iss = issuer.realm, aud = AUDIENCE, extra: Record<string, unknown> = claims): TokenSpec => ({
    key,
    iss,
    aud,
    claims: extra,
    users: USERS,
    ttlS: 3 * 3600,
  });
  const t0 = Date.now();
  const rsPool = await mintMany(spec(rs), poolSize);
  say(`  minted ${poolSize} RS256 tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const esPool = await mintMany(spec(es), poolSize);
  const sbClaims = { role: 'authenticated', aal: 'aal1', is_anonymous: false, session_id: 'bench', scope: 'api:read api:write' };
  const hsPool = await mintMany(spec(hs, `${issuer.supabaseUrl}/auth/v1`, 'authenticated', sbClaims), poolSize);
  return { issuer, hsSecret, rsPool, esPool, hsPool, badSigPool: rsPool.map(forgeSignature), rsOne: mintOne(spec(rs), 0), perUser: rsPool.slice(0, USERS) };
}

/**
 * The same token with its signature's 11th character changed (A ↔ B): still canonical base64url of
 * the same length (the last character, whose pad bits are checked, is left alone), no longer valid.
 */
export function forgeSignature(token: string): string {
  const i = token.lastIndexOf('.') + 11;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

/** A fresh database on the server for the charged case, or why there is none. */
export async function benchDatabase(adminUrl: string): Promise<FreshDatabase | { skip: string }> {
  try {
    return await freshServerDatabase(adminUrl, { prefix: 'tollgate_bench' });
  } catch (e) {
    return { skip: `Postgres server at ${redactUrl(adminUrl)} unreachable (${(e as Error).message}); set BENCH_DATABASE_URL` };
  }
}
