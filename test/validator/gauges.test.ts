// Every gauge an alert reads exists from start-up with a true value, on the real process: an idle,
// healthy validator says store up and keys present without any charge or readiness call; one whose
// JWKS was never fetched says 0 keys (the series exists, so TollgateJwksNoKeys can fire); one whose
// database is down says store down at once and logs why. deploy/prometheus/alerts.test.yml feeds
// these same three shapes to the alert rules.
import { freePort } from '../../devkit/process';
import { TestIssuer, makeKey } from '../../devkit/issuer';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';

let iss: TestIssuer;
const running: ValidatorProcess[] = [];

beforeAll(async () => {
  iss = await TestIssuer.start([await makeKey('RS256', 'k1')]);
});
afterAll(async () => {
  await Promise.all(running.map((v) => v.stop()));
  await iss?.stop();
});

const start = async (env: Record<string, string>) => {
  const v = await spawnValidator({ AUTH_MODE: 'jwks', AUTH_AUDIENCE: 'wavestack', ...env });
  running.push(v);
  return v;
};
/** The value of one series in /metrics text, or undefined when it does not exist. */
const series = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};
const metrics = async (v: ValidatorProcess) => (await fetch(`${v.url}/metrics`)).text();

test('idle but healthy: store up, keys present; no charge, no readiness call', async () => {
  const v = await start({ AUTH_ISSUER: iss.issuer });
  let text = await metrics(v);
  expect(series(text, 'tollgate_store_up')).toBe(1);
  for (let i = 0; i < 50 && series(text, `tollgate_jwks_keys{issuer="${iss.issuer}"}`) !== 1; i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await metrics(v);
  }
  expect(series(text, `tollgate_jwks_keys{issuer="${iss.issuer}"}`)).toBe(1);
  expect(series(text, `tollgate_jwks_stale{issuer="${iss.issuer}"}`)).toBe(0);
  expect(series(text, `tollgate_jwks_last_success_timestamp_seconds{issuer="${iss.issuer}"}`)).toBeGreaterThan(Date.now() / 1000 - 60);
  expect(text).not.toMatch(/^tollgate_decisions_total\{/m); // nothing was decided
});

test('never fetched: the JWKS series exist from start-up, at 0', async () => {
  const issuer = `http://127.0.0.1:${await freePort()}/realms/gone`;
  const v = await start({ AUTH_ISSUER: issuer });
  const text = await metrics(v);
  expect(series(text, `tollgate_jwks_keys{issuer="${issuer}"}`)).toBe(0);
  expect(series(text, `tollgate_jwks_stale{issuer="${issuer}"}`)).toBe(0);
  expect(series(text, `tollgate_jwks_last_success_timestamp_seconds{issuer="${issuer}"}`)).toBe(0);
  expect(series(text, `tollgate_jwks_fetches_total{issuer="${issuer}",outcome="ok"}`)).toBe(0);
});

test('never fetched, but a Supabase project on its HS256 secret: no key series at 0 (its tokens still verify)', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const v = await start({ AUTH_MODE: 'supabase', SUPABASE_URL: url, SUPABASE_JWT_SECRET: 's'.repeat(40) });
  const text = await metrics(v);
  expect(series(text, `tollgate_jwks_keys{issuer="${url}/auth/v1"}`)).toBeUndefined();
  expect(series(text, `tollgate_jwks_stale{issuer="${url}/auth/v1"}`)).toBe(0);
});

test('database down: store down from start-up, and the log says which and why', async () => {
  const port = await freePort();
  const v = await start({ AUTH_ISSUER: iss.issuer, DATABASE_URL: `postgres://tollgate:pw@127.0.0.1:${port}/x`, MIGRATE_ON_START: 'false' });
  expect(series(await metrics(v), 'tollgate_store_up')).toBe(0);
  const line = v
    .logs()
    .split('\n')
    .find((l) => l.includes('unreachable at start-up'));
  expect(JSON.parse(line!)).toMatchObject({
    level: 50,
    database: `postgres://tollgate:***@127.0.0.1:${port}/x`,
    err: `postgres://tollgate:***@127.0.0.1:${port}/x: connect ECONNREFUSED 127.0.0.1:${port}`,
    code: 'ECONNREFUSED',
    msg: expect.stringMatching(/requests that need it answer 503 until it answers \(charged routes/),
  });
  expect(v.logs()).not.toContain(':pw@');
});
