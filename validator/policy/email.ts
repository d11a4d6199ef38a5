// Stage 4: people must have a confirmed email address; only a verified address is forwarded.
import type { Config } from '../config';
import { forbidden, unavailable } from '../errors';
import type { Principal } from '../token/claims';

/**
 * The one question this policy asks the database (the store's users repository answers it): true when
 * the user's address is confirmed, false when it is not, undefined when the user is unknown.
 */
export interface EmailConfirmations {
  emailConfirmed(userId: string): Promise<boolean | undefined>;
}

/**
 * Refuses people whose address must be confirmed and is not; resolves to whether the token's address
 * is verified, i.e. may be forwarded as X-User-Email (apps key accounts by e-mail: an unverified
 * address forwarded would let anyone who types someone else's address take that account over).
 *
 * Supabase users: the only trustworthy signal is `auth.users.email_confirmed_at`, read through
 * `confirmations`. The access token's `user_metadata.email_verified` is not: users can edit their own
 * user_metadata with `updateUser`. The store keeps confirmed users in its e-mail confirmation cache
 * (confirmation never reverts), so a confirmed user costs one Map lookup. Unknown user → refused (fail closed). With
 * SUPABASE_ALLOW_UNCONFIRMED the user passes, and the address is forwarded only when the store,
 * asked anyway, confirms it (a store failure then just means "not forwarded").
 * Other issuers: the address is verified when the token says `email_verified: true` (the IdP
 * controls that claim); with AUTH_REQUIRE_EMAIL_VERIFIED, a token that identifies a person (carries
 * `email`) without it is refused.
 */
export async function checkEmail(principal: Principal, config: Config, confirmations: EmailConfirmations | undefined): Promise<boolean> {
  if (principal.supabase) {
    if (!principal.isPerson) return false;
    if (config.supabase?.allowUnconfirmed) {
      if (principal.email === undefined || !confirmations) return false;
      return (await confirmations.emailConfirmed(principal.sub).catch(() => undefined)) === true;
    }
    if (!confirmations) throw unavailable('quota_unavailable', 'email confirmation cannot be checked: no store');
    let confirmed: boolean | undefined;
    try {
      confirmed = await confirmations.emailConfirmed(principal.sub);
    } catch {
      throw unavailable('quota_unavailable', 'email confirmation cannot be checked: the database is unavailable');
    }
    if (confirmed === true) return true;
    throw forbidden('email_unconfirmed', confirmed === false ? 'email address is not confirmed' : 'user is unknown, email confirmation cannot be established');
  }
  const verified = principal.emailVerifiedClaim === true;
  if (config.auth.requireEmailVerified && principal.isPerson && !verified) {
    throw forbidden('email_unverified', 'email address is not verified');
  }
  return verified;
}
