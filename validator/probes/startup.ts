// What the validator's start-up refuses besides a bad configuration value: a deployment that cannot
// work (config/deployment.ts), and a database it cannot use. `tollgate check` reports the same
// problems with the same sentences.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { databaseRole } from '../config/database-role';
import type { Metrics } from '../observability/metrics';
import { schemaProblems } from '../store/schema';
import type { QuotaStore } from '../store/types';

export { deploymentProblems } from '../config/deployment';

/** A database this configuration cannot work with: start-up stops (exit 1) with this message. */
export class StartupRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupRefused';
  }
}

/**
 * Looks at the opened store once, at start-up: sets tollgate_store_up to the truth; refuses (throws
 * StartupRefused) a reachable database with migrations missing or changed when this configuration
 * uses it; warns when RLS is off. An unreachable database only logs: the validator starts, and
 * readiness and the store watch follow it (a database outage must not crash-loop every replica).
 */
export async function checkStoreAtStart(config: Config, store: QuotaStore, log: Logger, metrics: Metrics): Promise<void> {
  const role = databaseRole(config);
  let status;
  try {
    status = await store.schema();
    metrics.storeUp.set(1);
  } catch (e) {
    metrics.storeUp.set(0);
    const effect = role.needed ? `requests that need it answer 503 until it answers (${role.why})` : `decisions go on without it (${role.why})`;
    log.error({ database: store.target, err: (e as Error).message, code: (e as { code?: string }).code }, `quota db: unreachable at start-up; ${effect}`);
    return;
  }
  if (!role.used) return;
  const p = schemaProblems(status, store.target);
  const fatal = [p.pending, p.changed].filter((x): x is string => x !== undefined);
  if (fatal.length) throw new StartupRefused(fatal.join('; '));
  for (const u of p.unsafe) log.warn({ database: store.target }, u);
}
