// Email confirmation from auth.users, on our text-id stand-in and on a Supabase-shaped schema
// (uuid ids, Supabase's own auth.uid()) that the migrations must leave alone.
import type pg from 'pg';
import { eachBackend } from './backends';

const UUID_A = '6f1c1a52-3d0e-4c4e-9a55-2f6f3f0d9a01';
const UUID_B = '6f1c1a52-3d0e-4c4e-9a55-2f6f3f0d9a02';

eachBackend((env) => {
  test('true when confirmed, false when not, undefined when unknown', async () => {
    const { store, pool } = env();
    await pool.query("INSERT INTO auth.users (id, email, email_confirmed_at) VALUES ('e-yes', 'y@x.test', now()), ('e-no', 'n@x.test', NULL)");
    await expect(store.emailConfirmed('e-yes')).resolves.toBe(true);
    await expect(store.emailConfirmed('e-no')).resolves.toBe(false);
    await expect(store.emailConfirmed('e-missing')).resolves.toBeUndefined();
  });

  test('a positive answer is cached; a negative one is not', async () => {
    const { store, pool } = env();
    await pool.query("INSERT INTO auth.users (id, email_confirmed_at) VALUES ('e-c1', now()), ('e-c2', NULL)");
    await expect(store.emailConfirmed('e-c1')).resolves.toBe(true);
    await expect(store.emailConfirmed('e-c2')).resolves.toBe(false);
    await pool.query("UPDATE auth.users SET email_confirmed_at = CASE id WHEN 'e-c1' THEN NULL ELSE now() END WHERE id IN ('e-c1', 'e-c2')");
    await expect(store.emailConfirmed('e-c1')).resolves.toBe(true); // cached: confirmation never reverts
    await expect(store.emailConfirmed('e-c2')).resolves.toBe(true); // the user just confirmed
  });

  test('a user confirmed by phone only (OTP sign-up, no e-mail) is a confirmed user whose e-mail is not', async () => {
    const { store, pool } = env();
    await pool.query(`INSERT INTO auth.users (id, email, phone, phone_confirmed_at, email_confirmed_at) VALUES
      ('p-only', NULL, '+15550100', now(), NULL), ('p-both', 'b@x.test', '+15550101', now(), now()), ('p-unconfirmed', NULL, '+15550102', NULL, NULL)`);
    await expect(store.confirmation('p-only')).resolves.toEqual({ email: false, phone: true });
    await expect(store.confirmation('p-both')).resolves.toEqual({ email: true, phone: true });
    await expect(store.confirmation('p-unconfirmed')).resolves.toEqual({ email: false, phone: false });
    await expect(store.confirmation('p-missing')).resolves.toBeUndefined();
    await expect(store.emailConfirmed('p-only')).resolves.toBe(false);
  });

  test('sign-up trigger creates the profile with the default limit', async () => {
    const { store, pool } = env();
    await pool.query("INSERT INTO auth.users (id, email) VALUES ('e-new', 'new@x.test')");
    await expect(store.usage('e-new', '2024-01-01')).resolves.toEqual({ userId: 'e-new', usageDate: '2024-01-01', ticksUsed: 0, limit: 32 });
  });
});

/** What a Supabase project already has before our migrations run (abridged). */
async function supabaseAuth(pool: pg.Pool): Promise<void> {
  await pool.query(`
    CREATE SCHEMA auth;
    CREATE TABLE auth.users (id uuid PRIMARY KEY, email varchar(255), email_confirmed_at timestamptz);
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
      SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;`);
}

/** Supabase's auth.users as it is (abridged): uuid ids, e-mail and phone confirmation. */
async function supabaseAuthWithPhone(pool: pg.Pool): Promise<void> {
  await supabaseAuth(pool);
  await pool.query('ALTER TABLE auth.users ADD COLUMN phone text, ADD COLUMN phone_confirmed_at timestamptz');
}

describe('Supabase auth schema with phone confirmation', () => {
  eachBackend(
    (env) => {
      test('a phone-confirmed Supabase user (uuid id) is confirmed; the e-mail is not', async () => {
        const { store, pool } = env();
        await pool.query("INSERT INTO auth.users (id, phone, phone_confirmed_at) VALUES ($1, '+15550100', now()), ($2, '+15550101', NULL)", [UUID_A, UUID_B]);
        await expect(store.confirmation(UUID_A)).resolves.toEqual({ email: false, phone: true });
        await expect(store.confirmation(UUID_B)).resolves.toEqual({ email: false, phone: false });
      });
    },
    { prepare: supabaseAuthWithPhone },
  );
});

describe('Supabase-shaped auth schema', () => {
  eachBackend(
    (env) => {
      test('migrations keep Supabase objects; lookups cast to uuid; other subjects are unknown', async () => {
        const { store, pool } = env();
        const { rows } = await pool.query("SELECT pg_get_function_result('auth.uid()'::regprocedure) AS t");
        expect(rows).toEqual([{ t: 'uuid' }]);
        await pool.query('INSERT INTO auth.users (id, email_confirmed_at) VALUES ($1, now()), ($2, NULL)', [UUID_A, UUID_B]);
        await expect(store.emailConfirmed(UUID_A)).resolves.toBe(true);
        await expect(store.emailConfirmed(UUID_B)).resolves.toBe(false);
        await expect(store.emailConfirmed('service-account-gateway')).resolves.toBeUndefined();
        // Supabase's table is never altered: without phone_confirmed_at nobody is confirmed by phone
        const cols = await pool.query(
          "SELECT 1 FROM information_schema.columns WHERE table_schema = 'auth' AND table_name = 'users' AND column_name = 'phone_confirmed_at'",
        );
        expect(cols.rows).toEqual([]);
        await expect(store.confirmation(UUID_B)).resolves.toEqual({ email: false, phone: false });
        await expect(store.usage(UUID_B, '2024-01-01')).resolves.toMatchObject({ limit: 32 }); // trigger ran
      });

      test('RLS policies work with the uuid auth.uid()', async () => {
        const { store, pool } = env();
        await store.charge(UUID_A, 2, '2024-01-01');
        await store.charge(UUID_B, 4, '2024-01-01');
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          await c.query('SET LOCAL ROLE authenticated');
          await c.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: UUID_A })]);
          expect((await c.query('SELECT user_id, ticks_used FROM user_daily_usage')).rows).toEqual([{ user_id: UUID_A, ticks_used: 2 }]);
        } finally {
          await c.query('ROLLBACK');
          c.release();
        }
      });
    },
    { prepare: supabaseAuth },
  );
});
