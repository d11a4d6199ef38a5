// The subject limit shared by the claims stage and the quota store (one constant, one predicate),
// and the store's own argument check that uses it, before any SQL.
import type { Db } from '../../validator/store/db';
import { createStore } from '../../validator/store';
import { isAcceptableSubject, MAX_SUBJECT_BYTES } from '../../validator/lib/subject';

test('MAX_SUBJECT_BYTES is the OpenID Connect bound, 255', () => {
  expect(MAX_SUBJECT_BYTES).toBe(255);
});

test.each([
  ['one ASCII character', 'a', true],
  ['255 ASCII characters', 'a'.repeat(255), true],
  ['256 ASCII characters', 'a'.repeat(256), false],
  ['127 × é (254 bytes)', '\u00e9'.repeat(127), true],
  ['128 × é (256 bytes in 128 characters)', '\u00e9'.repeat(128), false],
  ['63 emoji (252 bytes in 126 UTF-16 units)', '\u{1f600}'.repeat(63), true],
  ['64 emoji (256 bytes)', '\u{1f600}'.repeat(64), false],
  ['the empty string', '', false],
])('isAcceptableSubject: %s → %s', (_t, sub, ok) => {
  expect(isAcceptableSubject(sub)).toBe(ok);
});

test.each([[undefined], [null], [42], [['a']], [{}]])('a non-string %j is not a subject', (v) => {
  expect(isAcceptableSubject(v)).toBe(false);
});

describe('the store checks its user id with the same limit, before any SQL', () => {
  const query = jest.fn(async () => {
    throw new Error('the store must not reach the database');
  });
  const db = { kind: 'embedded', pool: { query }, close: async () => undefined } as unknown as Db;
  const store = createStore(db, { dataDir: 'memory://', poolMax: 1, statementTimeoutMs: 0, ssl: false, defaultDailyTicks: 10 });

  test.each([
    ['charge', () => store.charge('a'.repeat(MAX_SUBJECT_BYTES + 1), 1, '2026-01-01')],
    ['charge, multi-byte', () => store.charge('\u00e9'.repeat(128), 1, '2026-01-01')],
    ['charge, empty', () => store.charge('', 1, '2026-01-01')],
    ['emailConfirmed', () => store.emailConfirmed('a'.repeat(600))],
    ['usage', () => store.usage('a'.repeat(600), '2026-01-01')],
    ['setLimit', () => store.setLimit('a'.repeat(600), 5)],
  ])('%s → invalid_argument naming the limit', async (_t, call) => {
    await expect(call()).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining(`${MAX_SUBJECT_BYTES} UTF-8 bytes`) });
    expect(query).not.toHaveBeenCalled();
  });
});
