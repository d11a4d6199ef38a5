// DPoP (RFC 9449) through the real NGINX and the built validator, with the development IdP issuing
// DPoP-bound tokens (cnf.jkt, payload typ DPoP, as Keycloak does) to a jose client: a good proof
// passes and the upstream is told `X-Token-Binding: dpop`; a replayed proof is refused by the same
// instance and by another one on the same Postgres database; a downgrade to Bearer, a proof for the
// Host the client connected to (not AUTH_PUBLIC_ORIGIN), another path or method, or another token's
// ath is refused with a DPoP challenge; the cached token still needs its proof; the edge decision
// cache never serves a DPoP grant; server nonces reach the client; a second DPoP header never
// reaches the validator.
import fs from 'node:fs';
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { DEV_IDP_JS, startDevIdp, type DevIdp } from '../../devkit/dev-idp';
import { dpopClient, type DpopClient } from '../../devkit/dpop';
import { nginxOrSkip, startLocalGateway, type LocalGateway } from '../../devkit/nginx';
import { freshServerDatabase, serverUrlOrSkip, type FreshDatabase } from '../../devkit/pg';
import { spawnValidator, VALIDATOR_JS, type ValidatorProcess } from '../../devkit/validator';
import { request, type Res } from '../e2e/client';

const nginx = nginxOrSkip('DPoP through NGINX');
const pgUrl = nginx ? serverUrlOrSkip() : undefined;
const d = nginx && pgUrl ? describe : describe.skip;

/** The origin clients are told to call; the gateway listens on 127.0.0.1:<port>, which is not it. */
const ORIGIN = 'https://api.example.test';
const NONCE_SECRET = 'dpop-nonce-secret-for-the-tests-0123456789';

