// Stage 4: people must be confirmed users (by e-mail or phone); only a verified address is forwarded.
import type { Config } from '../config';
import { forbidden, unavailable } from '../errors';
import type { Principal } from '../token/claims';

/**
 * The one question this policy asks the database (the store's users repository answers it): how the
 * user is confirmed, by e-mail and by phone; undefined when the user is unknown.
 */
export interface UserConfirmations {
  confirmation(userId: string): Promise<{ readonly email: boolean; readonly phone: boolean } | undefined>;
}

/**
 * Refuses people who must be confirmed and are not; resolves to whether the token's address is
 * verified, i.e. may be forwarded as X-User-Email (apps key accounts by e-mail: an unverified
 * address forwarded would let anyone who types someone else's address take that account over).
 *
 * Supabase users: the only trustworthy signals are `auth.users.email_confirmed_at` and
 * `phone_confirmed_at`, read through `confirmations`. A user who signed up with a phone number and
 * confirmed it by OTP is a confirmed user (Supabase's own `confirmed_at` is the earlier of the
 * two), but X-User-Email is still only sent for a confirmed e-mail. The access token's
 * `user_metadata.email_verified` is not a signal: users can edit their own user_metadata with
 * `updateUser`. The store caches confirmed users, so a confirmed user costs one Map lookup. Unknown
 * user → refused (fail closed). With SUPABASE_ALLOW_UNCONFIRMED the user passes, and the address is
 * forwarded only when the store, asked anyway, confirms it (a store failure then just means "not forwarded").
 * Other issuers: the address is verified when the token says `email_verified: true` (the IdP
 * controls that claim); with AUTH_REQUIRE_EMAIL_VERIFIED, a token that identifies a person (carries
 * `email`) without it is refused.
 */
export async function checkEmail(principal: Principal, config: Config, confirmations: UserConfirmations | undefined): Promise<boolean> {
  if (principal.supabase) {
    if (!principal.isPerson) return false;
    if (config.supabase?.allowUnconfirmed) {
      if (principal.email === undefined || !confirmations) return false;
      return (await confirmations.confirmation(principal.sub).catch(() => undefined))?.email === true;
    }
    if (!confirmations) throw unavailable('quota_unavailable', 'user confirmation cannot be checked: no store');
    let confirmed: { readonly email: boolean; readonly phone: boolean } | undefined;
    try {
      confirmed = await confirmations.confirmation(principal.sub);
    } catch {
      throw unavailable('quota_unavailable', 'user confirmation cannot be checked: the database is unavailable');
    }
    if (confirmed?.email) return true;
    if (confirmed?.phone) return false;
    const why = confirmed ? 'neither the e-mail address nor the phone number is confirmed' : 'user is unknown, confirmation cannot be established';
    throw forbidden('email_unconfirmed', why);
  }
  const verified = principal.emailVerifiedClaim === true;
  if (config.auth.requireEmailVerified && principal.isPerson && !verified) {
    throw forbidden('email_unverified', 'email address is not verified');
  }
  return verified;
}
