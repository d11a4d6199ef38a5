// The charge runs as a named prepared statement; a connection that lost it, or that cannot take it,
// still charges exactly once (both backends, over one connection so every step hits the same one).
import { createStore } from '../../validator/store';
import { openDb, type Db } from '../../validator/store/db';
import { eachBackend } from './backends';

const D = '2024-05-01';
const user = () => `prep-${Math.random().toString(36).slice(2, 10)}`;

eachBackend((env) => {
  let db: Db;
  beforeAll(async () => {
    const { name, opts, pool } = env();
    // The embedded pool already has one connection; the server gets a pool of one of its own.
    db = name === 'server' ? await openDb({ ...opts, poolMax: 1 }) : { kind: 'embedded', pool, close: async () => {} };
  });
  afterAll(() => db.close());

  const prepared = async () =>
    (await db.pool.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE name LIKE 'tollgate\\_%'")).rows.map((r) => r.name);

  test('charges once per call through a failed statement and a forgotten statement', async () => {
    const store = createStore(db, env().opts);
    const u = user();
    await db.pool.query('DEALLOCATE ALL');
    await expect(store.charge(u, 1, D)).resolves.toMatchObject({ status: 'charged', used: 1 });
    expect(await prepared()).toHaveLength(1);

    // A failed statement: pg discards its client. The server gives the next one a new session; the
    // embedded backend keeps the statement its new client does not know of (42P05).
    await expect(db.pool.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    await expect(store.charge(u, 2, D)).resolves.toMatchObject({ status: 'charged', charged: 2, used: 3 });

    // The session forgot it behind the client's back, as a transaction-mode pooler's other connection would (26000).
    await db.pool.query('DEALLOCATE ALL');
    await expect(store.charge(u, 4, D)).resolves.toMatchObject({ status: 'charged', charged: 4, used: 7 });
    await expect(store.charge(u, 1, D)).resolves.toMatchObject({ status: 'charged', used: 8 });
    await expect(store.usage(u, D)).resolves.toMatchObject({ ticksUsed: 8 });
  });

  test('the charge with an id is prepared too, and a replay still charges nothing', async () => {
    const store = createStore(db, env().opts);
    const u = user();
    await db.pool.query('DEALLOCATE ALL');
    await expect(store.charge(u, 3, D, 'req-1')).resolves.toMatchObject({ status: 'charged', used: 3 });
    expect(await prepared()).toHaveLength(1);
    await db.pool.query('DEALLOCATE ALL');
    await expect(store.charge(u, 3, D, 'req-1')).resolves.toMatchObject({ status: 'charged', charged: 3, used: 3, replayed: true });
    await expect(store.charge(u, 3, D, 'req-2')).resolves.toMatchObject({ status: 'charged', used: 6 });
  });
});