d('DPoP-bound tokens through NGINX (dev IdP, two validators on one Postgres database)', () => {
  let idp: DevIdp;
  let db: FreshDatabase;
  let upstream: DemoUpstream;
  let a: ValidatorProcess;
  let b: ValidatorProcess;
  let n: ValidatorProcess;
  /** → validator a, edge decision cache on */
  let gwA: LocalGateway;
  /** → validator b */
  let gwB: LocalGateway;
  /** → validator n (AUTH_DPOP_NONCE=on) */
  let gwN: LocalGateway;
  let alice: DpopClient;
  let token: string;

  beforeAll(async () => {
    for (const f of [VALIDATOR_JS, DEV_IDP_JS]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: npx tsc -p tsconfig.json first`);
    idp = await startDevIdp();
    db = await freshServerDatabase(pgUrl, { prefix: 'tollgate_dpop' });
    upstream = await startDemoUpstream();
    const env = {
      NODE_ENV: 'development',
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: 'wavestack',
      AUTH_DPOP: 'allowed',
      AUTH_PUBLIC_ORIGIN: ORIGIN,
      DATABASE_URL: db.url,
      MIGRATE_ON_START: 'true',
      QUOTA_ROUTES: ',',
    };
    a = await spawnValidator(env);
    b = await spawnValidator(env);
    n = await spawnValidator({ ...env, AUTH_DPOP_NONCE: 'on', AUTH_DPOP_NONCE_SECRET: NONCE_SECRET });
    const apps = [`127.0.0.1:${upstream.port}`];
    gwA = await startLocalGateway({ validators: [`127.0.0.1:${a.port}`], apps, vars: { GATEWAY_AUTH_CACHE: 'on' } });
    gwB = await startLocalGateway({ validators: [`127.0.0.1:${b.port}`], apps });
    gwN = await startLocalGateway({ validators: [`127.0.0.1:${n.port}`], apps });
    alice = await dpopClient('ES256');
    token = await idp.dpopToken(alice);
  }, 90_000);

  afterAll(async () => {
    for (const gw of [gwA, gwB, gwN]) await gw?.stop();
    for (const v of [a, b, n]) await v?.stop();
    await upstream?.stop();
    await idp?.stop();
    await db?.drop();
  });

  const withLogs = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const logs = [
        ...[gwA, gwB, gwN].map((g) => `--- nginx ${g?.httpsPort} ---\n${g?.errorLog()}`),
        ...[a, b, n].map((v) => `--- validator ${v?.port} ---\n${v?.logs()}`),
        `--- dev IdP ---\n${idp?.logs()}`,
      ];
      console.error(`dpop-nginx failure; logs:\n${logs.join('\n')}`);
      throw err;
    }
  };
  const t = (name: string, fn: () => Promise<void>): void => test(name, () => withLogs(fn));

  interface CallOptions {
    scheme?: string;
    tok?: string;
    proof?: string | null;
    method?: string;
    path?: string;
    headers?: Record<string, string>;
  }
  /** A request as a DPoP client makes it: `DPoP <token>` and a fresh proof for ORIGIN + path, unless told otherwise. */
  const call = async (gw: LocalGateway, o: CallOptions = {}): Promise<Res & { proof?: string }> => {
    const method = o.method ?? 'GET';
    const path = o.path ?? '/api/things';
    const tok = o.tok ?? token;
    const proof = o.proof === null ? undefined : (o.proof ?? (await alice.proof({ method, url: `${ORIGIN}${path}`, accessToken: tok })));
    const headers: Record<string, string> = { authorization: `${o.scheme ?? 'DPoP'} ${tok}`, ...(proof ? { dpop: proof } : {}), ...o.headers };
    return Object.assign(await request(gw.httpsUrl, path, { ca: gw.ca, method, headers, body: method === 'GET' ? undefined : '' }), { proof });
  };
  const refusal = (r: Res) => ({
    status: r.status,
    reason: r.headers['x-auth-reason'],
    challenge: String(r.headers['www-authenticate']).replace(/error_description="[^"]*", /, ''),
  });
  const INVALID = 'DPoP realm="api", error="invalid_dpop_proof", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"';

  t("the dev IdP binds the token to the client's key, as Keycloak does (cnf.jkt, payload typ DPoP)", async () => {
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ cnf: { jkt: alice.jkt }, typ: 'DPoP', azp: 'gateway' });
  });

  t('a good proof → 200; the upstream sees the identity and X-Token-Binding: dpop', async () => {
    const r = await call(gwA);
    expect(r.status).toBe(200);
    const echo = r.json<EchoBody>();
    expect(echo.headers['x-user-id']).toBe('service-account-gateway');
    expect(echo.otherXHeaders['x-token-binding']).toBe('dpop');
  });

  t('the same proof again → 401 dpop_replayed on the same instance, and on another instance on the same database', async () => {
    const first = await call(gwA);
    expect(first.status).toBe(200);
    const before = upstream.calls();
    // The edge cache is on at gwA: a replay must not be served a cached grant either.
    expect(refusal(await call(gwA, { proof: first.proof }))).toEqual({ status: 401, reason: 'dpop_replayed', challenge: INVALID });
    expect(refusal(await call(gwB, { proof: first.proof }))).toEqual({ status: 401, reason: 'dpop_replayed', challenge: INVALID });
    // and the other way round: accepted by b first, then replayed at a
    const atB = await call(gwB);
    expect(atB.status).toBe(200);
    expect(refusal(await call(gwA, { proof: atB.proof }))).toMatchObject({ status: 401, reason: 'dpop_replayed' });
    expect(upstream.calls()).toBe(before + 1);
  });

  t('two requests racing with one proof to two instances: exactly one passes', async () => {
    const proof = await alice.proof({ method: 'GET', url: `${ORIGIN}/api/things`, accessToken: token });
    const results = await Promise.all([call(gwA, { proof }), call(gwB, { proof }), call(gwA, { proof }), call(gwB, { proof })]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401]);
  });

  t('the DPoP-bound token as Bearer (a downgrade), with or without a proof → 401 dpop_proof_missing', async () => {
    expect(refusal(await call(gwA, { scheme: 'Bearer' }))).toEqual({ status: 401, reason: 'dpop_proof_missing', challenge: INVALID });
    expect(refusal(await call(gwA, { scheme: 'Bearer', proof: null }))).toEqual({ status: 401, reason: 'dpop_proof_missing', challenge: INVALID });
  });

  t('a proof for the address the client connected to (its Host), not AUTH_PUBLIC_ORIGIN → 401 dpop_proof_invalid', async () => {
    const proof = await alice.proof({ method: 'GET', url: `${gwA.httpsUrl}/api/things`, accessToken: token });
    expect(refusal(await call(gwA, { proof }))).toEqual({ status: 401, reason: 'dpop_proof_invalid', challenge: INVALID });
    // nor when the proof names the Host the client sent: only configuration names the origin
    const forHost = await alice.proof({ method: 'GET', url: 'https://localhost/api/things', accessToken: token });
    expect(refusal(await call(gwA, { proof: forHost, headers: { host: 'localhost' } }))).toMatchObject({ status: 401, reason: 'dpop_proof_invalid' });
  });

  t('a proof for another path or method, or with the ath of another token → 401 dpop_proof_invalid', async () => {
    const other = await alice.proof({ method: 'GET', url: `${ORIGIN}/api/admin`, accessToken: token });
    expect(refusal(await call(gwA, { proof: other }))).toMatchObject({ status: 401, reason: 'dpop_proof_invalid' });
    const post = await alice.proof({ method: 'POST', url: `${ORIGIN}/api/things`, accessToken: token });
    expect(refusal(await call(gwA, { proof: post }))).toMatchObject({ status: 401, reason: 'dpop_proof_invalid' });
    const second = await idp.dpopToken(alice);
    const forSecond = await alice.proof({ method: 'GET', url: `${ORIGIN}/api/things`, accessToken: second });
    expect(refusal(await call(gwA, { proof: forSecond }))).toMatchObject({ status: 401, reason: 'dpop_proof_invalid' });
    // a query is not part of htu: the same proof shape passes for /api/things?page=2
    expect(
      (await call(gwA, { path: '/api/things?page=2', proof: await alice.proof({ method: 'GET', url: `${ORIGIN}/api/things?page=2`, accessToken: token }) }))
        .status,
    ).toBe(200);
  });

  t("a proof signed by another key than the token's → 401 dpop_binding_mismatch", async () => {
    const mallory = await dpopClient('ES256');
    const proof = await mallory.proof({ method: 'GET', url: `${ORIGIN}/api/things`, accessToken: token });
    expect(refusal(await call(gwA, { proof }))).toEqual({ status: 401, reason: 'dpop_binding_mismatch', challenge: INVALID });
  });

  t('the token is in the verified-token cache, the proof is still checked on every request', async () => {
    expect((await call(gwB)).status).toBe(200);
    expect(refusal(await call(gwB, { proof: null }))).toMatchObject({ status: 401, reason: 'dpop_proof_missing' });
    const hits = /tollgate_decision_cache_total\{outcome="hit"\} (\d+)/.exec(await (await fetch(`${b.url}/metrics`)).text());
    expect(Number(hits?.[1])).toBeGreaterThan(0);
  });

  t('the edge decision cache never serves a DPoP grant: every request reaches the validator', async () => {
    const before = gwA.accessLog().length;
    for (let i = 0; i < 3; i++) expect((await call(gwA)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    const lines = gwA.accessLog().slice(before);
    expect(lines.map((l) => l.auth_cache)).not.toContain('HIT');
    expect(lines.every((l) => l.auth_status === '200')).toBe(true);
  });

  t('a bearer token still passes as Bearer, without X-Token-Binding', async () => {
    const bearer = await idp.token();
    const r = await request(gwA.httpsUrl, '/api/things', { ca: gwA.ca, headers: { authorization: `Bearer ${bearer}` } });
    expect(r.status).toBe(200);
    expect(r.json<EchoBody>().otherXHeaders['x-token-binding']).toBeUndefined();
    // and a client's own X-Token-Binding never reaches the upstream
    const spoof = await request(gwA.httpsUrl, '/api/things', { ca: gwA.ca, headers: { authorization: `Bearer ${bearer}`, 'x-token-binding': 'dpop' } });
    expect(spoof.json<EchoBody>().otherXHeaders['x-token-binding']).toBeUndefined();
  });

  t('two DPoP headers → 400 header_duplicate at the edge; the validator is not asked', async () => {
    const proof = await alice.proof({ method: 'GET', url: `${ORIGIN}/api/things`, accessToken: token });
    const raw = ['Host', new URL(gwA.httpsUrl).host, 'Authorization', `DPoP ${token}`, 'DPoP', proof, 'DPoP', proof];
    const r = await request(gwA.httpsUrl, '/api/things', { ca: gwA.ca, headers: raw as unknown as Record<string, string> });
    expect([r.status, r.headers['x-auth-reason']]).toEqual([400, 'header_duplicate']);
  });

  t('nonces: 401 use_dpop_nonce with DPoP-Nonce reaches the client; the retry with it passes and carries the next one', async () => {
    const first = await call(gwN);
    expect([first.status, first.headers['x-auth-reason']]).toEqual([401, 'dpop_nonce_required']);
    expect(String(first.headers['www-authenticate'])).toMatch(/^DPoP realm="api", error="use_dpop_nonce", /);
    expect(first.count('www-authenticate')).toBe(1);
    const nonce = String(first.headers['dpop-nonce']);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const retry = await call(gwN, { proof: await alice.proof({ method: 'GET', url: `${ORIGIN}/api/things`, accessToken: token, nonce }) });
    expect(retry.status).toBe(200);
    expect(retry.headers['dpop-nonce']).toBe(nonce);
    // a nonce made up by the client is not one
    const madeUp = await call(gwN, { proof: await alice.proof({ method: 'GET', url: `${ORIGIN}/api/things`, accessToken: token, nonce: 'A'.repeat(22) }) });
    expect([madeUp.status, madeUp.headers['x-auth-reason'], madeUp.headers['dpop-nonce']]).toEqual([401, 'dpop_nonce_required', nonce]);
  });

  t("proofs are counted by outcome; the shared table holds hashes, one window's worth", async () => {
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_dpop_proofs_total\{outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/tollgate_dpop_proofs_total\{outcome="dpop_replayed"\} [1-9]/);
    const pg = await import('pg');
    const c = new pg.default.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ jti_hash: string; issuer: string; expires_at: Date }>(
        'SELECT jti_hash, issuer, expires_at FROM public.tollgate_dpop_proofs',
      );
      expect(rows.length).toBeGreaterThan(5);
      for (const r of rows) {
        expect(r.jti_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(r.issuer).toBe(idp.issuer);
        // iat + window (60 s) + tolerance (30 s) + 1 s
        expect(r.expires_at.getTime() - Date.now()).toBeLessThanOrEqual(92_000);
      }
    } finally {
      await c.end();
    }
  });
});
