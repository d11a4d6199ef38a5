// W3C Trace Context through the real NGINX: a client's traceparent reaches the validator (its trace
// id is in the decision's log line) and the upstream unchanged; a malformed one is passed on but not
// logged. With TOLLGATE_TRACING=otlp the validator exports the decision's span (a child of the
// client's) and its stages' spans (store call, JWKS fetch) to an OTLP/HTTP receiver run here, and
// no exported byte carries the token.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { nginxOrSkip, startLocalGateway, type LocalGateway } from '../../devkit/nginx';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { request } from './client';

const d = nginxOrSkip('trace context through NGINX') ? describe : describe.skip;

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${CLIENT_SPAN}-01`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

/** A tiny OTLP/HTTP receiver: keeps every POST body to /v1/traces (JSON, as the exporter sends it). */
async function startReceiver(): Promise<{ url: string; bodies: string[]; spans(): OtlpSpan[]; stop(): Promise<void> }> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const spans = () =>
    bodies.flatMap((b) =>
      (JSON.parse(b) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }).resourceSpans.flatMap((rs) =>
        rs.scopeSpans.flatMap((ss) => ss.spans),
      ),
    );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    spans,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};

/** The decision log line of `requestId` (the gateway's X-Request-Id) in a validator's output. */
function decisionLine(logs: string, requestId: string): Record<string, unknown> | undefined {
  for (const l of logs.split('\n')) {
    if (!l.includes(requestId)) continue;
    const j = JSON.parse(l) as Record<string, unknown>;
    if (j.request_id === requestId && 'granted' in j) return j;
  }
  return undefined;
}

d('trace context through NGINX', () => {
  let iss: TestIssuer;
  let key: TestKey;
  let upstream: DemoUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let plain: ValidatorProcess;
  let traced: ValidatorProcess;
  let gwPlain: LocalGateway;
  let gwTraced: LocalGateway;
  let ca: Buffer;
  let token: string;

  beforeAll(async () => {
    key = await makeKey('ES256', 'trace-1');
    iss = await TestIssuer.start([key]);
    token = await mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { scope: 'api:write' } });
    upstream = await startDemoUpstream();
    receiver = await startReceiver();
    const env = {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: iss.jwksUrl,
      AUTH_JWKS_COOLDOWN_S: '0',
      QUOTA_ROUTES: 'POST /api/tasks',
      QUOTA_DEFAULT_DAILY_TICKS: '1000',
    };
    plain = await spawnValidator(env);
    traced = await spawnValidator({
      ...env,
      TOLLGATE_TRACING: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SERVICE_NAME: 'tollgate-test',
    });
    const gateway = (v: ValidatorProcess) => startLocalGateway({ validators: [`127.0.0.1:${v.port}`], apps: [`127.0.0.1:${upstream.port}`] });
    gwPlain = await gateway(plain);
    gwTraced = await gateway(traced);
    // each gateway has its own certificate: trust both
    ca = Buffer.concat([gwPlain.ca, gwTraced.ca]);
  }, 60_000);

  afterAll(async () => {
    await gwPlain?.stop();
    await gwTraced?.stop();
    await plain?.stop();
    await traced?.stop();
    await receiver?.stop();
    await upstream?.stop();
    await iss?.stop();
  });

  const withLogs = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      console.error(
        `trace-nginx failure; logs:\n--- nginx ---\n${gwPlain.errorLog()}${gwTraced.errorLog()}\n--- validator ---\n${plain.logs()}\n--- traced validator ---\n${traced.logs()}`,
      );
      throw err;
    }
  };

  const call = (gw: LocalGateway, headers: Record<string, string>, tok = token) =>
    request(gw.httpsUrl, '/api/tasks', {
      method: 'POST',
      ca,
      body: '{}',
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json', ...headers },
    });

  const waitFor = async <T>(what: string, get: () => T | undefined, ms = 10_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  test("the client's traceparent is in the decision's log line and reaches the upstream unchanged", () =>
    withLogs(async () => {
      const res = await call(gwPlain, { traceparent: TRACEPARENT, tracestate: TRACESTATE, 'x-request-id': 'trace-test-granted-1' });
      expect(res.status).toBe(200);
      expect(res.json<EchoBody>().traceContext).toEqual({ traceparent: TRACEPARENT, tracestate: TRACESTATE });
      const line = await waitFor('the decision line', () => decisionLine(plain.logs(), 'trace-test-granted-1'));
      expect(line).toMatchObject({ granted: true, trace_id: TRACE });
      expect(line.span_id).toBeUndefined(); // no span of its own with tracing off
    }));

  test('a refusal carries the trace id too; a malformed traceparent is passed on but never logged', () =>
    withLogs(async () => {
      const refused = await call(gwPlain, { traceparent: TRACEPARENT, 'x-request-id': 'trace-test-refused-1' }, 'not-a-jwt');
      expect(refused.status).toBe(401);
      expect(await waitFor('the refusal line', () => decisionLine(plain.logs(), 'trace-test-refused-1'))).toMatchObject({ granted: false, trace_id: TRACE });

      const bad = `00-${TRACE.toUpperCase()}-${CLIENT_SPAN}-01`;
      const res = await call(gwPlain, { traceparent: bad, 'x-request-id': 'trace-test-malformed-1' });
      expect(res.status).toBe(200);
      expect(res.json<EchoBody>().traceContext.traceparent).toBe(bad);
      const line = await waitFor('the decision line', () => decisionLine(plain.logs(), 'trace-test-malformed-1'));
      expect(line.trace_id).toBeUndefined();
    }));

  test("with TOLLGATE_TRACING=otlp: the decision span is the client span's child, its stages nest under it, no token is exported", () =>
    withLogs(async () => {
      // a key published after start-up: its kid is unknown, so this decision fetches the JWKS itself
      const key2 = await makeKey('ES256', 'trace-2');
      iss.keys.push(key2);
      const token2 = await mint({ iss: iss.issuer, aud: 'api' }, { key: key2, claims: { scope: 'api:write' } });
      const res = await call(gwTraced, { traceparent: TRACEPARENT, tracestate: TRACESTATE, 'x-request-id': 'trace-test-otel-1' }, token2);
      expect(res.status).toBe(200);
      expect(res.json<EchoBody>().traceContext.traceparent).toBe(TRACEPARENT);

      const line = await waitFor('the decision line', () => decisionLine(traced.logs(), 'trace-test-otel-1'));
      const decision = await waitFor('the decision span', () => receiver.spans().find((s) => s.name === 'tollgate.decision' && s.spanId === line.span_id));
      expect(decision).toMatchObject({ traceId: TRACE, parentSpanId: CLIENT_SPAN });
      expect(line.trace_id).toBe(TRACE);
      expect(attr(decision, 'tollgate.reason')).toBe('ok');
      expect(attr(decision, 'http.response.status_code')).toEqual(expect.anything());
      expect(attr(decision, 'url.path')).toBe('/api/tasks');
      const children = await waitFor('the stage spans', () => {
        const c = receiver.spans().filter((s) => s.parentSpanId === decision.spanId);
        const names = ['tollgate.store.charge', 'tollgate.jwks.fetch', 'tollgate.token.verify'];
        return names.every((n) => c.some((s) => s.name === n)) ? c : undefined;
      });
      for (const c of children) expect(c.traceId).toBe(TRACE);
      expect(attr(children.find((s) => s.name === 'tollgate.jwks.fetch')!, 'url.full')).toBe(iss.jwksUrl);
      const verify = children.find((s) => s.name === 'tollgate.token.verify')!;
      expect([attr(verify, 'tollgate.issuer'), attr(verify, 'tollgate.token.alg')]).toEqual([iss.issuer, 'ES256']);

      // nothing exported carries a token, a signature or the Authorization header
      const exported = receiver.bodies.join('\n');
      for (const t of [token, token2]) {
        expect(exported).not.toContain(t);
        expect(exported).not.toContain(t.split('.')[2]!);
        expect(exported).not.toContain(t.split('.')[1]!);
      }
      expect(exported).not.toMatch(/bearer/i);
      expect(exported).toContain('tollgate-test'); // OTEL_SERVICE_NAME, read by the SDK
    }));
});
