// The e-mail stage alone, asking its one question through a plain object: it needs "is this user
// confirmed?" (UserConfirmations), not the store.
import type { Config } from '../../validator/config';
import { AuthError } from '../../validator/errors';
import { checkEmail, type UserConfirmations } from '../../validator/policy/email';
import type { Principal } from '../../validator/token/claims';

const person: Principal = {
  sub: 'u1',
  userId: 'u1',
  email: 'u1@example.com',
  scopes: [],
  roles: [],
  claims: {},
  isPerson: true,
  supabase: true,
  issuer: 'https://abc.supabase.co/auth/v1',
};
const config = (allowUnconfirmed = false) => ({ supabase: { allowUnconfirmed }, auth: { requireEmailVerified: false } }) as unknown as Config;

/** Answers from a table; an Error is thrown, as a database outage would be. */
/** `true`/`false`: the e-mail is (not) confirmed, no phone; `'phone'`: confirmed by phone only. */
function confirmations(answer: boolean | 'phone' | undefined | Error): UserConfirmations & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async confirmation(userId) {
      asked.push(userId);
      if (answer instanceof Error) throw answer;
      if (answer === undefined) return undefined;
      return answer === 'phone' ? { email: false, phone: true } : { email: answer, phone: false };
    },
  };
}

async function outcome(p: Promise<boolean>): Promise<boolean | string> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof AuthError) return `${e.status} ${e.code}`;
    throw e;
  }
}

test.each<[string, boolean | 'phone' | undefined | Error, unknown]>([
  ['confirmed', true, true],
  ['not confirmed', false, '403 email_unconfirmed'],
  ['unknown user', undefined, '403 email_unconfirmed'],
  // confirmed by phone (OTP), e-mail not confirmed or absent: passes, but no address is forwarded
  ['confirmed by phone', 'phone', false],
  ['database down', new Error('ECONNREFUSED'), expect.stringMatching(/^503 \w+_unavailable$/)],
])('a Supabase person, %s → %s', async (_t, answer, expected) => {
  const c = confirmations(answer);
  expect(await outcome(checkEmail(person, config(), c))).toEqual(expected);
  expect(c.asked).toEqual(['u1']);
});

test('no way to ask fails closed', async () => {
  expect(await outcome(checkEmail(person, config(), undefined))).toMatch(/^503 \w+_unavailable$/);
});

test('with SUPABASE_ALLOW_UNCONFIRMED the person passes; the address is forwarded only when confirmed', async () => {
  expect(await checkEmail(person, config(true), confirmations(true))).toBe(true);
  expect(await checkEmail(person, config(true), confirmations(false))).toBe(false);
  expect(await checkEmail(person, config(true), confirmations(new Error('down')))).toBe(false);
  expect(await checkEmail(person, config(true), confirmations('phone'))).toBe(false);
});

test('a machine client (not a person) is never asked about', async () => {
  const c = confirmations(true);
  expect(await checkEmail({ ...person, isPerson: false, email: undefined }, config(), c)).toBe(false);
  expect(c.asked).toEqual([]);
});
