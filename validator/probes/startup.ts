// What the validator's start-up refuses besides a bad configuration value: a deployment that cannot
// work. `tollgate check` reports the same problems with the same sentences.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { databaseRole } from '../config/database-role';
import { ConfigError } from '../errors';
import type { Metrics } from '../observability/metrics';
import { schemaProblems } from '../store/schema';
import type { QuotaStore } from '../store/types';

/**
 * Production without DATABASE_URL runs quotas on the embedded database in DATA_DIR: one process's
 * copy, never migrated there (MIGRATE_ON_START defaults to false in production), so every charge
 * would fail with 503 while /api/ready said 200. Refused unless the configuration asks nothing of a
 * database, or MIGRATE_ON_START=true says a single embedded instance is meant. A LISTEN_SOCKET whose
 * directory does not exist is refused too.
 */
export function deploymentProblems(config: Config): ConfigError[] {
  const problems: ConfigError[] = [];
  const { url, dataDir, migrateOnStart } = config.database;
  if (config.env === 'production' && !url && !migrateOnStart && databaseRole(config).used) {
    problems.push(
      new ConfigError(
        'DATABASE_URL',
        `is not set: in production quotas need a Postgres server; the embedded database in DATA_DIR=${dataDir} would be one process's own copy, ` +
          'never migrated, and every charge would fail. Set DATABASE_URL (docs/PRODUCTION.md), ' +
          'or MIGRATE_ON_START=true to run one instance on the embedded database on purpose',
      ),
    );
  }
  const socket = config.listenSocket?.path;
  if (socket) {
    // bind() would fail with a bare ENOENT; say which variable, and that the directory is the deployment's to make.
    const dir = path.dirname(socket);
    let isDir = false;
    try {
      isDir = fs.statSync(dir).isDirectory();
    } catch {
      // missing or unreadable: reported below
    }
    if (!isDir)
      problems.push(new ConfigError('LISTEN_SOCKET', `directory ${dir} does not exist; create it (a volume shared with NGINX) or choose another path`));
  }
  return problems;
}

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
