// Two validator instances (real HTTP servers) sharing one Postgres server database:
// the daily quota cannot be over-spent, and Supabase users need a confirmed email from auth.users.
import pg from 'pg';
import { createLogger } from '../../validator/observability/logger';
import { startValidator, type RunningValidator } from '../../validator/server';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { freshServerDatabase, serverUrlOrSkip, type FreshDatabase } from '../../devkit/pg';

const SUPABASE_SECRET = 'a-supabase-legacy-secret-of-at-least-32-bytes';
const serverUrl = serverUrlOrSkip();
const d = serverUrl ? describe : describe.skip;

d('validators on a shared Postgres server', () => {
  let db: FreshDatabase;
  let iss: TestIssuer;
  let sb: TestIssuer;
  let key: TestKey;
  const vs: RunningValidator[] = [];
  const url = (i: number) => `http://127.0.0.1:${vs[i]!.port}`;

  beforeAll(async () => {
    db = await freshServerDatabase();
    key = await makeKey('ES256', 'k');
    iss = await TestIssuer.start([key]);
    sb = await TestIssuer.start([], '/auth/v1'); // Supabase project with legacy HS256 only
    const env = {
      NODE_ENV: 'test',
      PORT: '0',
      AUTH_MODE: 'jwks,supabase',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'wavestack',
      SUPABASE_URL: sb.issuer.replace(/\/auth\/v1$/, ''),
      SUPABASE_JWT_SECRET: SUPABASE_SECRET,
      DATABASE_URL: db.url,
      DATABASE_POOL_MAX: '8',
      QUOTA_DEFAULT_DAILY_TICKS: '32',
    };
    // the first applies the migrations, the second finds them applied (advisory lock either way)
    vs.push(await startValidator(env, { logger: createLogger('silent') }));
    vs.push(await startValidator(env, { logger: createLogger('silent') }));
  });

  afterAll(async () => {
    await Promise.all(vs.map((v) => v.close()));
    await iss?.stop();
    await sb?.stop();
    await db?.drop();
  });

  test('200 simultaneous 1-tick charges over two validators: exactly 32 granted, 168 × 429, 32 ticks used', async () => {
    const tok = await mint({ iss: iss.issuer, aud: 'wavestack' }, { key, claims: { sub: 'busy-service-account' } });
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        fetch(`${url(i % 2)}/api/auth/validate`, {
          headers: { authorization: `Bearer ${tok}`, 'x-original-method': 'POST', 'x-original-uri': '/api/tasks', 'x-max-ticks': '1' },
        }).then((r) => r.status),
      ),
    );
    const count = (s: number) => statuses.filter((x) => x === s).length;
    expect({ granted: count(200), refused: count(429), other: statuses.length - count(200) - count(429) }).toEqual({ granted: 32, refused: 168, other: 0 });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query('SELECT ticks_used FROM user_daily_usage WHERE user_id = $1', ['busy-service-account']);
      expect(rows).toEqual([{ ticks_used: 32 }]);
    } finally {
      await c.end();
    }
  });

  test('Supabase users: confirmed email passes, unconfirmed and unknown users get 403 email_unconfirmed', async () => {
    const confirmed = '0b7c1a1e-1111-4c4c-8888-000000000001';
    const unconfirmed = '0b7c1a1e-1111-4c4c-8888-000000000002';
    const unknown = '0b7c1a1e-1111-4c4c-8888-000000000003';
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('INSERT INTO auth.users (id, email, email_confirmed_at) VALUES ($1, $2, now()), ($3, $4, NULL)', [
        confirmed,
        'c@example.com',
        unconfirmed,
        'u@example.com',
      ]);
    } finally {
      await c.end();
    }
    const ask = async (sub: string, claims: Record<string, unknown> = {}) => {
      // user_metadata.email_verified is user-editable in Supabase: it must not count
      const tok = await mint(
        { iss: sb.issuer, aud: 'authenticated' },
        { secret: SUPABASE_SECRET, claims: { sub, role: 'authenticated', email: 'x@example.com', user_metadata: { email_verified: true }, ...claims } },
      );
      const r = await fetch(`${url(1)}/api/auth/validate`, {
        headers: { authorization: `Bearer ${tok}`, 'x-original-method': 'GET', 'x-original-uri': '/api/x' },
      });
      return { status: r.status, reason: r.headers.get('x-auth-reason'), user: r.headers.get('x-user-id') };
    };
    expect(await ask(confirmed)).toEqual({ status: 200, reason: null, user: confirmed });
    expect(await ask(unconfirmed)).toEqual({ status: 403, reason: 'email_unconfirmed', user: null });
    expect(await ask(unknown)).toEqual({ status: 403, reason: 'email_unconfirmed', user: null });
  });
});
