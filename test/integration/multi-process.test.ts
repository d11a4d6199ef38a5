// Using both cores: two validator processes (`node dist/validator/server.js`, each on its own port,
// as NGINX's upstream lists them) on one Postgres server database. Both grant, and the daily quota
// is one quota: charges through either process draw from the same row (docs/PERFORMANCE.md).
import { freshServerDatabase, serverUrlOrSkip, type FreshDatabase } from '../../devkit/pg';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';

const adminUrl = serverUrlOrSkip();
const describeServer = adminUrl ? describe : describe.skip;

describeServer('two validator processes on one Postgres server', () => {
  let db: FreshDatabase;
  let iss: TestIssuer;
  let key: TestKey;
  let procs: ValidatorProcess[] = [];
  const LIMIT = 10;

  beforeAll(async () => {
    db = await freshServerDatabase(adminUrl);
    key = await makeKey('RS256', 'mp-1');
    iss = await TestIssuer.start([key]);
    const env = {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'wavestack',
      DATABASE_URL: db.url,
      MIGRATE_ON_START: 'true', // both migrate at once: the migrator serialises them
      QUOTA_DEFAULT_DAILY_TICKS: String(LIMIT),
    };
    procs = await Promise.all([spawnValidator(env), spawnValidator(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await iss?.stop();
    await db?.drop();
  });

  const validate = (p: ValidatorProcess, tok: string, method = 'GET', uri = '/api/things', ticks?: number) =>
    fetch(`${p.url}/api/auth/validate`, {
      headers: { authorization: `Bearer ${tok}`, 'x-original-method': method, 'x-original-uri': uri, ...(ticks ? { 'x-max-ticks': String(ticks) } : {}) },
    });

  test('they are two processes on two ports, and both grant', async () => {
    expect(procs[0]!.pid).not.toBe(procs[1]!.pid);
    expect(procs[0]!.port).not.toBe(procs[1]!.port);
    const tok = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub: 'both-grant' } });
    for (const p of procs) {
      const res = await validate(p, tok);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-user-id')).toBe('both-grant');
    }
  });

  test('the quota is shared: charges through either process draw from one daily limit', async () => {
    const tok = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub: 'shared-quota' } });
    const a = await validate(procs[0]!, tok, 'POST', '/api/tasks', 6);
    expect(a.status).toBe(200);
    expect(a.headers.get('x-ticks-remaining')).toBe('4');
    const b = await validate(procs[1]!, tok, 'POST', '/api/tasks', 4);
    expect(b.status).toBe(200);
    expect(b.headers.get('x-ticks-remaining')).toBe('0'); // process B saw A's 6 ticks
    const c = await validate(procs[0]!, tok, 'POST', '/api/tasks', 1);
    expect(c.status).toBe(429);
    expect(c.headers.get('x-auth-reason')).toBe('quota_exhausted');
  });

  test('concurrent charges spread over both processes never exceed the limit', async () => {
    const tok = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub: 'racing-user' } });
    const statuses = await Promise.all(
      Array.from({ length: 3 * LIMIT }, (_, i) => validate(procs[i % 2]!, tok, 'POST', '/api/tasks', 1).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * LIMIT);
    // each process logged its own share of the decisions
    for (const p of procs) expect(p.logs()).toContain('"sub":"racing-user"');
  });
});
