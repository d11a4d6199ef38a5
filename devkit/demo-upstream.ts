// Demo upstream behind the gateway: echoes, as JSON, what NGINX forwarded (method, path,
// identity and ticks headers) and counts the calls, so tests can prove "never called".
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The identity headers the gateway sets; echoed under `headers` (null when absent). */
export const ECHOED_HEADERS = ['x-user-id', 'x-scopes', 'x-client-id', 'x-user-email', 'x-ticks-charged', 'x-ticks-remaining', 'x-request-id'] as const;

/** Path of the call counter. NGINX only proxies /api/ here, so it is not reachable through it. */
export const CALLS_PATH = '/__calls';

export interface EchoBody {
  method: string;
  path: string;
  /** The Host header as received (the gateway sets it; never the client's choice). */
  host: string | null;
  headers: Record<(typeof ECHOED_HEADERS)[number], string | null>;
  /** Every other x-* request header (names lower-case), to spot anything that leaked through. */
  otherXHeaders: Record<string, string>;
  /** Every request header name as received (lower-case), x-* or not (Remote-User, Forwarded …). */
  headerNames: string[];
  /** W3C Trace Context as it arrived (null when absent): the gateway must pass the client's on. */
  traceContext: { traceparent: string | null; tracestate: string | null };
}

export interface DemoUpstream {
  url: string;
  port: number;
  /** Requests served so far, the admin path excluded. */
  calls(): number;
  /** Of those, the ones that arrived without X-User-Id: through the gateway, there must be none. */
  anonymous(): number;
  /** The last echoed request, if any. */
  last(): EchoBody | undefined;
  reset(): void;
  stop(): Promise<void>;
}

export interface DemoUpstreamOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Called with every echoed request (a test that records what reached the application). */
  onRequest?: (echo: EchoBody) => void;
}

function echo(req: http.IncomingMessage): EchoBody {
  const one = (name: string): string | null => {
    const v = req.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  };
  const headers = Object.fromEntries(ECHOED_HEADERS.map((h) => [h, one(h)])) as EchoBody['headers'];
  const otherXHeaders: Record<string, string> = {};
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-') && !(ECHOED_HEADERS as readonly string[]).includes(name)) {
      otherXHeaders[name] = one(name) ?? '';
    }
  }
  const headerNames = req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  const traceContext = { traceparent: one('traceparent'), tracestate: one('tracestate') };
  return { method: req.method ?? '', path: req.url ?? '', host: one('host'), headers, otherXHeaders, headerNames, traceContext };
}

/** Start the echo server. */
export async function startDemoUpstream(opts: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  let calls = 0;
  let anonymous = 0;
  let last: EchoBody | undefined;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === CALLS_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ calls }));
      return;
    }
    req.resume();
    req.on('end', () => {
      calls += 1;
      last = echo(req);
      if (last.headers['x-user-id'] === null) anonymous += 1;
      opts.onRequest?.(last);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(last));
    });
  });
  server.keepAliveTimeout = 70_000; // longer than NGINX's upstream keepalive_timeout (60 s)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    port,
    calls: () => calls,
    anonymous: () => anonymous,
    last: () => last,
    reset: () => {
      calls = 0;
      anonymous = 0;
      last = undefined;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// CLI (`node dist/devkit/demo-upstream.js`, compose's upstream): DEMO_UPSTREAM_PORT, else PORT
// (default 3002); DEMO_UPSTREAM_HOST, else HOST (default 127.0.0.1). PORT/HOST are what compose.yaml
// sets for the container.
if (require.main === module) {
  const env = process.env;
  startDemoUpstream({
    port: Number(env.DEMO_UPSTREAM_PORT ?? env.PORT ?? 3002),
    host: env.DEMO_UPSTREAM_HOST ?? env.HOST ?? '127.0.0.1',
  }).then(
    (u) => {
      console.log(JSON.stringify({ msg: 'listening', service: 'demo-upstream', port: u.port }));
      const stop = (): void => void u.stop().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: Error) => {
      console.error(`demo-upstream: ${err.message}`);
      process.exit(1);
    },
  );
}
