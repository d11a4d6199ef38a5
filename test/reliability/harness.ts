// What the reliability suite adds to devkit/: a TCP proxy in front of Postgres that the test cuts
// and restores, a recording upstream, a keep-alive HTTPS client for load, the gateway (real NGINX)
// on free ports with its rate limits out of the way, closed-loop load and raw HTTP/1.1 bytes.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { startDemoUpstream } from '../../devkit/demo-upstream';
import { startLocalGateway, type LocalGateway } from '../../devkit/nginx';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until `ok` holds or `timeoutMs` passes; returns the last value either way. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = await fn();
  while (!ok(last) && Date.now() < end) {
    await sleep(everyMs);
    last = await fn();
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy we can cut: the database "goes away" for the validator without touching the
// machine's shared Postgres service.

export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /**
   * Cuts the link. `hard`: every open connection is destroyed at once (a reply in transit is lost).
   * `clean` (default): requests stop reaching the server first, replies already under way are
   * delivered for `settleMs`, then every connection is destroyed. New connections are refused
   * (accepted and reset) until restore().
   */
  cut(mode?: 'clean' | 'hard', settleMs?: number): Promise<void>;
  /**
   * A silent network: requests stop reaching the server (replies under way are still delivered),
   * open connections stay open and new ones are accepted but never connected through.
   */
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket; blocked: boolean }>();
  let down = false;
  let silent = false;
  let accepted = 0;
  const held = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    if (silent) {
      held.add(client);
      client.on('error', () => undefined);
      client.on('close', () => held.delete(client));
      return;
    }
    accepted++;
    const server = net.connect(targetPort, targetHost);
    const pair = { client, server, blocked: false };
    pairs.add(pair);
    client.on('data', (b) => {
      if (!pair.blocked && !server.destroyed) server.write(b);
    });
    server.on('data', (b) => {
      if (!client.destroyed) client.write(b);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('close', end);
    server.on('close', end);
    client.on('error', end);
    server.on('error', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    accepted: () => accepted,
    async cut(mode = 'clean', settleMs = 300) {
      down = true;
      if (mode === 'clean') {
        for (const p of pairs) p.blocked = true;
        await sleep(settleMs);
      }
      for (const p of [...pairs]) {
        p.client.resetAndDestroy();
        p.server.destroy();
      }
      pairs.clear();
    },
    blackhole() {
      silent = true;
      for (const p of pairs) p.blocked = true;
    },
    restore() {
      down = false;
      silent = false;
      for (const c of held) c.destroy();
      held.clear();
      // connections blocked by a blackhole stay useless (their requests were dropped): end them
      for (const p of [...pairs]) {
        if (!p.blocked) continue;
        p.client.destroy();
        p.server.destroy();
        pairs.delete(p);
      }
    },
    close: () =>
      new Promise<void>((r) => {
        for (const p of pairs) {
          p.client.destroy();
          p.server.destroy();
        }
        for (const c of held) c.destroy();
        srv.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// A recording upstream: every call with the identity it carried.

export interface RecordingUpstream {
  port: number;
  host: string;
  calls: Array<{ method: string; path: string; user: string | undefined; ticks: string | undefined }>;
  stop(): Promise<void>;
}

/** The demo upstream, keeping every call's identity. */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const calls: RecordingUpstream['calls'] = [];
  const u = await startDemoUpstream({
    onRequest: (e) =>
      calls.push({ method: e.method, path: e.path, user: e.headers['x-user-id'] ?? undefined, ticks: e.headers['x-ticks-charged'] ?? undefined }),
  });
  return { port: u.port, host: `127.0.0.1:${u.port}`, calls, stop: u.stop };
}

// ---------------------------------------------------------------------------------------------
// The gateway and a client for it.

export interface TestGateway extends LocalGateway {
  agent: https.Agent;
  /** One request through the gateway; never rejects on a network error (status 0). */
  request(p: string, o?: { method?: string; headers?: Record<string, string> }): Promise<GwResponse>;
}

export interface GwResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  error?: string;
}

/** devkit's local gateway with a keep-alive HTTPS client for load. */
export async function startTestGateway(validators: string[], apps: string[]): Promise<TestGateway> {
  const gw = await startLocalGateway({ validators, apps });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 256, ca: gw.ca });
  const stop = gw.stop;
  return Object.assign(gw, {
    agent,
    request: (p: string, o: { method?: string; headers?: Record<string, string> } = {}) => httpsRequest(gw.httpsUrl + p, agent, o),
    stop: async () => {
      agent.destroy();
      await stop();
    },
  });
}

export function httpsRequest(url: string, agent: https.Agent | http.Agent, o: { method?: string; headers?: Record<string, string> } = {}): Promise<GwResponse> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const req = mod.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: o.method ?? 'GET', headers: o.headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', (e) => resolve({ status: 0, headers: {}, body, error: e.message }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: '', error: e.message }));
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Closed-loop load: `concurrency` workers call `one()` back to back until stop().

export interface Load<R> {
  results: R[];
  /** Stops issuing requests and waits for the ones in flight. */
  stop(): Promise<R[]>;
}

export function startLoad<R>(concurrency: number, one: (i: number) => Promise<R>): Load<R> {
  const results: R[] = [];
  let running = true;
  let n = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) results.push(await one(n++));
  });
  return {
    results,
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return results;
    },
  };
}

/** Counts by key. */
export function tally<T>(xs: T[], key: (x: T) => string | number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[String(key(x))] = (out[String(key(x))] ?? 0) + 1;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1: bytes no HTTP client would send (control characters, bare CR/LF, huge headers).

export interface RawResponse {
  /** Status of the first response line; 0 = none within the timeout, -1 = closed without one. */
  status: number;
  /** Response head, lines split, header names lower-cased: [name, value][]. */
  headers: Array<[string, string]>;
  text: string;
}

export function rawHttp(port: number, bytes: Buffer, timeoutMs = 3000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      const text = got.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      const head = text.split('\r\n\r\n')[0]!.split('\r\n').slice(1);
      resolve({
        status: m ? Number(m[1]) : text ? -1 : timedOut ? 0 : -1,
        headers: head.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]),
        text,
      });
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      done();
    }, timeoutMs);
    s.on('data', (b) => {
      got = Buffer.concat([got, b]);
      // one response is enough (Connection: close makes the server end it anyway)
      const text = got.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      if (end >= 0 && len !== undefined && got.length >= end + 4 + Number(len)) done();
    });
    s.on('error', done);
    s.on('close', done);
    // write, not end: Node's HTTP server aborts a pending request when the client half-closes
    s.write(bytes);
  });
}

/** A GET /api/auth/validate with the given header lines (values as raw bytes), Connection: close. */
export function validateRequest(headers: Array<[string, Buffer | string]>, target = '/api/auth/validate'): Buffer {
  return Buffer.concat([
    Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n`, 'latin1'),
    ...headers.map(([k, v]) => Buffer.concat([Buffer.from(`${k}: `, 'latin1'), typeof v === 'string' ? Buffer.from(v, 'latin1') : v, Buffer.from('\r\n')])),
    Buffer.from('Connection: close\r\n\r\n'),
  ]);
}
