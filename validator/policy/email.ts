// Stage 4: people must have a confirmed email address.
import type { Config } from '../config';
import { forbidden, unavailable } from '../errors';
import type { Principal } from '../token/claims';
import type { QuotaStore } from '../quota/types';

/**
 * Supabase users: the only trustworthy signal is `auth.users.email_confirmed_at`, read through the
 * store. The access token's `user_metadata.email_verified` is not: users can edit their own
 * user_metadata with `updateUser`. The store caches confirmed users (confirmation never reverts),
 * so a confirmed user costs one Map lookup. Unknown user → refused (fail closed).
 * Other issuers: with AUTH_REQUIRE_EMAIL_VERIFIED, a token that identifies a person (carries
 * `email`) must say `email_verified: true`; the IdP controls that claim.
 */
export async function checkEmail(principal: Principal, config: Config, store: QuotaStore | undefined): Promise<void> {
  if (principal.supabase) {
    if (!principal.isPerson || config.supabase?.allowUnconfirmed) return;
    if (!store) throw unavailable('store_unavailable', 'email confirmation cannot be checked: no store');
    let confirmed: boolean | undefined;
    try {
      confirmed = await store.emailConfirmed(principal.sub);
    } catch {
      throw unavailable('store_unavailable', 'email confirmation cannot be checked: the database is unavailable');
    }
    if (confirmed === true) return;
    throw forbidden('email_unconfirmed', confirmed === false ? 'email address is not confirmed' : 'user is unknown, email confirmation cannot be established');
  }
  if (config.auth.requireEmailVerified && principal.isPerson && principal.emailVerifiedClaim !== true) {
    throw forbidden('email_unverified', 'email address is not verified');
  }
}
