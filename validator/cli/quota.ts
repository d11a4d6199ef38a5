// `npm run quota -- <command>`: the operator's view of daily tick quotas (show, set-limit, reset, top).
import { isIsoDate, usageDate } from '../quota/day';
import { EnvError, loadDotenv, quotaTimeZoneFromEnv, storeOptionsFromEnv } from './env';
import { QuotaStoreError } from '../store/errors';
import { openStore } from '../store';
import type { QuotaStore, UsageRow } from '../store/types';

const USAGE = `usage: npm run quota -- <command>

  show <user> [date]               today's (or date's) usage and limit for a user
  set-limit <user> <n> [--create]  set a user's daily tick limit
                                   (--create: also for a user not seen yet)
  reset <user> [date]              forget a user's usage for today (or date)
  top [date] [--limit n]           biggest spenders of the day (default 10)

Dates are YYYY-MM-DD in QUOTA_TIMEZONE (default UTC). The store is DATABASE_URL, or the
embedded database in DATA_DIR (default ./.data; stop the validator first: an embedded
database is opened by one process at a time).
Exit status: 0 done, 1 failed (unknown user, database error), 2 bad arguments.`;

/** A mistake in the command line: exit 2 with the usage text. */
class UsageError extends Error {}

export async function run(argv: string[], out: (s: string) => void = console.log): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd) throw new UsageError('no command given');
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    out(USAGE);
    return 0;
  }
  const flags = new Set(rest.filter((a) => a.startsWith('--')));
  const args = rest.filter((a) => !a.startsWith('--'));
  const tz = quotaTimeZoneFromEnv();
  const today = usageDate(new Date(), tz);

  // Parse everything before opening the database, so a typo costs nothing.
  let action: (s: QuotaStore) => Promise<number>;
  switch (cmd) {
    case 'show': {
      const [user, date = today] = expect(args, 1, 2, 'show <user> [date]');
      checkDate(date);
      action = async (s) => {
        const row = await s.usage(user, date);
        if (!row) throw new QuotaStoreError('unknown_user', `unknown user: ${user} (no profile; users get one on their first charged call)`);
        out(formatRows([row]));
        return 0;
      };
      break;
    }
    case 'set-limit': {
      const [user, n] = expect(args, 2, 2, 'set-limit <user> <n> [--create]');
      const limit = positiveInt(n, 'limit');
      checkFlags(flags, ['--create']);
      action = async (s) => {
        await s.setLimit(user, limit, { create: flags.has('--create') });
        out(`${user}: daily limit set to ${limit}`);
        return 0;
      };
      break;
    }
    case 'reset': {
      const [user, date = today] = expect(args, 1, 2, 'reset <user> [date]');
      checkDate(date);
      action = async (s) => {
        if (!(await s.usage(user, date))) throw new QuotaStoreError('unknown_user', `unknown user: ${user}`);
        out((await s.reset(user, date)) ? `${user}: usage for ${date} reset` : `${user}: no usage on ${date}, nothing to reset`);
        return 0;
      };
      break;
    }
    case 'top': {
      const limitIdx = rest.indexOf('--limit');
      const n = limitIdx >= 0 ? positiveInt(rest[limitIdx + 1] ?? '', '--limit') : 10;
      const positional = rest.filter((a, i) => !a.startsWith('--') && !(limitIdx >= 0 && i === limitIdx + 1));
      const [date = today] = expect(positional, 0, 1, 'top [date] [--limit n]');
      checkDate(date);
      checkFlags(flags, ['--limit']);
      action = async (s) => {
        const rows = await s.top(date, n);
        out(rows.length ? formatRows(rows) : `no usage on ${date}`);
        return 0;
      };
      break;
    }
    default:
      throw new UsageError(`unknown command: ${cmd}`);
  }

  const store = await openStore(storeOptionsFromEnv());
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}

function expect(args: string[], min: number, max: number, shape: string): string[] {
  if (args.length < min || args.length > max) throw new UsageError(`expected: ${shape}`);
  return args;
}

function checkDate(date: string): void {
  if (!isIsoDate(date)) throw new UsageError(`bad date "${date}": expected YYYY-MM-DD`);
}

function checkFlags(flags: Set<string>, allowed: string[]): void {
  for (const f of flags) if (!allowed.includes(f)) throw new UsageError(`unknown option: ${f}`);
}

function positiveInt(s: string, what: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1 || n > 2_147_483_647) {
    throw new UsageError(`bad ${what} "${s}": expected a positive integer`);
  }
  return n;
}

function formatRows(rows: UsageRow[]): string {
  const lines = rows.map((r) => [r.userId, r.usageDate, String(r.ticksUsed), String(r.limit), String(Math.max(0, r.limit - r.ticksUsed))]);
  const all = [['user', 'date', 'used', 'limit', 'remaining'], ...lines];
  const w = all[0].map((_, i) => Math.max(...all.map((l) => l[i].length)));
  return all.map((l) => l.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

/** Translate a failure into one line on stderr and an exit status. */
function report(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`quota: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (err instanceof EnvError || (err instanceof QuotaStoreError && err.code === 'invalid_argument')) {
    console.error(`quota: ${err.message}`);
    return 2;
  }
  const e = err as Error & { code?: string };
  // 42P01 undefined_table / 42883 undefined_function: the schema is not there yet.
  const hint = e.code === '42P01' || e.code === '42883' ? ' (has `npm run migrate` been run against this database?)' : '';
  console.error(`quota: ${e.message}${hint}`);
  return 1;
}

if (require.main === module) {
  loadDotenv();
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => process.exit(report(err)),
  );
}
