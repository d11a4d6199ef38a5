// Two validators sharing one database must never over-spend: 200 simultaneous 1-tick charges
// against a limit of 32, split over two independent pools, charge exactly 32.
import { openStore } from '../../validator/store';
import type { ChargeResult, QuotaStore } from '../../validator/store/types';
import { baseOptions, eachBackend } from './backends';

const D = '2024-06-01';

function tally(results: ChargeResult[]) {
  const by = (s: string) => results.filter((r) => r.status === s).length;
  return { charged: by('charged'), exhausted: by('exhausted'), other: results.length - by('charged') - by('exhausted') };
}

eachBackend((env) => {
  test('200 concurrent 1-tick charges, limit 32: exactly 32 charged, 168 exhausted', async () => {
    const { name, opts, store, pool } = env();
    // On the server, a second store = a second validator: its own pool of 10 connections.
    const second: QuotaStore = name === 'server' ? await openStore(baseOptions({ url: opts.url })) : store;
    try {
      const user = `burst-${name}`;
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? second : store).charge(user, 1, D)));
      const ms = Date.now() - started;
      expect(tally(results)).toEqual({ charged: 32, exhausted: 168, other: 0 });
      // Every charged call saw a distinct running total 1..32: no two increments collided.
      expect(
        results
          .filter((r) => r.status === 'charged')
          .map((r) => r.used)
          .sort((a, b) => a - b),
      ).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
      const { rows } = await pool.query('SELECT ticks_used FROM user_daily_usage WHERE user_id = $1 AND usage_date = $2', [user, D]);
      expect(rows).toEqual([{ ticks_used: 32 }]);
      console.info(`${name}: 200 concurrent charges in ${ms} ms`);
    } finally {
      if (second !== store) await second.close();
    }
  });

  test('mixed sizes under contention never exceed the limit', async () => {
    const { store, pool } = env();
    const user = `mixed-${env().name}`;
    const sizes = Array.from({ length: 120 }, (_, i) => 1 + (i % 5));
    const results = await Promise.all(sizes.map((t) => store.charge(user, t, D)));
    const charged = results.filter((r) => r.status === 'charged').reduce((a, r) => a + r.charged, 0);
    const { rows } = await pool.query('SELECT ticks_used FROM user_daily_usage WHERE user_id = $1', [user]);
    expect(rows[0].ticks_used).toBe(charged);
    expect(charged).toBeLessThanOrEqual(32);
    expect(charged).toBeGreaterThanOrEqual(28); // greedy fill: at most 4 short of the limit with sizes <= 5
  });
});
