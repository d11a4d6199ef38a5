// Certificate-bound tokens (RFC 8705) through the real NGINX, its njs (SHA-256 of the client
// certificate on njs 0.7.9) and the built validator: a token bound to a client certificate passes
// with that certificate only; a client's own X-Client-Cert-S256 never reaches the validator nor the
// upstream; unbound tokens are unaffected; GATEWAY_MTLS=optional admits only GATEWAY_CLIENT_CA's
// certificates; a bound grant is never served from the edge decision cache.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clientIdentity, type ClientIdentity, makeClientCa, makeClientCert, type CertPair } from '../../devkit/certs';
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { nginxOrSkip, startLocalGateway, type LocalGateway } from '../../devkit/nginx';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { request, type Res } from '../e2e/client';

const d = nginxOrSkip('mTLS-bound tokens through NGINX') ? describe : describe.skip;

type Client = ClientIdentity;

d('certificate-bound tokens through NGINX', () => {
  let root: string;
  let iss: TestIssuer;
  let key: TestKey;
  let upstream: DemoUpstream;
  let validator: ValidatorProcess;
  /** optional_no_ca, edge decision cache on */
  let anyCert: LocalGateway;
  /** optional, GATEWAY_CLIENT_CA = the test CA */
  let caOnly: LocalGateway;
  /** GATEWAY_MTLS unset (off) */
  let off: LocalGateway;
  let ca: CertPair;
  let alice: Client;
  let mallory: Client;
  let selfSigned: Client;
  let stranger: Client;

  const client = clientIdentity;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-mtls-'));
    fs.chmodSync(root, 0o755);
    ca = makeClientCa(path.join(root, 'ca'));
    alice = client(makeClientCert(path.join(root, 'clients'), 'alice', ca));
    mallory = client(makeClientCert(path.join(root, 'clients'), 'mallory', ca));
    selfSigned = client(makeClientCert(path.join(root, 'clients'), 'self-signed'));
    stranger = client(makeClientCert(path.join(root, 'clients'), 'stranger', makeClientCa(path.join(root, 'other-ca'), 'other-ca')));
    key = await makeKey('ES256', 'mtls');
    iss = await TestIssuer.start([key]);
    upstream = await startDemoUpstream();
    validator = await spawnValidator({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: iss.jwksUrl,
      AUTH_MTLS_TRUST_HEADER: 'true',
      AUTH_DECISION_CACHE_TTL_S: '60',
    });
    const around = { validators: [`127.0.0.1:${validator.port}`], apps: [`127.0.0.1:${upstream.port}`] };
    anyCert = await startLocalGateway({ ...around, vars: { GATEWAY_MTLS: 'optional_no_ca', GATEWAY_AUTH_CACHE: 'on' } });
    caOnly = await startLocalGateway({ ...around, vars: { GATEWAY_MTLS: 'optional', GATEWAY_CLIENT_CA: ca.certFile } });
    off = await startLocalGateway(around);
  }, 60_000);

  afterAll(async () => {
    for (const gw of [anyCert, caOnly, off]) await gw?.stop();
    await validator?.stop();
    await upstream?.stop();
    await iss?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const withLogs = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const nginx = [anyCert, caOnly, off].map((g) => `--- nginx ${g?.httpsPort} ---\n${g?.errorLog()}`).join('\n');
      console.error(`mtls-nginx failure; logs:\n${nginx}\n--- validator ---\n${validator.logs()}`);
      throw err;
    }
  };
  const t = (name: string, fn: () => Promise<void>): void => test(name, () => withLogs(fn));

  const token = (claims: Record<string, unknown> = {}) => mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { sub: 'svc', scope: 'api:read', ...claims } });
  const boundTo = (c: Client) => token({ cnf: { 'x5t#S256': c.s256 } });
  const call = (gw: LocalGateway, tok: string, as?: Client, headers: Record<string, string> = {}, uri = '/api/things'): Promise<Res> =>
    request(gw.httpsUrl, uri, { ca: gw.ca, cert: as?.cert, key: as?.key, headers: { authorization: `Bearer ${tok}`, ...headers } });
  const echo = (r: Res) => r.json<EchoBody>();
  const refusal = (r: Res) => ({
    status: r.status,
    reason: r.headers['x-auth-reason'],
    body: r.body,
    challenge: /error="invalid_token"/.test(String(r.headers['www-authenticate'])),
  });

  t('bound token + its client certificate → 200 (also self-signed, on optional_no_ca); the upstream gets no thumbprint or certificate header', async () => {
    const r = await call(anyCert, await boundTo(alice), alice);
    expect(r.status).toBe(200);
    expect(echo(r).headers['x-user-id']).toBe('svc');
    expect(echo(r).headerNames.filter((h) => /cert/.test(h))).toEqual([]);
    expect((await call(anyCert, await boundTo(selfSigned), selfSigned)).status).toBe(200);
  });

  t('another client certificate → 401 mtls_binding_mismatch; no certificate → 401 client_certificate_missing; upstream never called', async () => {
    const tok = await boundTo(alice);
    const before = upstream.calls();
    expect(refusal(await call(anyCert, tok, mallory))).toEqual({
      status: 401,
      reason: 'mtls_binding_mismatch',
      body: '{"error":"mtls_binding_mismatch"}\n',
      challenge: true,
    });
    expect(refusal(await call(anyCert, tok, selfSigned))).toMatchObject({ status: 401, reason: 'mtls_binding_mismatch' });
    expect(refusal(await call(anyCert, tok))).toEqual({
      status: 401,
      reason: 'client_certificate_missing',
      body: '{"error":"client_certificate_missing"}\n',
      challenge: true,
    });
    expect(upstream.calls()).toBe(before);
  });

  t("a client's own X-Client-Cert-S256 is ignored: it never reaches the validator (bound token refused) nor the upstream", async () => {
    const tok = await boundTo(alice);
    // the thumbprint is no secret: anyone holding the token can read it out of cnf
    const forged = { 'X-Client-Cert-S256': alice.s256 };
    expect(refusal(await call(anyCert, tok, undefined, forged))).toMatchObject({ status: 401, reason: 'client_certificate_missing' });
    expect(refusal(await call(anyCert, tok, mallory, forged))).toMatchObject({ status: 401, reason: 'mtls_binding_mismatch' });
    expect(refusal(await call(off, tok, undefined, forged))).toMatchObject({ status: 401, reason: 'client_certificate_missing' });
    // with an unbound token it passes, and the upstream never sees it (nor other client-certificate headers)
    const spoof = { ...forged, 'X-Forwarded-Client-Cert': 'Hash=abc', 'X-SSL-Client-Cert': 'pem', 'X-ARR-ClientCert': 'der' };
    for (const uri of ['/api/things', '/api/health']) {
      const r = await call(anyCert, await token(), alice, spoof, uri);
      expect({ uri, status: r.status }).toEqual({ uri, status: 200 });
      if (uri === '/api/things') expect(echo(r).headerNames.filter((h) => /client-?cert/.test(h))).toEqual([]);
    }
  });

  t('a client-certificate header the strip list does not know is refused at the edge (400 header_forbidden)', async () => {
    for (const name of ['X-Client-Cert-Sha1', 'X-Client-Certificate', 'X-SSL-Client-Fingerprint', 'X-Amzn-Mtls-Clientcert-Leaf']) {
      const r = await call(anyCert, await token(), alice, { [name]: 'x' });
      expect({ name, status: r.status, reason: r.headers['x-auth-reason'] }).toEqual({ name, status: 400, reason: 'header_forbidden' });
    }
  });

  t('an unbound token is unaffected: with or without a certificate, on every GATEWAY_MTLS mode', async () => {
    const tok = await token();
    for (const [mode, gw] of [
      ['optional_no_ca', anyCert],
      ['optional', caOnly],
      ['off', off],
    ] as const) {
      for (const as of [undefined, alice]) {
        const r = await call(gw, tok, as);
        expect({ mode, cert: as !== undefined, status: r.status, user: r.status === 200 ? echo(r).headers['x-user-id'] : 'n/a' }).toEqual({
          mode,
          cert: as !== undefined,
          status: 200,
          user: 'svc',
        });
      }
    }
  });

  t(
    'the binding is checked on every request: the same token, cached by the validator and with the edge cache on, never passes with another certificate',
    async () => {
      const tok = await boundTo(alice);
      const seq: number[] = [];
      for (const as of [alice, alice, mallory, undefined, alice, mallory])
        seq.push((await call(anyCert, tok, as, { 'X-Request-Id': `mtls-seq-${seq.length}` })).status);
      expect(seq).toEqual([200, 200, 401, 401, 200, 401]);
      // no bound grant was stored in (or served from) NGINX's edge cache; an unbound token's is (the cache is on)
      const unbound = await token();
      for (let i = 0; i < 2; i++) expect((await call(anyCert, unbound, undefined, { 'X-Request-Id': `mtls-unbound-${i}` })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      const cacheOf = (id: string) => anyCert.accessLog().find((l) => l.request_id === id)?.auth_cache;
      expect([0, 1, 2, 3, 4, 5].map((i) => cacheOf(`mtls-seq-${i}`)).filter((c) => c === 'HIT')).toEqual([]);
      expect(cacheOf('mtls-unbound-1')).toBe('HIT');
    },
  );

  t(
    "GATEWAY_MTLS=optional: the CA's certificates pass as usual; another CA's, or a self-signed one, → 400 client_certificate_invalid before anything else",
    async () => {
      expect((await call(caOnly, await boundTo(alice), alice)).status).toBe(200);
      expect(refusal(await call(caOnly, await boundTo(alice), mallory))).toMatchObject({ status: 401, reason: 'mtls_binding_mismatch' });
      const before = upstream.calls();
      for (const [who, as] of [
        ['another CA', stranger],
        ['self-signed', selfSigned],
      ] as const) {
        const r = await call(caOnly, await boundTo(as), as);
        expect({ who, status: r.status, reason: r.headers['x-auth-reason'], body: r.body, type: r.headers['content-type'] }).toEqual({
          who,
          status: 400,
          reason: 'client_certificate_invalid',
          body: '{"error":"client_certificate_invalid"}\n',
          type: 'application/json',
        });
      }
      expect(upstream.calls()).toBe(before);
    },
  );

  t('GATEWAY_MTLS=off asks for no certificate: a bound token is 401 client_certificate_missing even when the client has one', async () => {
    expect(refusal(await call(off, await boundTo(alice), alice))).toMatchObject({ status: 401, reason: 'client_certificate_missing' });
  });
});
