// Row-level security as Supabase clients see it: role `authenticated` with the JWT claims
// PostgREST sets. Users read only their own rows and cannot write usage at all.
import type pg from 'pg';
import { eachBackend } from './backends';

const D = '2024-05-01';

/** Run `fn` in a transaction as role `authenticated` with `sub` = user; always rolled back. */
async function asUser<T>(pool: pg.Pool, sub: string | undefined, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE authenticated');
    if (sub !== undefined) {
      await c.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub, role: 'authenticated' })]);
    }
    return await fn(c);
  } finally {
    await c.query('ROLLBACK');
    c.release();
  }
}

/** Expect `sql` to fail; the failed statement aborts the transaction, so use a savepoint. */
async function refused(c: pg.PoolClient, sql: string, params: unknown[] = []): Promise<string> {
  await c.query('SAVEPOINT s');
  try {
    await c.query(sql, params);
  } catch (err) {
    await c.query('ROLLBACK TO SAVEPOINT s');
    return (err as { code: string }).code;
  }
  throw new Error(`expected refusal: ${sql}`);
}

eachBackend((env) => {
  beforeAll(async () => {
    await env().store.charge('rls-A', 3, D);
    await env().store.charge('rls-B', 5, D);
  });

  test('a user sees only their own usage and profile', async () => {
    await asUser(env().pool, 'rls-A', async (c) => {
      expect((await c.query('SELECT auth.uid()::text AS uid')).rows).toEqual([{ uid: 'rls-A' }]);
      expect((await c.query('SELECT user_id, ticks_used FROM user_daily_usage')).rows).toEqual([{ user_id: 'rls-A', ticks_used: 3 }]);
      expect((await c.query("SELECT * FROM user_daily_usage WHERE user_id = 'rls-B'")).rowCount).toBe(0);
      expect((await c.query('SELECT user_id FROM profiles')).rows).toEqual([{ user_id: 'rls-A' }]);
    });
  });

  test('no claims, or an empty sub, sees nothing', async () => {
    for (const sub of [undefined, '']) {
      await asUser(env().pool, sub, async (c) => {
        expect((await c.query('SELECT * FROM user_daily_usage')).rowCount).toBe(0);
      });
    }
  });

  test('direct writes are refused, even to own rows', async () => {
    await asUser(env().pool, 'rls-A', async (c) => {
      const denied = '42501'; // insufficient_privilege
      expect(await refused(c, "UPDATE user_daily_usage SET ticks_used = 0 WHERE user_id = 'rls-A'")).toBe(denied);
      expect(await refused(c, `INSERT INTO user_daily_usage (user_id, usage_date, ticks_used) VALUES ('rls-A', '${D}'::date + 1, 0)`)).toBe(denied);
      expect(await refused(c, "DELETE FROM user_daily_usage WHERE user_id = 'rls-A'")).toBe(denied);
      expect(await refused(c, "UPDATE profiles SET daily_tick_limit = 1000000 WHERE user_id = 'rls-A'")).toBe(denied);
      expect(await refused(c, `SELECT * FROM consume_ticks('rls-A', 1, '${D}', 32)`)).toBe(denied);
    });
  });

  test('with Supabase-style table grants, RLS alone still blocks writes', async () => {
    // Supabase grants ALL on public tables to `authenticated` by default; the policies must
    // hold on their own. GRANT is transactional: the ROLLBACK below undoes it.
    const c = await env().pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('GRANT INSERT, UPDATE, DELETE ON user_daily_usage TO authenticated');
      await c.query('SET LOCAL ROLE authenticated');
      await c.query('SELECT set_config(\'request.jwt.claims\', \'{"sub":"rls-A"}\', true)');
      expect((await c.query("UPDATE user_daily_usage SET ticks_used = 0 WHERE user_id = 'rls-A'")).rowCount).toBe(0);
      expect((await c.query("DELETE FROM user_daily_usage WHERE user_id = 'rls-B'")).rowCount).toBe(0);
      expect(await refused(c, `INSERT INTO user_daily_usage (user_id, usage_date) VALUES ('rls-A', '2024-05-02')`)).toBe('42501');
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
    await expect(env().store.usage('rls-A', D)).resolves.toMatchObject({ ticksUsed: 3 });
  });

  test('anon reads nothing', async () => {
    const c = await env().pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE anon');
      expect(await refused(c, 'SELECT * FROM user_daily_usage')).toBe('42501');
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });
});
