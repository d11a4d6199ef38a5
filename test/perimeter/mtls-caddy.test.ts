// Certificate-bound tokens (RFC 8705) through the real Caddy (deploy/caddy/Caddyfile with
// GATEWAY_MTLS) and the built validator: Caddy sends its SHA-256 of the client certificate (hex) as
// X-Client-Cert-S256, the validator compares it with the token's cnf x5t#S256 (base64url). A bound
// token passes with its certificate only; a client's own X-Client-Cert-S256 is deleted; optional
// admits only GATEWAY_CLIENT_CA's certificates; with GATEWAY_MTLS off no certificate is asked for.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findCaddy, startCaddy, type CaddyGateway } from '../../devkit/caddy';
import { clientIdentity, type ClientIdentity, ensureDevCerts, makeClientCa, makeClientCert } from '../../devkit/certs';
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { request, type Res } from '../e2e/client';

const caddy = findCaddy();
if (!caddy && process.env.CI) throw new Error('mtls-caddy needs caddy in CI (apt-get install caddy)');
const d = caddy ? describe : describe.skip;

type Client = ClientIdentity;

d('certificate-bound tokens through Caddy (forward_auth, AUTH_FRONT=forwarded)', () => {
  let root: string;
  let iss: TestIssuer;
  let key: TestKey;
  let upstream: DemoUpstream;
  let validator: ValidatorProcess;
  let anyCert: CaddyGateway;
  let caOnly: CaddyGateway;
  let off: CaddyGateway;
  let serverCa: Buffer;
  let alice: Client;
  let mallory: Client;
  let stranger: Client;

  const client = clientIdentity;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-mtls-caddy-'));
    const ca = makeClientCa(path.join(root, 'ca'));
    alice = client(makeClientCert(path.join(root, 'clients'), 'alice', ca));
    mallory = client(makeClientCert(path.join(root, 'clients'), 'mallory', ca));
    stranger = client(makeClientCert(path.join(root, 'clients'), 'stranger', makeClientCa(path.join(root, 'other-ca'), 'other-ca')));
    const tls = ensureDevCerts({ dir: path.join(root, 'certs') });
    serverCa = fs.readFileSync(tls.certFile);
    key = await makeKey('ES256', 'mtls-caddy');
    iss = await TestIssuer.start([key]);
    upstream = await startDemoUpstream();
    validator = await spawnValidator({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: iss.jwksUrl,
      AUTH_FRONT: 'forwarded',
      AUTH_MTLS_TRUST_HEADER: 'true',
    });
    const around = {
      validators: [`127.0.0.1:${validator.port}`],
      apps: [`127.0.0.1:${upstream.port}`],
      httpsPort: 0,
      httpPort: 0,
      env: {},
    };
    const vars = { GATEWAY_TLS_CERT: tls.certFile, GATEWAY_TLS_KEY: tls.keyFile };
    anyCert = await startCaddy({ ...around, vars: { ...vars, GATEWAY_MTLS: 'optional_no_ca' } });
    caOnly = await startCaddy({ ...around, vars: { ...vars, GATEWAY_MTLS: 'optional', GATEWAY_CLIENT_CA: ca.certFile } });
    off = await startCaddy({ ...around, vars });
  }, 60_000);

  afterAll(async () => {
    for (const gw of [anyCert, caOnly, off]) await gw?.stop();
    await validator?.stop();
    await upstream?.stop();
    await iss?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const t = (name: string, fn: () => Promise<void>): void =>
    test(name, async () => {
      try {
        await fn();
      } catch (err) {
        console.error(
          `mtls-caddy failure; logs:\n${[anyCert, caOnly, off].map((g) => g?.logs().slice(-4000)).join('\n---\n')}\n--- validator ---\n${validator.logs().slice(-8000)}`,
        );
        throw err;
      }
    });

  const token = (claims: Record<string, unknown> = {}) => mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { sub: 'svc', scope: 'api:read', ...claims } });
  const boundTo = (c: Client) => token({ cnf: { 'x5t#S256': c.s256 } });
  // With client authentication on, Caddy serves a request only when its Host is the TLS server name.
  const call = (gw: CaddyGateway, tok: string, as?: Client, headers: Record<string, string> = {}): Promise<Res> =>
    request(`https://localhost:${gw.httpsPort}`, '/api/things', {
      ca: serverCa,
      cert: as?.cert,
      key: as?.key,
      servername: 'localhost',
      headers: { authorization: `Bearer ${tok}`, ...headers },
    }).catch((e: Error) => ({ status: 0, headers: {}, rawHeaders: [], body: e.message, json: () => ({}) as never, count: () => 0 }));
  const reason = (r: Res) => [r.status, r.headers['x-auth-reason']];

  t('bound token + its client certificate → 200, the upstream sees X-Token-Binding: mtls and no certificate header', async () => {
    const r = await call(anyCert, await boundTo(alice), alice);
    expect(r.status).toBe(200);
    const echo = r.json<EchoBody>();
    expect(echo.headers['x-user-id']).toBe('svc');
    expect(echo.otherXHeaders['x-token-binding']).toBe('mtls');
    expect(echo.headerNames.filter((h) => /cert/.test(h))).toEqual([]);
  });

  t('another certificate → 401 mtls_binding_mismatch; none → 401 client_certificate_missing; the upstream is never called', async () => {
    const tok = await boundTo(alice);
    const before = upstream.calls();
    expect(reason(await call(anyCert, tok, mallory))).toEqual([401, 'mtls_binding_mismatch']);
    expect(reason(await call(anyCert, tok))).toEqual([401, 'client_certificate_missing']);
    expect(upstream.calls()).toBe(before);
  });

  t("a client's own X-Client-Cert-S256 (base64url or hex) never reaches the validator", async () => {
    const tok = await boundTo(alice);
    const hex = Buffer.from(alice.s256, 'base64url').toString('hex');
    for (const forged of [alice.s256, hex]) {
      expect(reason(await call(anyCert, tok, undefined, { 'X-Client-Cert-S256': forged }))).toEqual([401, 'client_certificate_missing']);
      expect(reason(await call(anyCert, tok, mallory, { 'X-Client-Cert-S256': forged }))).toEqual([401, 'mtls_binding_mismatch']);
      expect(reason(await call(off, tok, undefined, { 'X-Client-Cert-S256': forged }))).toEqual([401, 'client_certificate_missing']);
    }
  });

  t("optional: GATEWAY_CLIENT_CA's certificates only (another CA's fails the handshake); off: no certificate is asked for", async () => {
    expect((await call(caOnly, await boundTo(alice), alice)).status).toBe(200);
    const strangerCall = await call(caOnly, await boundTo(stranger), stranger);
    expect(strangerCall.status).not.toBe(200);
    expect(reason(await call(caOnly, await boundTo(alice)))).toEqual([401, 'client_certificate_missing']);
    // off: the certificate is never requested, so a bound token cannot pass; unbound ones do
    expect(reason(await call(off, await boundTo(alice), alice))).toEqual([401, 'client_certificate_missing']);
    expect((await call(off, await token(), alice)).status).toBe(200);
  });

  t('unbound tokens are unaffected with client certificates on: with or without a certificate → 200', async () => {
    expect((await call(anyCert, await token())).status).toBe(200);
    expect((await call(anyCert, await token(), mallory)).status).toBe(200);
  });
});
