// Idempotent charges on both backends: a charge id is charged once per user (retries and
// concurrent duplicates report the original charge), refusals record nothing, receipts expire.
import { randomBytes } from 'node:crypto';
import { openStore } from '../../validator/store';
import type { ChargeResult, QuotaStore } from '../../validator/store/types';
import { baseOptions, eachBackend } from './backends';

let seq = 0;
const user = () => `rcpt-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
const id = () => randomBytes(16).toString('hex');
const D1 = '2024-07-01';
const D2 = '2024-07-02';

eachBackend((env) => {
  const used = async (u: string, date = D1): Promise<number> => (await env().store.usage(u, date))?.ticksUsed ?? 0;
  const receipts = async (where: string, params: unknown[]): Promise<number> =>
    Number((await env().pool.query(`SELECT count(*)::int AS n FROM tollgate_charge_receipts WHERE ${where}`, params)).rows[0].n);

  test('the same id twice: charged once, the repeat reports the same charge as a replay', async () => {
    const { store } = env();
    const u = user();
    const c = id();
    const first = await store.charge(u, 3, D1, c);
    expect(first).toEqual({ status: 'charged', charged: 3, used: 3, limit: 32, remaining: 29 });
    const again = await store.charge(u, 3, D1, c);
    expect(again).toEqual({ ...first, replayed: true });
    expect(await used(u)).toBe(3);
    expect(await receipts('user_id = $1', [u])).toBe(1);
  });

  test('a repeat reports the original charge even when it asks for other ticks or another day', async () => {
    const { store } = env();
    const u = user();
    const c = id();
    await store.charge(u, 2, D1, c);
    // a retry that crosses midnight, or lands on an instance with another QUOTA_DEFAULT_TICKS
    await expect(store.charge(u, 5, D2, c)).resolves.toEqual({ status: 'charged', charged: 2, used: 2, limit: 32, remaining: 30, replayed: true });
    expect([await used(u, D1), await used(u, D2)]).toEqual([2, 0]);
  });

  test('different ids each charge', async () => {
    const { store } = env();
    const u = user();
    await store.charge(u, 1, D1, id());
    await expect(store.charge(u, 1, D1, id())).resolves.toEqual({ status: 'charged', charged: 1, used: 2, limit: 32, remaining: 30 });
  });

  test("another user's id is a fresh, full charge (never free), and then idempotent for that user too", async () => {
    const { store } = env();
    const [a, b] = [user(), user()];
    const c = id();
    await store.charge(a, 4, D1, c);
    await expect(store.charge(b, 4, D1, c)).resolves.toEqual({ status: 'charged', charged: 4, used: 4, limit: 32, remaining: 28 });
    await expect(store.charge(b, 4, D1, c)).resolves.toMatchObject({ charged: 4, used: 4, replayed: true });
    await expect(store.charge(a, 4, D1, c)).resolves.toMatchObject({ charged: 4, used: 4, replayed: true });
    expect([await used(a), await used(b)]).toEqual([4, 4]);
  });

  test('20 concurrent charges with one id: one charge, every call reports it', async () => {
    const { name, opts, store } = env();
    // On the server, half go through a second pool: a second validator instance.
    const second: QuotaStore = name === 'server' ? await openStore(baseOptions({ url: opts.url })) : store;
    try {
      const u = user();
      const c = id();
      const results: ChargeResult[] = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? second : store).charge(u, 2, D1, c)));
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      for (const r of results) expect(r).toMatchObject({ status: 'charged', charged: 2 });
      expect(await used(u)).toBe(2);
      expect(await receipts('charge_id = $1', [c])).toBe(1);
    } finally {
      if (second !== store) await second.close();
    }
  });

  test('without an id every call charges, as before, and leaves no receipt', async () => {
    const { store } = env();
    const u = user();
    await store.charge(u, 3, D1);
    await expect(store.charge(u, 3, D1)).resolves.toEqual({ status: 'charged', charged: 3, used: 6, limit: 32, remaining: 26 });
    expect(await receipts('user_id = $1', [u])).toBe(0);
  });

  test('a refused charge records nothing: the same id is judged afresh once ticks are available', async () => {
    const { store } = env();
    const u = user();
    await store.charge(u, 31, D1);
    const c = id();
    await expect(store.charge(u, 2, D1, c)).resolves.toEqual({ status: 'exhausted', charged: 0, used: 31, limit: 32, remaining: 1 });
    await expect(store.charge(u, 40, D1, id())).resolves.toMatchObject({ status: 'exceeds_limit', charged: 0 });
    expect(await receipts('user_id = $1', [u])).toBe(0);
    await store.setLimit(u, 40);
    await expect(store.charge(u, 2, D1, c)).resolves.toEqual({ status: 'charged', charged: 2, used: 33, limit: 40, remaining: 7 });
  });

  test('receipts older than two days are purged by later charges, a few at a time', async () => {
    const { store, pool } = env();
    const old = user();
    await pool.query(
      `INSERT INTO tollgate_charge_receipts (charge_id, user_id, usage_date, ticks, created_at)
       SELECT 'old-' || g, $1, '2024-01-01', 1, now() - interval '3 days' - g * interval '1 second' FROM generate_series(1, 5) g`,
      [old],
    );
    await pool.query(
      `INSERT INTO tollgate_charge_receipts (charge_id, user_id, usage_date, ticks, created_at) VALUES ('recent', $1, '2024-01-01', 1, now() - interval '1 day')`,
      [old],
    );
    const u = user();
    await store.charge(u, 1, D1, id());
    expect(await receipts('user_id = $1', [old])).toBe(4); // the two oldest went first
    await store.charge(u, 1, D1, id());
    await store.charge(u, 1, D1, id());
    await store.charge(u, 1, D1, id());
    expect((await pool.query('SELECT charge_id FROM tollgate_charge_receipts WHERE user_id = $1', [old])).rows).toEqual([{ charge_id: 'recent' }]);
    expect(await receipts('user_id = $1', [u])).toBe(4);
  });

  test('a malformed id is refused before SQL, and by the function itself', async () => {
    const { store, pool } = env();
    for (const bad of ['', 'x'.repeat(129), 'has space', 'tab\t']) {
      await expect(store.charge(user(), 1, D1, bad)).rejects.toMatchObject({ code: 'invalid_argument' });
    }
    await expect(pool.query("SELECT * FROM consume_ticks_once('', 'x', 1, '2024-01-01', 32)")).rejects.toMatchObject({ code: '22023' });
    await expect(pool.query("SELECT * FROM consume_ticks_once('c', 'x', 0, '2024-01-01', 32)")).rejects.toMatchObject({ code: '22023' });
  });

  test('Supabase API roles can neither read receipts nor call consume_ticks_once', async () => {
    const c = await env().pool.connect();
    try {
      for (const role of ['authenticated', 'anon']) {
        await c.query('BEGIN');
        await c.query(`SET LOCAL ROLE ${role}`);
        await expect(c.query('SELECT * FROM tollgate_charge_receipts')).rejects.toMatchObject({ code: '42501' });
        await c.query('ROLLBACK');
        await c.query('BEGIN');
        await c.query(`SET LOCAL ROLE ${role}`);
        await expect(c.query("SELECT * FROM consume_ticks_once('c', 'x', 1, '2024-01-01', 32)")).rejects.toMatchObject({ code: '42501' });
        await c.query('ROLLBACK');
      }
    } finally {
      c.release();
    }
  });
});
