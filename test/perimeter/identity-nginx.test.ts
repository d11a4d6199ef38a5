// Identity as the upstream receives it through the real NGINX and the built validator: an unverified
// e-mail is not forwarded, a non-ASCII subject arrives as its UTF-8 bytes (and differs from its
// mojibake), a scope with a comma is neither forwarded nor granting, and a subject too long for the
// store is a 401 claim_invalid with nothing charged and the upstream never called, even with
// QUOTA_FAIL_OPEN=true.
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { nginxOrSkip, startLocalGateway, type LocalGateway } from '../../devkit/nginx';
import { request, type Res } from '../e2e/client';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';

const d = nginxOrSkip('identity headers through NGINX') ? describe : describe.skip;

d('identity headers reaching the upstream through NGINX', () => {
  let iss: TestIssuer;
  let key: TestKey;
  let upstream: DemoUpstream;
  let validator: ValidatorProcess;
  let gw: LocalGateway;
  let ca: Buffer;

  beforeAll(async () => {
    key = await makeKey('ES256', 'identity');
    iss = await TestIssuer.start([key]);
    upstream = await startDemoUpstream();
    validator = await spawnValidator({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: iss.jwksUrl,
      AUTH_ROUTE_RULES: JSON.stringify({ '* /api/admin/': ['admin'], 'GET /api/': ['api:read'] }),
      QUOTA_ROUTES: 'POST /api/tasks',
      QUOTA_FAIL_OPEN: 'true',
      DATA_DIR: 'memory://',
    });
    // rates out of the way, certificates and files root in the gateway's own directory
    gw = await startLocalGateway({ validators: [`127.0.0.1:${validator.port}`], apps: [`127.0.0.1:${upstream.port}`] });
    ca = gw.ca;
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await validator?.stop();
    await upstream?.stop();
    await iss?.stop();
  });

  /** Runs `fn`; on failure prints the validator's and NGINX's logs first. */
  const withLogs = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      console.error(`identity-nginx failure; logs:\n--- nginx error log ---\n${gw.errorLog()}\n--- validator ---\n${validator.logs()}`);
      throw err;
    }
  };

  const call = async (claims: Record<string, unknown>, method = 'GET', uri = '/api/things'): Promise<Res> => {
    const tok = await mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { scope: 'api:read', ...claims } });
    return request(gw.httpsUrl, uri, {
      method,
      ca,
      headers: { authorization: `Bearer ${tok}`, 'x-max-ticks': '1' },
      body: method === 'POST' ? '{}' : undefined,
    });
  };

  /**
   * The bytes the upstream received for a header. Node's parser reads header bytes as Latin-1
   * (one character per byte) and the echo re-encodes that string in its JSON body, so the
   * character codes are the bytes on the wire.
   */
  const bytes = (echo: EchoBody, name: keyof EchoBody['headers']): Buffer | undefined => {
    const v = echo.headers[name];
    return v === null ? undefined : Buffer.from(v, 'latin1');
  };

  /** The metrics line of a counter with these labels, as a number (0 when absent). */
  const metric = async (series: string): Promise<number> => {
    const text = await (await fetch(`${validator.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line ? Number(line.split(' ')[1]) : 0;
  };

  test('an address without email_verified: true never reaches the upstream; a verified one does', () =>
    withLogs(async () => {
      for (const claims of [{ email_verified: false }, {}, { email_verified: 'true' }]) {
        const r = await call({ sub: 'mail-user', email: 'victim@example.com', ...claims });
        expect({ claims, status: r.status, email: r.json<EchoBody>().headers['x-user-email'] }).toEqual({ claims, status: 200, email: null });
      }
      // a client's own X-User-Email never gets through either
      const tok = await mint(
        { iss: iss.issuer, aud: 'api' },
        { key, claims: { sub: 'mail-user', scope: 'api:read', email: 'victim@example.com', email_verified: false } },
      );
      const spoofed = await request(gw.httpsUrl, '/api/things', { ca, headers: { authorization: `Bearer ${tok}`, 'x-user-email': 'victim@example.com' } });
      expect(spoofed.json<EchoBody>().headers['x-user-email']).toBeNull();
      const ok = await call({ sub: 'mail-user', email: 'owner@example.com', email_verified: true });
      expect(ok.json<EchoBody>().headers['x-user-email']).toBe('owner@example.com');
    }));

  test("X-User-Roles: the token's roles reach the upstream comma-joined, a role with a comma is dropped, a client's own value never arrives", () =>
    withLogs(async () => {
      const r = await call({ sub: 'role-user', roles: ['editor', 'team:a', 'x,admin', 'r\u00f4le'] });
      expect(r.status).toBe(200);
      expect(Buffer.from(r.json<EchoBody>().otherXHeaders['x-user-roles']!, 'latin1')).toEqual(Buffer.from('editor,team:a,r\u00f4le', 'utf8'));
      const tok = await mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { sub: 'role-user', scope: 'api:read' } });
      const spoofed = await request(gw.httpsUrl, '/api/things', { ca, headers: { authorization: `Bearer ${tok}`, 'x-user-roles': 'admin' } });
      expect(spoofed.status).toBe(200);
      expect(spoofed.json<EchoBody>().headerNames).not.toContain('x-user-roles');
    }));

  test('a non-ASCII subject arrives as its UTF-8 bytes, distinct from the mojibake subject', () =>
    withLogs(async () => {
      const accented = await call({ sub: 'jos\u00e9', email: 'jos\u00e9@example.com', email_verified: true, azp: 'cl\u00e9' });
      const mojibake = await call({ sub: 'jos\u00c3\u00a9' });
      expect([accented.status, mojibake.status]).toEqual([200, 200]);
      const a = accented.json<EchoBody>();
      const b = mojibake.json<EchoBody>();
      expect(bytes(a, 'x-user-id')).toEqual(Buffer.from('jos\u00e9', 'utf8')); // 6a 6f 73 c3 a9
      expect(bytes(b, 'x-user-id')).toEqual(Buffer.from('jos\u00c3\u00a9', 'utf8')); // 6a 6f 73 c3 83 c2 a9
      expect(bytes(a, 'x-user-id')!.equals(bytes(b, 'x-user-id')!)).toBe(false);
      expect(bytes(a, 'x-user-email')).toEqual(Buffer.from('jos\u00e9@example.com', 'utf8'));
      expect(bytes(a, 'x-client-id')).toEqual(Buffer.from('cl\u00e9', 'utf8'));
      // a subject with a C1 control is refused, not forwarded
      const c1 = await call({ sub: 'a\u0085b' });
      expect(c1.status).toBe(400);
    }));

  test('a scope with a comma is not forwarded in X-Scopes and does not grant the admin rule', () =>
    withLogs(async () => {
      const before = upstream.calls();
      const admin = await call({ sub: 'comma-user', scope: 'api:read x,admin' }, 'GET', '/api/admin/users');
      expect(admin.status).toBe(403);
      expect(admin.headers['x-auth-reason']).toBe('scope_missing');
      const viaScp = await call({ sub: 'comma-user', scope: undefined, scp: ['api:read', 'x,admin'] }, 'GET', '/api/admin/users');
      expect(viaScp.status).toBe(403);
      expect(upstream.calls()).toBe(before);

      const r = await call({ sub: 'comma-user', scope: 'api:read x,admin' });
      expect(r.status).toBe(200);
      expect(r.json<EchoBody>().headers['x-scopes']).toBe('api:read');
      // a real admin scope still passes
      expect((await call({ sub: 'comma-user', scope: 'api:read admin' }, 'GET', '/api/admin/users')).status).toBe(200);
    }));

  test('a 600-character subject on a charged route: 401 claim_invalid, nothing charged, upstream never called (QUOTA_FAIL_OPEN=true)', () =>
    withLogs(async () => {
      const before = upstream.calls();
      const failOpenBefore = await metric('tollgate_quota_charges_total{outcome="fail_open"}');
      const r = await call({ sub: 'a'.repeat(600) }, 'POST', '/api/tasks');
      expect(r.status).toBe(401);
      expect(r.headers['x-auth-reason']).toBe('claim_invalid');
      expect(r.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(upstream.calls()).toBe(before);
      expect(await metric('tollgate_quota_charges_total{outcome="fail_open"}')).toBe(failOpenBefore);
      expect(await metric('tollgate_quota_charges_total{outcome="error"}')).toBe(0);
      expect(await metric('tollgate_store_duration_seconds_count{op="charge"}')).toBe(0);
      // on an uncharged route too
      expect((await call({ sub: 'a'.repeat(600) })).headers['x-auth-reason']).toBe('claim_invalid');
      // a normal subject on the same route is charged
      const ok = await call({ sub: 'short-user' }, 'POST', '/api/tasks');
      expect(ok.status).toBe(200);
      expect(ok.json<EchoBody>().headers['x-ticks-charged']).toBe('1');
    }));
});
