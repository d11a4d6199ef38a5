// An operator's forced key refresh: SIGUSR2 to the running validator fetches the JWKS at once, so a
// key removed at the IdP stops verifying now rather than at the next scheduled refresh, and the
// decisions cached under it go with it. Against the built process, as an operator runs it.
import { makeKey, mint, TestIssuer, type TestKey } from '../../devkit/issuer';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { buildTestApp } from '../helpers/app';

let idp: TestIssuer;
let v: ValidatorProcess | undefined;
let old: TestKey, next: TestKey;

beforeAll(async () => {
  [old, next] = await Promise.all([makeKey('RS256', 'old'), makeKey('ES256', 'next')]);
  idp = await TestIssuer.start([old, next]);
  v = await spawnValidator({
    AUTH_MODE: 'jwks',
    AUTH_ISSUER: idp.issuer,
    AUTH_AUDIENCE: 'api',
    AUTH_JWKS_URL: idp.jwksUrl,
    // the defaults would refresh in ~8 min; an hour makes it plain that only the signal refreshes
    AUTH_JWKS_CACHE_TTL_S: '3600',
    AUTH_JWKS_COOLDOWN_S: '3600',
    AUTH_DECISION_CACHE_TTL_S: '600',
    QUOTA_ROUTES: ',',
  });
}, 60_000);
afterAll(async () => {
  await v?.stop();
  await idp?.stop();
});

async function decide(token: string): Promise<string> {
  const res = await fetch(`${v!.url}/api/auth/validate`, { headers: { authorization: `Bearer ${token}` } });
  return res.status === 200 ? 'ok' : `${res.status} ${res.headers.get('x-auth-reason')}`;
}

/** Waits for the n-th log line with `msg`. */
async function logLine(msg: string, n: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = v!
      .logs()
      .split('\n')
      .filter((l) => l.includes(`"msg":"${msg}"`));
    if (lines.length >= n) return JSON.parse(lines[n - 1]!);
    if (Date.now() > deadline) throw new Error(`no "${msg}" line:\n${v!.logs()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('SIGUSR2 drops a removed key at once: its cached decisions go, the remaining key keeps working', async () => {
  const byOld = await mint({ iss: idp.issuer, aud: 'api' }, { key: old });
  const byNext = await mint({ iss: idp.issuer, aud: 'api' }, { key: next });
  expect(await decide(byOld)).toBe('ok'); // verified and cached for 600 s
  expect(await decide(byNext)).toBe('ok');

  idp.keys = [next]; // the IdP removes the old key (compromised, or rotated out)
  // Without the signal nothing changes for an hour: the decision is cached, the keys are fresh.
  expect(await decide(byOld)).toBe('ok');
  const hits = idp.jwksHits;

  process.kill(v!.pid, 'SIGUSR2');
  const line = await logLine('forced key refresh done', 1);
  expect(line).toMatchObject({ failed: 0, issuers: [{ issuer: idp.issuer, ok: true, keys: 1 }] });
  expect(idp.jwksHits).toBe(hits + 1);
  expect(await logLine('signing keys left the JWKS', 1)).toMatchObject({ issuer: idp.issuer, droppedDecisions: 1 });

  expect(await decide(byOld)).toBe('401 key_not_found');
  expect(await decide(await mint({ iss: idp.issuer, aud: 'api' }, { key: old }))).toBe('401 key_not_found');
  expect(await decide(byNext)).toBe('ok');
  expect(v!.child.exitCode).toBeNull(); // Node's default for SIGUSR2 would have ended the process
});

test('a refresh that fails keeps the cached keys and says so', async () => {
  idp.mode = 'error500';
  process.kill(v!.pid, 'SIGUSR2');
  const line = await logLine('forced key refresh: some issuers failed; their cached keys stay', 1);
  expect(line).toMatchObject({ failed: 1, issuers: [{ issuer: idp.issuer, ok: false, keys: 1 }] });
  expect(await decide(await mint({ iss: idp.issuer, aud: 'api' }, { key: next }))).toBe('ok');
  idp.mode = 'ok';
});

test('a forced refresh is never answered by a fetch that was already under way', async () => {
  const local = await TestIssuer.start([old]);
  // the first fetch reads the JWKS and is held until released: it started before the removal
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let fetches = 0;
  const slowFirst: typeof fetch = async (url, init) => {
    const res = await fetch(url, init);
    if (++fetches === 1) await held;
    return res;
  };
  const app = await buildTestApp(
    { AUTH_MODE: 'jwks', AUTH_ISSUER: local.issuer, AUTH_AUDIENCE: 'api', AUTH_JWKS_URL: local.jwksUrl, LOG_LEVEL: 'silent' },
    { noStore: true, fetch: slowFirst },
  );
  try {
    await new Promise((r) => setTimeout(r, 50)); // the start-up fetch has read [old] and waits
    local.keys = [next];
    const forced = app.verifier.forceRefresh();
    release();
    expect(await forced).toEqual([{ issuer: local.issuer, ok: true, keys: 1 }]);
    expect(fetches).toBe(2);
    const byOld = await mint({ iss: local.issuer, aud: 'api' }, { key: old });
    await expect(app.verifier.verify(byOld)).rejects.toMatchObject({ code: 'key_not_found' });
  } finally {
    await app.close();
    await local.stop();
  }
});
