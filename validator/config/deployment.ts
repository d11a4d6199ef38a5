// What the validator's start-up refuses besides a bad configuration value: a deployment that cannot
// work. `tollgate check` reports the same problems with the same sentences, and a reload (SIGHUP) is
// refused on them too: they depend on reloadable settings (QUOTA_ROUTES can start needing a database).
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors';
import { databaseRole } from './database-role';
import type { Config } from './index';

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
