// The opt-in edge decision cache (GATEWAY_AUTH_CACHE=on) through the real NGINX and the real
// validator: a repeated grant is answered by NGINX, but a charged route always reaches the quota,
// a refusal is never kept, and one token's (or one method's) decision is never served to another.
import { findNginx, type Gateway } from '../../devkit/nginx';
import { defaultMode, startStack, type Stack } from '../helpers/stack';
import { request, type ReqOptions, type Res } from './client';

const nginx = findNginx();
const real = defaultMode() === 'real';
if (!nginx || !real) {
  const why = !nginx
    ? 'nginx not found (apt-get install nginx, or NGINX_BIN)'
    : "dist/validator is not built (npm run build): the cache marking is the real validator's";
  if (process.env.CI) throw new Error(`edge-cache e2e cannot run: ${why}`);
  console.warn(`\n*** SKIPPING the edge-cache e2e tests: ${why} ***\n`);
}
const d = nginx && real ? describe : describe.skip;

const HIGH_RATES = {
  GATEWAY_RATE_PER_IP: '1000r/s',
  GATEWAY_BURST_PER_IP: '1000',
  GATEWAY_RATE_PER_CREDENTIAL: '1000r/s',
  GATEWAY_BURST_PER_CREDENTIAL: '1000',
};

d('edge decision cache (real NGINX, real validator)', () => {
  let stack: Stack;
  let cached: Gateway;
  let gatewayToken: string;
  let readerToken: string;

  const bearer = (t: string): Record<string, string> => ({ Authorization: `Bearer ${t}` });
  const call = (g: Gateway, p: string, o: ReqOptions = {}): Promise<Res> => request(g.httpsUrl, p, { ca: stack.ca, ...o });
  const t = (name: string, fn: () => Promise<void>): void => test(name, () => stack.withLogs(fn));

  /** Decisions the validator made so far (tollgate_decisions_total, all labels). */
  const decisions = async (): Promise<number> => {
    const text = await (await fetch(`${stack.validatorUrl}/metrics`)).text();
    return [...text.matchAll(/^tollgate_decisions_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  /** How many decisions `fn` cost the validator. */
  const validatorCalls = async (fn: () => Promise<void>): Promise<number> => {
    const before = await decisions();
    await fn();
    return (await decisions()) - before;
  };
  /** The access-log field auth_cache of a request id (HIT, MISS, or empty with the cache off). */
  const cacheStatus = async (g: Gateway, requestId: string): Promise<unknown> => {
    for (let i = 0; i < 50; i++) {
      const line = g.accessLog().find((l) => l.request_id === requestId);
      if (line) return line.auth_cache;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no access-log line for ${requestId}`);
  };
  let n = 0;
  const rid = (): string => `edge-cache-${process.pid}-${++n}`;

  beforeAll(async () => {
    stack = await startStack({ gateway: { vars: { GATEWAY_AUTH_CACHE: 'off' } } });
    cached = await stack.extraGateway({ vars: { ...HIGH_RATES, GATEWAY_AUTH_CACHE: 'on' } });
    [gatewayToken, readerToken] = await Promise.all([stack.token('gateway'), stack.token('reader')]);
  }, 45_000);
  afterAll(async () => {
    await stack?.stop();
  });

  t('off by default: every request asks the validator', async () => {
    const ids = [rid(), rid()];
    const calls = await validatorCalls(async () => {
      for (const id of ids) expect((await call(stack.gateway, '/api/things', { headers: { ...bearer(gatewayToken), 'X-Request-Id': id } })).status).toBe(200);
    });
    expect(calls).toBe(2);
    // off: NGINX does not even look at the cache (no key is hashed), so there is no cache status
    expect(await cacheStatus(stack.gateway, ids[1]!)).toBe('');
  });

  t('on: a repeated grant is served by NGINX, identity headers included', async () => {
    const ids = [rid(), rid(), rid()];
    const echoes: Array<Record<string, string | null>> = [];
    const calls = await validatorCalls(async () => {
      for (const id of ids) {
        const res = await call(cached, '/api/things?page=1', { headers: { ...bearer(gatewayToken), 'X-Request-Id': id } });
        expect(res.status).toBe(200);
        echoes.push(res.json<{ headers: Record<string, string | null> }>().headers);
      }
    });
    expect(calls).toBe(1);
    expect(await cacheStatus(cached, ids[0]!)).toBe('MISS');
    expect(await cacheStatus(cached, ids[2]!)).toBe('HIT');
    for (const h of echoes) expect([h['x-client-id'], h['x-scopes']]).toEqual([echoes[0]!['x-client-id'], echoes[0]!['x-scopes']]);
    expect(echoes[2]!['x-user-id']).toBeTruthy();
    expect(echoes[2]!['x-client-id']).toBe('gateway');
  });

  t("one token's decision is never served to another token", async () => {
    await call(cached, '/api/shared', { headers: bearer(gatewayToken) }); // cached for the gateway client
    const id = rid();
    const calls = await validatorCalls(async () => {
      const res = await call(cached, '/api/shared', { headers: { ...bearer(readerToken), 'X-Request-Id': id } });
      expect(res.status).toBe(200);
      expect(res.json<{ headers: Record<string, string | null> }>().headers['x-client-id']).toBe('reader');
    });
    expect(calls).toBe(1);
    expect(await cacheStatus(cached, id)).toBe('MISS');
    // a token that differs only slightly is another key too (and is refused by the validator)
    const forged = `${gatewayToken.slice(0, -2)}${gatewayToken.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await call(cached, '/api/shared', { headers: bearer(forged) })).status).toBe(401);
  });

  t("one method's decision is never served to another", async () => {
    expect((await call(cached, '/api/admin', { headers: bearer(gatewayToken) })).status).toBe(200); // GET: cached
    const refused = await call(cached, '/api/admin', { method: 'DELETE', headers: bearer(gatewayToken) });
    expect(refused.status).toBe(403); // DELETE /api/admin needs api:admin (ROUTE_RULES)
  });

  t('a charged route is never served from the cache: every request is charged', async () => {
    const ids = [rid(), rid(), rid()];
    const remaining: Array<string | null> = [];
    const calls = await validatorCalls(async () => {
      for (const id of ids) {
        const res = await call(cached, '/api/tasks', {
          method: 'POST',
          headers: { ...bearer(gatewayToken), 'X-Request-Id': id, 'X-Max-Ticks': '1' },
          body: '{}',
        });
        expect(res.status).toBe(200);
        remaining.push(res.json<{ headers: Record<string, string | null> }>().headers['x-ticks-remaining']);
      }
    });
    expect(calls).toBe(3);
    expect(new Set(remaining).size).toBe(3); // three charges, three different balances
    for (const id of ids) expect(await cacheStatus(cached, id)).not.toBe('HIT');
  });

  t('a refusal is never kept', async () => {
    const calls = await validatorCalls(async () => {
      for (let i = 0; i < 2; i++) expect((await call(cached, '/api/things', { headers: bearer('not-a-token') })).status).toBe(401);
    });
    expect(calls).toBe(2);
  });
});
