// `tollgate check`'s look at the quota database: reachable, every migration applied unchanged, RLS
// on. The sentences come from store/schema.ts, which the validator's start-up uses too.
import fs from 'node:fs';
import type { Config } from '../config';
import { databaseRole } from '../config/database-role';
import { describeError } from '../observability/describe-error';
import { redactUrl } from '../observability/redact-url';
import { DataDirLockedError } from '../store/data-dir-lock';
import { openDb, type Db } from '../store/db';
import { schemaProblems, schemaStatus } from '../store/schema';
import type { ProbeResult } from './types';

/** How long the probe waits for the database (ms): the pool's connect timeout is 3 s. */
const PROBE_TIMEOUT_MS = 5000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function probeDatabase(config: Config): Promise<ProbeResult> {
  const { url, dataDir, migrateOnStart } = config.database;
  const role = databaseRole(config);
  const target = url ? redactUrl(url) : `DATA_DIR ${dataDir}`;
  const name = 'database';
  if (!url && dataDir.includes('://'))
    return {
      name,
      target,
      ok: true,
      skipped: true,
      detail: 'a throw-away in-memory database: created and migrated at each start',
    };
  if (!url && !fs.existsSync(dataDir)) {
    return {
      name,
      target,
      ok: true,
      skipped: true,
      detail: `does not exist yet: created at the first start${migrateOnStart ? ' and migrated then (MIGRATE_ON_START)' : ''}`,
    };
  }
  let db: Db;
  try {
    db = await openDb({ ...config.database, poolMax: 1 });
  } catch (e) {
    if (e instanceof DataDirLockedError) return { name, target, ok: true, skipped: true, detail: `not probed: ${e.message}` };
    return { name, target, ok: false, detail: describeError(e) };
  }
  try {
    const s = await within(schemaStatus(db.pool), target);
    const p = schemaProblems(s, target);
    // pending migrations are fine when this configuration applies them itself at start-up
    const pendingProblem = migrateOnStart ? undefined : p.pending;
    const problems = [pendingProblem, p.changed, ...p.unsafe].filter((x): x is string => x !== undefined);
    const rls = s.rls.length
      ? `; RLS on ${
          s.rls
            .filter((r) => r.enabled)
            .map((r) => r.table)
            .join(', ') || 'no table'
        }`
      : '';
    const pending = s.pending.length && migrateOnStart ? `; ${s.pending.length} pending, applied at start-up (MIGRATE_ON_START)` : '';
    const use = role.used ? '' : ' (unused: no charged routes, no Supabase issuer)';
    if (problems.length) return { name, target, ok: false, detail: problems.join('; '), ...(pendingProblem ? { hint: 'npx tollgate migrate' } : {}) };
    return { name, target, ok: true, detail: `reachable; ${s.applied.length} migration${s.applied.length === 1 ? '' : 's'} applied${pending}${rls}${use}` };
  } catch (e) {
    const hint = url ? "is the server up, reachable from this host, and are DATABASE_URL's credentials and DATABASE_SSL right?" : undefined;
    return { name, target, ok: false, detail: `unreachable: ${describeError(e)}`, ...(hint ? { hint } : {}) };
  } finally {
    await db.close().catch(() => undefined);
  }
}
