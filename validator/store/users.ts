// The users repository: what the identity provider's auth.users says about a user (Supabase's
// table, or the stand-in from migrations/001 and 005). Read only: tollgate never writes a user.
import type pg from 'pg';
import { checkUser } from './checks';
import type { Confirmation, UserRepository } from './types';

/** Entries of the e-mail confirmation cache: confirmed users only (confirmation never reverts). */
const EMAIL_CONFIRMATION_CACHE_MAX = 10_000;
/**
 * How long a user confirmed by phone but not by e-mail is remembered as such (ms): the e-mail
 * address may be confirmed later, and X-User-Email should then follow within this delay.
 */
const PHONE_ONLY_TTL_MS = 60_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The shape of auth.users that the lookups need. */
interface UsersTable {
  /** `id` is uuid on Supabase and text in our stand-in. */
  readonly id: 'uuid' | 'text';
  /** phone_confirmed_at exists (Supabase: always; the stand-in: from migrations/005). */
  readonly phone: boolean;
}

/**
 * Asked on first use (not at open, so a validator can start while its database is down) and
 * remembered, so lookups compare `id = $1::uuid` (index-friendly) instead of `id::text = $1` (a
 * scan), and read phone_confirmed_at only where there is one.
 */
async function describeUsers(pool: pg.Pool): Promise<UsersTable | undefined> {
  const { rows } = await pool.query<{ t: string; phone: boolean }>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS t,
            EXISTS (SELECT 1 FROM pg_catalog.pg_attribute p
                    WHERE p.attrelid = a.attrelid AND p.attname = 'phone_confirmed_at' AND NOT p.attisdropped) AS phone
     FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = to_regclass('auth.users') AND a.attname = 'id' AND NOT a.attisdropped`,
  );
  if (!rows.length) return undefined; // not migrated yet: confirmation answers undefined
  return { id: rows[0].t === 'uuid' ? 'uuid' : 'text', phone: rows[0].phone };
}

const CONFIRMED_BY_EMAIL: Confirmation = Object.freeze({ email: true, phone: false });

export function createUsers(pool: pg.Pool, now: () => number = Date.now): UserRepository {
  // The e-mail confirmation cache (users whose e-mail is confirmed), oldest first.
  const emailConfirmationCache = new Map<string, true>();
  // Users confirmed by phone only, with the time the answer expires (bounded the same way).
  const phoneOnly = new Map<string, number>();
  let table: UsersTable | undefined;

  const remember = <V>(cache: Map<string, V>, userId: string, v: V) => {
    // Bounded: drop the oldest entry (Map keeps insertion order) instead of growing forever.
    if (cache.size >= EMAIL_CONFIRMATION_CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(userId, v);
  };

  async function confirmation(userId: string): Promise<Confirmation | undefined> {
    checkUser(userId);
    if (emailConfirmationCache.has(userId)) return CONFIRMED_BY_EMAIL;
    const until = phoneOnly.get(userId);
    if (until !== undefined) {
      if (until > now()) return { email: false, phone: true };
      phoneOnly.delete(userId);
    }
    table ??= await describeUsers(pool);
    if (!table) return undefined;
    // A non-uuid subject cannot be a Supabase user; casting it would raise 22P02.
    if (table.id === 'uuid' && !UUID_RE.test(userId)) return undefined;
    const { rows } = await pool.query<Confirmation>(
      `SELECT email_confirmed_at IS NOT NULL AS email, ${table.phone ? 'phone_confirmed_at IS NOT NULL' : 'false'} AS phone
       FROM auth.users WHERE id = ${table.id === 'uuid' ? '$1::uuid' : '$1'}`,
      [userId],
    );
    if (!rows.length) return undefined;
    const { email, phone } = rows[0];
    if (email) remember(emailConfirmationCache, userId, true);
    else if (phone) remember(phoneOnly, userId, now() + PHONE_ONLY_TTL_MS);
    return { email, phone };
  }

  return {
    confirmation,
    async emailConfirmed(userId: string): Promise<boolean | undefined> {
      return (await confirmation(userId))?.email;
    },
  };
}
