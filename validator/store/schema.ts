// Is the database ready for tollgate: every migration on disk applied unchanged, row-level security
// on the quota tables. `tollgate check` reports it; the validator's start-up refuses a database
// with migrations missing, with the same sentence (schemaProblems).
import type pg from 'pg';
import { defaultMigrationsDir, readMigrations } from './migrate';

/** Tables that hold users' rows: Supabase's API exposes them to users, so RLS must be on (migrations/002, 004, 006). */
export const RLS_TABLES = ['profiles', 'user_daily_usage', 'tollgate_charge_receipts', 'tollgate_dpop_proofs'] as const;

export interface SchemaStatus {
  /** Migration files applied, checksum unchanged. */
  applied: string[];
  /** Migration files on disk that the database has not seen. */
  pending: string[];
  /** Migration files applied with another content: someone edited an applied migration. */
  changed: string[];
  /** Quota tables that exist, and whether RLS is on for each. */
  rls: Array<{ table: string; enabled: boolean }>;
}

/** Reads the migration record and the RLS flags (two statements; throws when the database does not answer). */
export async function schemaStatus(pool: pg.Pool, dir: string = defaultMigrationsDir()): Promise<SchemaStatus> {
  const files = readMigrations(dir);
  const recorded = new Map<number, string>();
  const { rows: exists } = await pool.query<{ t: string | null }>(`SELECT to_regclass('public.tollgate_migrations')::text AS t`);
  if (exists[0]?.t) {
    const { rows } = await pool.query<{ version: number; checksum: string }>('SELECT version, checksum FROM public.tollgate_migrations');
    for (const r of rows) recorded.set(Number(r.version), r.checksum);
  }
  const status: SchemaStatus = { applied: [], pending: [], changed: [], rls: [] };
  for (const f of files) {
    const sum = recorded.get(f.version);
    if (sum === undefined) status.pending.push(f.file);
    else if (sum !== f.checksum) status.changed.push(f.file);
    else status.applied.push(f.file);
  }
  const { rows: rls } = await pool.query<{ relname: string; relrowsecurity: boolean }>(
    `SELECT c.relname, c.relrowsecurity FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY($1) ORDER BY c.relname`,
    [[...RLS_TABLES]],
  );
  status.rls = rls.map((r) => ({ table: `public.${r.relname}`, enabled: r.relrowsecurity }));
  return status;
}

export interface SchemaProblems {
  /** Migrations not applied: every charge fails. Start-up refuses unless it applies them itself. */
  pending?: string;
  /** An applied migration was edited: start-up refuses (the migrator would too). */
  changed?: string;
  /** It works, but unsafely (RLS off): logged at start-up, a failure in `tollgate check`. */
  unsafe: string[];
}

/** The sentences for what is wrong with `s` on `target` (a redacted URL or a data directory). */
export function schemaProblems(s: SchemaStatus, target: string): SchemaProblems {
  const p: SchemaProblems = { unsafe: [] };
  if (s.pending.length) {
    p.pending =
      `${target} lacks ${s.pending.length} migration${s.pending.length > 1 ? 's' : ''} (${s.pending.join(', ')}): every charge would fail. ` +
      'Apply them with `npx tollgate migrate` (or MIGRATE_ON_START=true on one instance)';
  }
  if (s.changed.length) {
    p.changed = `${target}: migration ${s.changed.join(', ')} differs from the one applied (checksum); migrations are forward-only: restore the file and add a new one`;
  }
  for (const t of s.rls.filter((r) => !r.enabled)) {
    p.unsafe.push(
      `${target}: row-level security is off on ${t.table}: through Supabase's API every user could read every row. Run \`ALTER TABLE ${t.table} ENABLE ROW LEVEL SECURITY\``,
    );
  }
  return p;
}
