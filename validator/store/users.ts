// The users repository: what the identity provider's auth.users says about a user (Supabase's
// table, or the stand-in from migrations/001). Read only: tollgate never writes a user.
import type pg from 'pg';
import { checkUser } from './checks';
import type { UserRepository } from './types';

/** Entries of the e-mail confirmation cache: positive answers only (confirmation never reverts). */
const EMAIL_CONFIRMATION_CACHE_MAX = 10_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * auth.users.id is uuid on Supabase and text in our stand-in. Asked on first use (not at
 * open, so a validator can start while its database is down) and remembered, so lookups
 * compare `id = $1::uuid` (index-friendly) instead of `id::text = $1` (a scan).
 */
async function authUsersIdType(pool: pg.Pool): Promise<'uuid' | 'text' | undefined> {
  const { rows } = await pool.query<{ t: string }>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = to_regclass('auth.users') AND a.attname = 'id' AND NOT a.attisdropped`,
  );
  if (!rows.length) return undefined; // not migrated yet: emailConfirmed answers undefined
  return rows[0].t === 'uuid' ? 'uuid' : 'text';
}

export function createUsers(pool: pg.Pool): UserRepository {
  // The e-mail confirmation cache (users known to be confirmed), oldest first.
  const emailConfirmationCache = new Map<string, true>();
  let usersIdType: 'uuid' | 'text' | undefined;

  return {
    async emailConfirmed(userId: string): Promise<boolean | undefined> {
      checkUser(userId);
      if (emailConfirmationCache.has(userId)) return true;
      usersIdType ??= await authUsersIdType(pool);
      if (!usersIdType) return undefined;
      // A non-uuid subject cannot be a Supabase user; casting it would raise 22P02.
      if (usersIdType === 'uuid' && !UUID_RE.test(userId)) return undefined;
      const { rows } = await pool.query<{ confirmed: boolean }>(
        usersIdType === 'uuid'
          ? 'SELECT email_confirmed_at IS NOT NULL AS confirmed FROM auth.users WHERE id = $1::uuid'
          : 'SELECT email_confirmed_at IS NOT NULL AS confirmed FROM auth.users WHERE id = $1',
        [userId],
      );
      if (!rows.length) return undefined;
      if (rows[0].confirmed) {
        // Bounded: drop the oldest entry (Map keeps insertion order) instead of growing forever.
        if (emailConfirmationCache.size >= EMAIL_CONFIRMATION_CACHE_MAX) emailConfirmationCache.delete(emailConfirmationCache.keys().next().value as string);
        emailConfirmationCache.set(userId, true);
      }
      return rows[0].confirmed;
    },
  };
}
