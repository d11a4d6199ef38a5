// A database that is not there must fail fast with an error — never hang a decision — and
// a pool must survive a server dropping its idle connections.
import net from 'node:net';
import { CONNECT_TIMEOUT_MS, openDb } from '../../validator/store/db';
import { openStore } from '../../validator/store';
import { freshServerDatabase, serverUrlOrSkip } from '../../devkit/pg';
import { baseOptions } from './backends';

/** A TCP port that accepts connections and never answers: the worst kind of dead server. */
async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** A port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('opening a store does not need the database (the validator starts while it is down)', async () => {
  const store = await openStore(baseOptions({ url: `postgres://postgres@127.0.0.1:${await closedPort()}/x` }));
  await store.close();
});

test('closed port: charge and ping reject at once with ECONNREFUSED', async () => {
  const store = await openStore(baseOptions({ url: `postgres://postgres@127.0.0.1:${await closedPort()}/x` }));
  try {
    const t0 = Date.now();
    await expect(store.charge('u', 1, '2024-01-01')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(store.ping()).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(CONNECT_TIMEOUT_MS);
    expect(store.poolStats()).toEqual({ total: 0, idle: 0, waiting: 0 });
  } finally {
    await store.close();
  }
});

test('silent server: charge rejects after the connection timeout instead of hanging', async () => {
  const bh = await blackhole();
  const store = await openStore(baseOptions({ url: `postgres://postgres@127.0.0.1:${bh.port}/x` }));
  try {
    const t0 = Date.now();
    await expect(store.charge('u', 1, '2024-01-01')).rejects.toThrow(/timeout/i);
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(CONNECT_TIMEOUT_MS + 1500);
    await expect(store.ping()).rejects.toThrow(/timeout/i);
  } finally {
    await store.close();
    await bh.close();
  }
}, 15_000);

const serverUrl = serverUrlOrSkip();
const serverTest = serverUrl ? test : test.skip;

// PGlite runs in-process and ignores startup parameters, so this is a server-only concern.
serverTest('server: a statement slower than statement_timeout is cancelled', async () => {
  const raw = await openDb(baseOptions({ url: serverUrl, statementTimeoutMs: 200 }));
  try {
    await expect(raw.pool.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' }); // query_canceled
  } finally {
    await raw.close();
  }
});

serverTest('server: killed connections do not crash the process and the pool recovers', async () => {
  const fresh = await freshServerDatabase(serverUrl);
  const store = await openStore(baseOptions({ url: fresh.url, migrate: true }));
  try {
    await store.charge('k', 1, '2024-01-01'); // leaves an idle connection in the pool
    // Terminate every backend of the test database, as a restart or failover would.
    const admin = await openDb(baseOptions({ url: serverUrl }));
    await admin.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
      new URL(fresh.url).pathname.slice(1),
    ]);
    await admin.close();
    await new Promise((r) => setTimeout(r, 100)); // let the pool see the 'error' on its idle client
    await expect(store.charge('k', 1, '2024-01-01')).resolves.toMatchObject({ status: 'charged', used: 2 });
  } finally {
    await store.close();
    await fresh.drop();
  }
});

describe('embedded store after a failed statement', () => {
  test('a statement that fails does not break the single embedded connection', async () => {
    const db = await openDb({ dataDir: 'memory://', poolMax: 1, statementTimeoutMs: 0, ssl: false, defaultDailyTicks: 32 });
    try {
      await db.pool.query('CREATE TABLE t (x int CHECK (x < 5))');
      await expect(db.pool.query('INSERT INTO t VALUES (10)')).rejects.toThrow(/t_x_check/);
      await expect(db.pool.query('SELECT $1::int AS n', ['abc'])).rejects.toThrow(/invalid input syntax/);
      const c = await db.pool.connect();
      await expect(c.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
      c.release(new Error('discard this client'));
      await expect(db.pool.query('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] });
    } finally {
      await db.close();
    }
  });
});
