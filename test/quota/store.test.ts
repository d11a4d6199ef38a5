// Quota store behaviour on both backends: charging, limits, days, operator reads and writes.
import { QuotaStoreError } from '../../validator/store/errors';
import { createStore } from '../../validator/store';
import { eachBackend } from './backends';

let seq = 0;
const user = () => `user-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
const D1 = '2024-03-01';
const D2 = '2024-03-02';

eachBackend((env) => {
  test('first charge creates the profile with the default limit and charges', async () => {
    const { store, pool } = env();
    const u = user();
    await expect(store.charge(u, 5, D1)).resolves.toEqual({ status: 'charged', charged: 5, used: 5, limit: 32, remaining: 27 });
    const { rows } = await pool.query('SELECT daily_tick_limit FROM profiles WHERE user_id = $1', [u]);
    expect(rows).toEqual([{ daily_tick_limit: 32 }]);
    await expect(store.charge(u, 27, D1)).resolves.toMatchObject({ status: 'charged', used: 32, remaining: 0 });
  });

  test('exhausted: a charge that does not fit charges nothing', async () => {
    const { store, pool } = env();
    const u = user();
    await store.charge(u, 30, D1);
    await expect(store.charge(u, 3, D1)).resolves.toEqual({ status: 'exhausted', charged: 0, used: 30, limit: 32, remaining: 2 });
    const { rows } = await pool.query('SELECT ticks_used FROM user_daily_usage WHERE user_id = $1', [u]);
    expect(rows).toEqual([{ ticks_used: 30 }]);
    await expect(store.charge(u, 2, D1)).resolves.toMatchObject({ status: 'charged', used: 32, remaining: 0 });
    await expect(store.charge(u, 1, D1)).resolves.toMatchObject({ status: 'exhausted', used: 32, remaining: 0 });
  });

  test('exceeds_limit: more than the whole daily limit, even on a fresh day, writes no row', async () => {
    const { store, pool } = env();
    const u = user();
    await expect(store.charge(u, 33, D1)).resolves.toEqual({ status: 'exceeds_limit', charged: 0, used: 0, limit: 32, remaining: 32 });
    const { rowCount } = await pool.query('SELECT 1 FROM user_daily_usage WHERE user_id = $1', [u]);
    expect(rowCount).toBe(0);
  });

  test('day rollover: a new usage date starts from zero, the old day is kept', async () => {
    const { store } = env();
    const u = user();
    await store.charge(u, 32, D1);
    await expect(store.charge(u, 1, D1)).resolves.toMatchObject({ status: 'exhausted' });
    await expect(store.charge(u, 1, D2)).resolves.toMatchObject({ status: 'charged', used: 1, remaining: 31 });
    await expect(store.usage(u, D1)).resolves.toEqual({ userId: u, usageDate: D1, ticksUsed: 32, limit: 32 });
  });

  test('limit change mid-day applies to the next charge, in both directions', async () => {
    const { store } = env();
    const u = user();
    await store.charge(u, 20, D1);
    await store.setLimit(u, 10);
    await expect(store.charge(u, 1, D1)).resolves.toEqual({ status: 'exhausted', charged: 0, used: 20, limit: 10, remaining: 0 });
    await store.setLimit(u, 25);
    await expect(store.charge(u, 5, D1)).resolves.toMatchObject({ status: 'charged', used: 25, limit: 25, remaining: 0 });
    await expect(store.charge(u, 26, D1)).resolves.toMatchObject({ status: 'exceeds_limit', used: 25 });
  });

  test('a later default does not change an existing profile', async () => {
    const { store, opts, pool } = env();
    const u = user();
    await store.charge(u, 1, D1);
    const other = createStore({ kind: env().name, pool, close: async () => {} }, { ...opts, defaultDailyTicks: 5 });
    await expect(other.charge(u, 10, D1)).resolves.toMatchObject({ status: 'charged', limit: 32 });
    await expect(other.charge(user(), 6, D1)).resolves.toMatchObject({ status: 'exceeds_limit', limit: 5 });
  });

  test('usage, reset and top', async () => {
    const { store } = env();
    const date = '2030-01-01'; // nobody else charges this day
    const [a, b, c] = [user(), user(), user()];
    await store.charge(a, 3, date);
    await store.charge(b, 9, date);
    await store.charge(c, 9, date);
    const top = await store.top(date, 2);
    expect(top.map((r) => r.ticksUsed)).toEqual([9, 9]);
    expect(top.map((r) => r.userId)).toEqual([b, c].sort());
    await expect(store.usage(a, '2030-01-02')).resolves.toEqual({ userId: a, usageDate: '2030-01-02', ticksUsed: 0, limit: 32 });
    await expect(store.usage('nobody-' + user(), date)).resolves.toBeUndefined();
    await expect(store.reset(b, date)).resolves.toBe(true);
    await expect(store.reset(b, date)).resolves.toBe(false);
    await expect(store.usage(b, date)).resolves.toMatchObject({ ticksUsed: 0 });
  });

  test('setLimit: unknown user refused unless create', async () => {
    const { store } = env();
    const u = user();
    await expect(store.setLimit(u, 7)).rejects.toMatchObject({ code: 'unknown_user' });
    await store.setLimit(u, 7, { create: true });
    await expect(store.usage(u, D1)).resolves.toMatchObject({ limit: 7, ticksUsed: 0 });
  });

  test('bad arguments are refused before reaching SQL', async () => {
    const { store } = env();
    for (const t of [0, -1, 1.5, NaN]) await expect(store.charge('x', t, D1)).rejects.toBeInstanceOf(QuotaStoreError);
    await expect(store.charge('', 1, D1)).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.charge('x', 1, '2024-02-30')).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.setLimit('x', 0)).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.top(D1, 0)).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  test('consume_ticks itself refuses a non-positive charge (defence in depth)', async () => {
    const { pool } = env();
    await expect(pool.query("SELECT * FROM consume_ticks('x', 0, '2024-01-01', 32)")).rejects.toMatchObject({ code: '22023' });
  });

  test('subjects are opaque text, not only UUIDs', async () => {
    const { store } = env();
    const u = `service-account-gateway@realm/${user()}`;
    await expect(store.charge(u, 1, D1)).resolves.toMatchObject({ status: 'charged' });
  });

  test('ping answers and poolStats reports the pool', async () => {
    const { store, name } = env();
    await expect(store.ping()).resolves.toBeUndefined();
    const s = store.poolStats();
    expect(s.total).toBeGreaterThanOrEqual(1);
    expect(s.waiting).toBe(0);
    expect(store.kind).toBe(name);
  });
});

eachBackend((env) => {
  test('daily limits are capped so a charge can never overflow consume_ticks', async () => {
    const { store, pool } = env();
    const u = `cap-${Math.random().toString(36).slice(2, 8)}`;
    await store.charge(u, 1, '2031-01-01');
    await expect(store.setLimit(u, 1_000_000_001)).rejects.toThrow(/from 1 to 1000000000/);
    await expect(pool.query('UPDATE profiles SET daily_tick_limit = 2000000000 WHERE user_id = $1', [u])).rejects.toThrow(/profiles_daily_tick_limit_max/);
    await store.setLimit(u, 1_000_000_000);
    await expect(store.charge(u, 999_999_999, '2031-01-01')).resolves.toMatchObject({ status: 'charged', used: 1_000_000_000, remaining: 0 });
    await expect(store.charge(u, 999_999_999, '2031-01-01')).resolves.toMatchObject({ status: 'exhausted', used: 1_000_000_000 });
  });
});
