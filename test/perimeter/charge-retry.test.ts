// A charge happens once per client request even when NGINX retries the auth subrequest after the
// validator committed it: one validator sits behind a proxy that waits for its full answer, then
// resets NGINX's connection instead of relaying it, so NGINX (`proxy_next_upstream error`) asks the
// second validator. Both share one Postgres database; the ticks used must equal the requests sent.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDevCerts } from '../../devkit/certs';
import { startDemoUpstream, type DemoUpstream } from '../../devkit/demo-upstream';
import { startGateway, type Gateway } from '../../devkit/nginx';
import { openStore } from '../../validator/store';
import { request } from '../e2e/client';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { freshServerDatabase, serverUrlOrSkip, type FreshDatabase } from '../../devkit/pg';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';

/** What the resetting proxy saw: one entry per connection NGINX opened to it. */
interface Seen {
  chargeId?: string;
  uri?: string;
  /** The validator's status line, which NGINX never received. */
  answered?: string;
}

/**
 * Forwards each connection to `target`, reads the validator's complete answer (so its charge is
 * committed: the validator writes only after consume_ticks returned), then resets the connection
 * to NGINX (RST, nothing relayed): NGINX sees "connection reset while reading response header".
 */
async function startResettingProxy(target: number): Promise<{ port: number; seen: Seen[]; resets(): number; stop(): Promise<void> }> {
  const seen: Seen[] = [];
  let resets = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const entry: Seen = {};
    seen.push(entry);
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    let req = '';
    client.on('data', (b: Buffer) => {
      req += b.toString('latin1');
      const head = req.split('\r\n\r\n')[0]!;
      entry.chargeId ??= /\r\nx-tollgate-charge-id: *([^\r]*)/i.exec(head)?.[1];
      entry.uri ??= /\r\nx-original-uri: *([^\r]*)/i.exec(head)?.[1];
      upstream.write(b);
    });
    let res = Buffer.alloc(0);
    upstream.on('data', (b: Buffer) => {
      res = Buffer.concat([res, b]);
      const end = res.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = res.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (res.length < end + 4 + length) return;
      entry.answered = head.split('\r\n')[0];
      resets++;
      client.resetAndDestroy();
      upstream.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    resets: () => resets,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Polls `get` until `done` holds (logs are written just after the response): at most 3 s. */
async function settled<T>(get: () => T, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 3000;
  let v = get();
  while (!done(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    v = get();
  }
  return v;
}

const serverUrl = serverUrlOrSkip();
const d = serverUrl ? describe : describe.skip;
const N = 6;

d('NGINX retries a charged decision after a reset: charged once', () => {
  let root: string;
  let db: FreshDatabase;
  let iss: TestIssuer;
  let key: TestKey;
  let upstream: DemoUpstream;
  let proxy: Awaited<ReturnType<typeof startResettingProxy>>;
  let gw: Gateway;
  let ca: Buffer;
  const vs: ValidatorProcess[] = [];

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-retry-'));
    fs.chmodSync(root, 0o755); // NGINX workers (nobody) read the certificate below it
    db = await freshServerDatabase(serverUrl);
    // Migrate once, before two validators start (they do not migrate in NODE_ENV=test).
    await (await openStore({ url: db.url, dataDir: '', poolMax: 1, statementTimeoutMs: 5000, ssl: false, defaultDailyTicks: 100, migrate: true })).close();
    key = await makeKey('ES256', 'retry');
    iss = await TestIssuer.start([key]);
    upstream = await startDemoUpstream();
    const env = {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'wavestack',
      DATABASE_URL: db.url,
      MIGRATE_ON_START: 'false',
      QUOTA_ROUTES: 'POST /api/tasks',
      QUOTA_DEFAULT_DAILY_TICKS: '100',
      QUOTA_TRUST_CHARGE_ID: 'true', // as compose.yaml sets it behind this template
    };
    vs.push(await spawnValidator(env), await spawnValidator(env));
    proxy = await startResettingProxy(vs[0]!.port);
    const tls = ensureDevCerts({ dir: path.join(root, 'certs') });
    ca = fs.readFileSync(tls.certFile);
    fs.mkdirSync(path.join(root, 'files'));
    gw = await startGateway({
      env: {},
      httpsPort: 0,
      httpPort: 0,
      apps: [`127.0.0.1:${upstream.port}`],
      vars: {
        // Deterministic: every subrequest goes to the resetting instance first (max_fails=0: never
        // marked down), and its retry to the other one (`backup`: used when the first one failed).
        GATEWAY_VALIDATOR_SERVERS: `server 127.0.0.1:${proxy.port} max_fails=0; server 127.0.0.1:${vs[1]!.port} backup;`,
        GATEWAY_TLS_CERT: tls.certFile,
        GATEWAY_TLS_KEY: tls.keyFile,
        GATEWAY_FILES_ROOT: path.join(root, 'files') + '/',
        GATEWAY_RATE_PER_IP: '1000r/s',
        GATEWAY_BURST_PER_IP: '1000',
        GATEWAY_RATE_PER_CREDENTIAL: '1000r/s',
        GATEWAY_BURST_PER_CREDENTIAL: '1000',
      },
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await proxy?.stop();
    await Promise.all(vs.map((v) => v.stop()));
    await upstream?.stop();
    await iss?.stop();
    await db?.drop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test(`${N} charged requests, each answered by a validator whose answer was reset: ${N} ticks, ${N} × 200`, async () => {
    const sub = 'retried-client';
    const tok = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub } });
    const statuses: number[] = [];
    try {
      for (let i = 0; i < N; i++) {
        const r = await request(gw.httpsUrl, `/api/tasks?n=${i}`, {
          method: 'POST',
          ca,
          headers: { authorization: `Bearer ${tok}`, 'x-max-ticks': '1' },
          body: '{}',
        });
        statuses.push(r.status);
        expect(r.json()).toMatchObject({ headers: { 'x-user-id': sub, 'x-ticks-charged': '1' } });
      }
      expect(statuses).toEqual(Array(N).fill(200));
      expect(upstream.calls()).toBe(N);

      // The point: every client request was charged (and committed) by the first instance, whose
      // answer NGINX never got; NGINX asked the second one; yet one tick per request, not two.
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      let ticksUsed: number;
      try {
        const { rows } = await c.query('SELECT coalesce(sum(ticks_used), 0)::int AS used FROM user_daily_usage WHERE user_id = $1', [sub]);
        ticksUsed = rows[0].used as number;
      } finally {
        await c.end();
      }
      expect({ requests: N, chargedThenReset: proxy.resets(), ticksUsed }).toEqual({ requests: N, chargedThenReset: N, ticksUsed: N });

      // Each client request reached the resetting instance once and was answered there; each
      // carried its own gateway id, NGINX's $request_id (also the access log's request_id).
      expect(proxy.seen.map((s) => s.uri)).toEqual(Array.from({ length: N }, (_, i) => `/api/tasks?n=${i}`));
      expect(proxy.seen.map((s) => s.answered)).toEqual(Array(N).fill('HTTP/1.1 200 OK'));
      const ids = proxy.seen.map((s) => s.chargeId);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(new Set(ids).size).toBe(N);

      // NGINX retried each subrequest on the second instance: a reset, then a 200...
      expect(gw.errorLog()).toMatch(/recv\(\) failed \(104: Connection reset by peer\) while reading response header from upstream/);
      const lines = await settled(
        () => gw.accessLog().filter((l) => String(l.uri).startsWith('/api/tasks')),
        (l) => l.length >= N,
      );
      expect(lines.map((l) => l.auth_status)).toEqual(Array(N).fill('502, 200'));
      expect(lines.map((l) => l.request_id)).toEqual(ids);
      // ...with the same id: the second instance found each charge already made.
      const replayLines = await settled(
        () =>
          vs[1]!
            .logs()
            .split('\n')
            .filter((l) => l.includes('charge replayed')),
        (l) => l.length >= N,
      );
      expect(replayLines.map((l) => (JSON.parse(l) as { charge_id: string }).charge_id)).toEqual(ids);
    } catch (err) {
      console.error(
        `charge-retry failure; logs:\n--- nginx error log ---\n${gw.errorLog()}\n--- validator 1 ---\n${vs[0]!.logs()}\n--- validator 2 ---\n${vs[1]!.logs()}`,
      );
      throw err;
    }
  });
});
