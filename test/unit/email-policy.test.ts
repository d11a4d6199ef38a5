// The e-mail stage alone, asking its one question through a plain object: it needs "is this user
// confirmed?" (EmailConfirmations), not the store.
import type { Config } from '../../validator/config';
import { AuthError } from '../../validator/errors';
import { checkEmail, type EmailConfirmations } from '../../validator/policy/email';
import type { Principal } from '../../validator/token/claims';

const person: Principal = { sub: 'u1', email: 'u1@example.com', scopes: [], roles: [], claims: {}, isPerson: true, supabase: true, issuer: 'https://abc.supabase.co/auth/v1' };
const config = (allowUnconfirmed = false) => ({ supabase: { allowUnconfirmed }, auth: { requireEmailVerified: false } }) as unknown as Config;

/** Answers from a table; an Error is thrown, as a database outage would be. */
function confirmations(answer: boolean | undefined | Error): EmailConfirmations & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async emailConfirmed(userId) {
      asked.push(userId);
      if (answer instanceof Error) throw answer;
      return answer;
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

test.each([
  ['confirmed', true, true],
  ['not confirmed', false, '403 email_unconfirmed'],
  ['unknown user', undefined, '403 email_unconfirmed'],
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
});

test('a machine client (not a person) is never asked about', async () => {
  const c = confirmations(true);
  expect(await checkEmail({ ...person, isPerson: false, email: undefined }, config(), c)).toBe(false);
  expect(c.asked).toEqual([]);
});
