// `npm run quota -- <command>`: the operator's view of daily tick quotas (show, set-limit, reset, top).
import { parseArgs } from 'node:util';
import { parseStoreConfig } from '../config';
import { loadDotenv, type RawEnv } from '../config/env';
import { ConfigError } from '../errors';
import { MAX_DAILY_LIMIT } from '../lib/daily-limit';
import { isIsoDate } from '../lib/iso-date';
import { createLogger } from '../observability/logger';
import { usageDate } from '../quota/day';
import { openStore } from '../store';
import { QuotaStoreError } from '../store/errors';
import type { QuotaStore, UsageRow } from '../store/types';

const USAGE = `usage: npm run quota -- <command>

  show <user> [date]               today's (or date's) usage and limit for a user
  set-limit <user> <n> [--create]  set a user's daily tick limit (1 to ${MAX_DAILY_LIMIT})
                                   (--create: also for a user not seen yet)
  reset <user> [date]              forget a user's usage for today (or date)
  top [date] [--limit n]           biggest spenders of the day (default 10)

Dates are YYYY-MM-DD in QUOTA_TIMEZONE (default UTC). The store is DATABASE_URL, or the
embedded database in DATA_DIR (default ./.data; stop the validator first: an embedded
database is opened by one process at a time).
Exit status: 0 done, 1 failed (unknown user, database error), 2 bad arguments.`;

/** A mistake in the command line: exit 2 with the usage text. */
class UsageError extends Error {}

const OPTIONS = {
  create: { type: 'boolean' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface CommandLine {
  positionals: string[];
  /** Options given, by long name (`--limit`), to refuse one the command does not take. */
  given: Set<string>;
  create: boolean;
  limit?: string;
  help: boolean;
}

/**
 * parseArgs splits the line (`--limit 5`, `--limit=5`, `-h`, `--`); it runs non-strict with tokens
 * so that each mistake is reported here, in this CLI's words. A negative number is a (bad) value,
 * not an option: `set-limit alice -3` says that the limit is bad, not that `-3` is unknown.
 */
function readCommandLine(args: string[]): CommandLine {
  const { tokens } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const cl: CommandLine = { positionals: [], given: new Set(), create: false, help: false };
  let lastIndex = -1;
  for (const t of tokens) {
    if (t.kind === 'positional') cl.positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const raw = args[t.index]!;
    if (/^-\d/.test(raw)) {
      // parseArgs reads `-35` as the short options -3 and -5: one value, pushed once.
      if (t.index !== lastIndex) cl.positionals.push(raw);
      lastIndex = t.index;
      continue;
    }
    if (!Object.hasOwn(OPTIONS, t.name)) throw new UsageError(`unknown option: ${t.rawName}`);
    const name = t.name as keyof typeof OPTIONS;
    cl.given.add(`--${name}`);
    if (name === 'limit') {
      if (t.value === undefined) throw new UsageError('option --limit needs a value');
      cl.limit = t.value;
    } else if (t.value !== undefined) {
      throw new UsageError(`option ${t.rawName} takes no value`);
    } else {
      cl[name] = true;
    }
  }
  return cl;
}

export interface RunOptions {
  /** The environment (after .env / keys.env); default process.env. */
  env?: RawEnv;
  out?: (s: string) => void;
}

export async function run(argv: string[], o: RunOptions = {}): Promise<number> {
  const out = o.out ?? console.log;
  const cl = readCommandLine(argv);
  const [cmd, ...args] = cl.positionals;
  if (cl.help || cmd === 'help') {
    out(USAGE);
    return 0;
  }
  if (!cmd) throw new UsageError('no command given');
  // The validator's own parser: the same defaults, ranges and *_FILE secrets (ConfigError: exit 2).
  const { database, timezone } = parseStoreConfig(o.env ?? process.env);
  const today = usageDate(new Date(), timezone);

  // Parse everything before opening the database, so a typo costs nothing.
  let action: (s: QuotaStore) => Promise<number>;
  switch (cmd) {
    case 'show': {
      const [user, date = today] = expect(args, 1, 2, 'show <user> [date]');
      checkDate(date);
      checkOptions(cl, []);
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
      const limit = dailyLimit(n);
      checkOptions(cl, ['--create']);
      action = async (s) => {
        await s.setLimit(user, limit, { create: cl.create });
        out(`${user}: daily limit set to ${limit}`);
        return 0;
      };
      break;
    }
    case 'reset': {
      const [user, date = today] = expect(args, 1, 2, 'reset <user> [date]');
      checkDate(date);
      checkOptions(cl, []);
      action = async (s) => {
        if (!(await s.usage(user, date))) throw new QuotaStoreError('unknown_user', `unknown user: ${user}`);
        out((await s.reset(user, date)) ? `${user}: usage for ${date} reset` : `${user}: no usage on ${date}, nothing to reset`);
        return 0;
      };
      break;
    }
    case 'top': {
      const n = cl.limit === undefined ? 10 : count(cl.limit, '--limit');
      const [date = today] = expect(args, 0, 1, 'top [date] [--limit n]');
      checkDate(date);
      checkOptions(cl, ['--limit']);
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

  // Warnings from the pool (a lost connection) go to stderr as the validator's JSON log lines.
  const store = await openStore(database, createLogger('warn', process.stderr));
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

function checkOptions(cl: CommandLine, allowed: string[]): void {
  for (const f of cl.given) if (!allowed.includes(f)) throw new UsageError(`unknown option: ${f}`);
}

function count(s: string, what: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`bad ${what} "${s}": expected a positive integer`);
  return n;
}

/** A daily limit: refused here, before the database, above the ceiling migrations/003 enforces. */
function dailyLimit(s: string): number {
  const n = count(s, 'limit');
  if (n > MAX_DAILY_LIMIT) throw new UsageError(`bad limit "${s}": a daily limit is at most ${MAX_DAILY_LIMIT} ticks`);
  return n;
}

function formatRows(rows: UsageRow[]): string {
  const lines = rows.map((r) => [r.userId, r.usageDate, String(r.ticksUsed), String(r.limit), String(Math.max(0, r.limit - r.ticksUsed))]);
  const all = [['user', 'date', 'used', 'limit', 'remaining'], ...lines];
  const w = all[0].map((_, i) => Math.max(...all.map((l) => l[i].length)));
  return all
    .map((l) =>
      l
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Translate a failure into one line on stderr and an exit status. */
function report(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`quota: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (err instanceof ConfigError || (err instanceof QuotaStoreError && err.code === 'invalid_argument')) {
    console.error(`quota: ${err.message}`);
    return 2;
  }
  const e = err as Error & { code?: string };
  // 42P01 undefined_table / 42883 undefined_function: the schema is not there yet.
  const hint = e.code === '42P01' || e.code === '42883' ? ' (has `npm run migrate` been run against this database?)' : '';
  console.error(`quota: ${e.message}${hint}`);
  return 1;
}

/** The command (`npm run quota --`, `tollgate quota`) on the environment with .env / keys.env: its exit status. */
export function main(args: string[]): Promise<number> {
  return run(args, { env: loadDotenv() }).catch(report);
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
