// Readiness: every configured issuer has usable keys and the database answers.
import type { Metrics } from '../observability/metrics';
import type { QuotaStore } from '../store/types';
import type { TokenVerifier } from '../token/verify';

export interface Readiness {
  ready: boolean;
  issuers: Array<{ issuer: string; kind: string; usable: boolean; stale: boolean; keys: number; lastSuccessAt?: string; lastError?: string }>;
  database: { kind?: string; ok: boolean; error?: string };
  missing: string[];
}

const PING_TIMEOUT_MS = 2000;

export async function readiness(verifier: TokenVerifier, store: QuotaStore | undefined, metrics: Metrics): Promise<Readiness> {
  const issuers = verifier.status().map(({ issuer, kind, usable, stale, keys, lastSuccessAt, lastError }) => ({ issuer, kind, usable, stale, keys, lastSuccessAt, lastError }));
  const missing = issuers.filter((i) => !i.usable).map((i) => `signing keys of ${i.issuer}`);
  let database: Readiness['database'] = { ok: false, error: 'no store configured' };
  if (store) {
    try {
      await Promise.race([store.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS).unref())]);
      database = { kind: store.kind, ok: true };
      metrics.storeUp.set(1);
    } catch (e) {
      database = { kind: store.kind, ok: false, error: (e as Error).message };
      metrics.storeUp.set(0);
    }
  }
  if (!database.ok) missing.push('database');
  return { ready: missing.length === 0, issuers, database, missing };
}
