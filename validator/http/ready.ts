// Readiness: can this instance decide now? Every configured issuer must have usable keys; the
// database counts only where a refusal depends on it (docs/OPERATIONS.md, "Readiness"). Also the
// store watch that keeps tollgate_store_up true from start-up, whether or not anything is charged.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { databaseRole } from '../config/database-role';
import type { Metrics } from '../observability/metrics';
import type { QuotaStore } from '../store/types';
import type { TokenVerifier } from '../token/verify';

export interface Readiness {
  ready: boolean;
  issuers: Array<{ issuer: string; kind: string; usable: boolean; stale: boolean; keys: number; lastSuccessAt?: string; lastError?: string }>;
  database: {
    kind?: string;
    /** The database (URL without password, or the data directory). */
    target?: string;
    ok: boolean;
    error?: string;
    /** Whether its outage makes this instance refuse requests, and why (or why not). */
    needed: boolean;
    why: string;
  };
  /** What this instance cannot decide without: any of it down answers 503. */
  missing: string[];
  /** Down, yet this instance still decides every request: reported, not a reason to pull it. */
  degraded: string[];
}

/** How long a readiness or watch ping may take before it counts as down (ms). */
const PING_TIMEOUT_MS = 2000;
/** How often the store watch pings the database (ms): well inside TollgateDatabaseDown's `for: 2m`. */
const STORE_WATCH_INTERVAL_MS = 15_000;

/** Pings the store within PING_TIMEOUT_MS; sets tollgate_store_up; resolves to the error when down. */
async function pingStore(store: QuotaStore, metrics: Metrics): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.ping(),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error(`${store.target}: no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
        timer.unref();
      }),
    ]);
    metrics.storeUp.set(1);
    return undefined;
  } catch (e) {
    metrics.storeUp.set(0);
    return e as Error;
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(verifier: TokenVerifier, store: QuotaStore | undefined, metrics: Metrics, config: Config): Promise<Readiness> {
  const issuers = verifier
    .status()
    .map(({ issuer, kind, usable, stale, keys, lastSuccessAt, lastError }) => ({ issuer, kind, usable, stale, keys, lastSuccessAt, lastError }));
  const missing = issuers.filter((i) => !i.usable).map((i) => `signing keys of ${i.issuer}`);
  const degraded: string[] = [];
  const { needed, why } = databaseRole(config);
  const role = { needed, why };
  let database: Readiness['database'] = { ok: false, error: 'no store configured', ...role };
  if (store) {
    const err = await pingStore(store, metrics);
    database = { kind: store.kind, target: store.target, ok: !err, ...(err ? { error: err.message } : {}), ...role };
  }
  if (!database.ok) (role.needed ? missing : degraded).push('database');
  return { ready: missing.length === 0, issuers, database, missing, degraded };
}

/**
 * Pings the store now and every `everyMs`, so that tollgate_store_up says the truth on an idle
 * instance too (a charge or a readiness call also sets it). Logs each change of state once, with
 * the cause. Resolves after the first ping (`now: false`: the first one comes after `everyMs`, for a
 * caller that has just asked the database itself); `stop()` ends the watch.
 */
export async function watchStore(store: QuotaStore, metrics: Metrics, log: Logger, o: { everyMs?: number; now?: boolean } = {}): Promise<{ stop(): void }> {
  const everyMs = o.everyMs ?? STORE_WATCH_INTERVAL_MS;
  let up: boolean | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const err = await pingStore(store, metrics);
    if (err && up !== false) log.error({ database: store.target, err: err.message, code: (err as { code?: string }).code }, 'quota db: unreachable');
    else if (!err && up === false) log.info({ database: store.target }, 'quota db: reachable again');
    up = !err;
    if (!stopped) {
      timer = setTimeout(() => void tick(), everyMs);
      timer.unref();
    }
  };
  if (o.now === false) {
    timer = setTimeout(() => void tick(), everyMs);
    timer.unref();
  } else {
    await tick();
  }
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
