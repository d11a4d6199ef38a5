// The value types of the configuration table (schema.ts): each turns one raw, non-empty string into
// a typed value or throws a ConfigError that names the variable and says what to write instead.
import { ConfigError } from '../errors';
import { keyUrlProblem } from './key-url';

/** Parses one variable's raw value. Never sees an empty value: empty means unset (env.ts). */
export type Parser<T> = (raw: string, name: string) => T;

const quoted = (raw: string) => JSON.stringify(raw);

/** `a, b or c` */
function orList(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

/** Any text, as written. */
export const text: Parser<string> = (raw) => raw;

/** A whole number from `min` to `max`, surrounding spaces allowed. */
export function int(min: number, max: number): Parser<number> {
  return (raw, name) => {
    // Decimal digits only: Number() would read "  " as 0 (PORT → any port), "0x50" as 80, "8e3" as 8000.
    const n = /^\s*-?[0-9]+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got ${quoted(raw)}`);
    return n;
  };
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** true/1/yes/on or false/0/no/off, any letter case. */
export const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new ConfigError(name, `must be true or false, got ${quoted(raw)}`);
};

export interface OneOfOptions {
  /** Compare after trimming and lower-casing. */
  fold?: boolean;
  /** The message for a value that is not listed (default: "must be a, b or c, got "x""). */
  refuse?: (value: string) => string;
}

/** One of `values`, exactly (or folded to lower case). */
export function oneOf<T extends string>(values: readonly T[], opts: OneOfOptions = {}): Parser<T> {
  return (raw, name) => {
    const v = opts.fold ? raw.trim().toLowerCase() : raw;
    if ((values as readonly string[]).includes(v)) return v as T;
    throw new ConfigError(name, opts.refuse ? opts.refuse(v) : `must be ${orList(values)}, got ${quoted(raw)}`);
  };
}

/** A comma-separated list, items trimmed, empty items dropped; each item parsed by `item`. */
export function list<T = string>(item?: Parser<T>): Parser<T[]> {
  return (raw, name) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return item ? items.map((s) => item(s, name)) : (items as T[]);
  };
}

/**
 * An absolute http(s) URL. Production's https:// rule depends on NODE_ENV, so it is a cross-field
 * rule (issuers.ts) and not checked here.
 */
export const httpUrl: Parser<string> = (raw, name) => {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute URL, got ${quoted(raw)}`);
  }
  const problem = keyUrlProblem(u, false);
  if (problem) throw new ConfigError(name, problem);
  return raw;
};

/** An IANA time zone that this Node's Intl knows. */
export const timeZone: Parser<string> = (raw, name) => {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: raw });
  } catch {
    throw new ConfigError(name, `${quoted(raw)} is not an IANA time zone (e.g. UTC, Europe/Berlin)`);
  }
  return raw;
};

/** A postgres:// or postgresql:// URL. The value is a secret: never echoed. */
export const postgresUrl: Parser<string> = (raw, name) => {
  if (!/^postgres(ql)?:\/\//.test(raw)) throw new ConfigError(name, 'must start with postgres:// or postgresql://');
  return raw;
};

/** Decodes a JWT payload without verifying it: only to recognise a service-role key by mistake. */
function unsafeJwtRole(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload?.role === 'string' ? payload.role : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Supabase anon / publishable key. A service-role or secret key is refused: it bypasses row-level
 * security, so it must not sit in a gateway's configuration even though the validator never uses it.
 */
export const supabaseAnonKey: Parser<string> = (raw, name) => {
  if (unsafeJwtRole(raw) === 'service_role' || raw.startsWith('sb_secret_')) {
    throw new ConfigError(
      name,
      'is a service-role / secret key (a JWT with role service_role, or an sb_secret_ key); use the anon/publishable key: the service role bypasses RLS',
    );
  }
  return raw;
};
