// One ceiling for a daily tick limit: the constant, the migration's CHECK (which cannot import it),
// the config range, and the store's own checks all say the same number.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../devkit/root';
import { parseStoreConfig } from '../../validator/config';
import { MAX_DAILY_LIMIT } from '../../validator/lib/daily-limit';
import { createStore, openStore } from '../../validator/store';
import type { Db } from '../../validator/store/db';
import type { StoreOptions } from '../../validator/store/types';

const OPTS: StoreOptions = { dataDir: 'memory://', poolMax: 1, statementTimeoutMs: 0, ssl: false, defaultDailyTicks: 10 };

test('migrations/003 caps profiles at MAX_DAILY_LIMIT, in its UPDATE and in its CHECK', () => {
  const sql = readFileSync(path.join(REPO_ROOT, 'migrations/003_limit_cap.sql'), 'utf8');
  const check = /CHECK \(daily_tick_limit <= (\d+)\)/.exec(sql);
  const clamp = /SET daily_tick_limit = (\d+) WHERE daily_tick_limit > (\d+)/.exec(sql);
  expect(check && Number(check[1])).toBe(MAX_DAILY_LIMIT);
  expect(clamp && [Number(clamp[1]), Number(clamp[2])]).toEqual([MAX_DAILY_LIMIT, MAX_DAILY_LIMIT]);
});

test('twice the ceiling fits the 32-bit integer consume_ticks() adds in', () => {
  expect(2 * MAX_DAILY_LIMIT).toBeLessThanOrEqual(2 ** 31 - 1);
});

test('QUOTA_DEFAULT_DAILY_TICKS goes up to the ceiling and no further', () => {
  const env = (v: number) => ({ QUOTA_DEFAULT_DAILY_TICKS: String(v), DATA_DIR: 'memory://' });
  expect(parseStoreConfig(env(MAX_DAILY_LIMIT)).database.defaultDailyTicks).toBe(MAX_DAILY_LIMIT);
  expect(() => parseStoreConfig(env(MAX_DAILY_LIMIT + 1))).toThrow(new RegExp(`QUOTA_DEFAULT_DAILY_TICKS.*1 to ${MAX_DAILY_LIMIT}`));
});

test('the store refuses a default daily limit above the ceiling before opening anything', async () => {
  await expect(openStore({ ...OPTS, defaultDailyTicks: MAX_DAILY_LIMIT + 1 })).rejects.toMatchObject({
    code: 'invalid_argument',
    message: expect.stringContaining(`from 1 to ${MAX_DAILY_LIMIT}`),
  });
});

test('setLimit refuses a limit above the ceiling before any SQL', async () => {
  const query = jest.fn(async () => {
    throw new Error('the store must not reach the database');
  });
  const store = createStore({ kind: 'embedded', pool: { query }, close: async () => undefined } as unknown as Db, OPTS);
  await expect(store.setLimit('alice', MAX_DAILY_LIMIT + 1)).rejects.toMatchObject({ code: 'invalid_argument' });
  await expect(store.setLimit('alice', 2 ** 31 - 1)).rejects.toMatchObject({ code: 'invalid_argument' });
  expect(query).not.toHaveBeenCalled();
});
