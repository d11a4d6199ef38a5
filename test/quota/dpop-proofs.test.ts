// The DPoP proofs repository (migrations/006) on both backends: a proof is new once, a replay is
// not, concurrent duplicates get exactly one `true`, an expired record lets the hash be used again,
// and every call purges expired rows of other proofs, so the table stays about one window large.
import { randomBytes } from 'node:crypto';
import { eachBackend } from './backends';

const hash = () => randomBytes(32).toString('base64url');
const inS = (s: number) => new Date(Date.now() + s * 1000);

eachBackend((env) => {
  const rows = async (where = 'true', params: unknown[] = []): Promise<number> =>
    Number((await env().pool.query(`SELECT count(*)::int AS n FROM public.tollgate_dpop_proofs WHERE ${where}`, params)).rows[0].n);

  test('new once, then a replay until it expires', async () => {
    const { store } = env();
    const h = hash();
    expect([await store.firstUse(h, 'https://idp', inS(60)), await store.firstUse(h, 'https://idp', inS(60))]).toEqual([true, false]);
    expect(await rows('jti_hash = $1', [h])).toBe(1);
  });

  test('twenty concurrent uses of one proof: exactly one is new', async () => {
    const { store } = env();
    const h = hash();
    const answers = await Promise.all(Array.from({ length: 20 }, () => store.firstUse(h, 'https://idp', inS(60))));
    expect(answers.filter(Boolean)).toHaveLength(1);
  });

  test('an expired record is replaced (the iat check refuses its proof anyway); expired rows of other proofs are purged two per call', async () => {
    const { store, pool } = env();
    const old = hash();
    await pool.query('INSERT INTO public.tollgate_dpop_proofs (jti_hash, issuer, expires_at) VALUES ($1, $2, $3)', [old, 'https://idp', inS(-5)]);
    expect(await store.firstUse(old, 'https://idp', inS(60))).toBe(true);
    const stale = Array.from({ length: 5 }, hash);
    for (const h of stale)
      await pool.query('INSERT INTO public.tollgate_dpop_proofs (jti_hash, issuer, expires_at) VALUES ($1, $2, $3)', [h, 'https://idp', inS(-5)]);
    await store.firstUse(hash(), 'https://idp', inS(60));
    expect(await rows('jti_hash = ANY($1)', [stale])).toBe(3);
    await store.firstUse(hash(), 'https://idp', inS(60));
    await store.firstUse(hash(), 'https://idp', inS(60));
    expect(await rows('expires_at < now()')).toBe(0);
  });

  test('row-level security is on and the API roles have no privilege on the table', async () => {
    const { pool } = env();
    const { rows: t } = await pool.query(`SELECT relrowsecurity FROM pg_class WHERE oid = 'public.tollgate_dpop_proofs'::regclass`);
    expect(t[0].relrowsecurity).toBe(true);
    const { rows: g } = await pool.query(
      `SELECT has_table_privilege('anon', 'public.tollgate_dpop_proofs', 'SELECT') AS anon, has_table_privilege('authenticated', 'public.tollgate_dpop_proofs', 'INSERT') AS auth`,
    );
    expect(g[0]).toEqual({ anon: false, auth: false });
  });
});
