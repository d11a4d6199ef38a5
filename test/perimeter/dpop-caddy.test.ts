// DPoP (RFC 9449) through the real Caddy (deploy/caddy/Caddyfile) and the built validator with
// server nonces (AUTH_DPOP_NONCE): the 401 use_dpop_nonce and its DPoP-Nonce reach the client, the
// retry with that nonce passes and its grant carries the next nonce back to the client (forward_auth
// copies grant headers only onto the proxied request, so the Caddyfile returns it itself); the
// upstream is told X-Token-Binding: dpop; a downgrade to Bearer is refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findCaddy, startCaddy, type CaddyGateway } from '../../devkit/caddy';
import { ensureDevCerts } from '../../devkit/certs';
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { startDevIdp, type DevIdp } from '../../devkit/dev-idp';
import { dpopClient, type DpopClient } from '../../devkit/dpop';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { request, type Res } from '../e2e/client';

const caddy = findCaddy();
if (!caddy && process.env.CI) throw new Error('dpop-caddy needs caddy in CI (apt-get install caddy)');
const d = caddy ? describe : describe.skip;

/** The origin clients are told to call (AUTH_PUBLIC_ORIGIN), never the address they connected to. */
const ORIGIN = 'https://api.example.test';

d('DPoP-bound tokens through Caddy (forward_auth, AUTH_FRONT=forwarded, server nonces)', () => {
  let root: string;
  let idp: DevIdp;
  let upstream: DemoUpstream;
  let validator: ValidatorProcess;
  let gw: CaddyGateway;
  let ca: Buffer;
  let alice: DpopClient;
  let token: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-dpop-caddy-'));
    const tls = ensureDevCerts({ dir: path.join(root, 'certs') });
    ca = fs.readFileSync(tls.certFile);
    idp = await startDevIdp();
    upstream = await startDemoUpstream();
    validator = await spawnValidator({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: 'wavestack',
      AUTH_FRONT: 'forwarded',
      AUTH_DPOP: 'allowed',
      AUTH_PUBLIC_ORIGIN: ORIGIN,
      AUTH_DPOP_NONCE: 'on',
      AUTH_DPOP_NONCE_SECRET: 'dpop-nonce-secret-for-the-caddy-test-0123',
      QUOTA_ROUTES: ',',
    });
    gw = await startCaddy({
      validators: [`127.0.0.1:${validator.port}`],
      apps: [`127.0.0.1:${upstream.port}`],
      httpsPort: 0,
      httpPort: 0,
      env: {},
      vars: { GATEWAY_TLS_CERT: tls.certFile, GATEWAY_TLS_KEY: tls.keyFile },
    });
    alice = await dpopClient('ES256');
    token = await idp.dpopToken(alice);
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await validator?.stop();
    await upstream?.stop();
    await idp?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const call = async (proof: string | undefined, scheme = 'DPoP', headers: Record<string, string> = {}): Promise<Res> =>
    request(gw.httpsUrl, '/api/things', { ca, headers: { authorization: `${scheme} ${token}`, ...(proof ? { dpop: proof } : {}), ...headers } });
  const proofFor = (nonce?: string) => alice.proof({ method: 'GET', url: `${ORIGIN}/api/things`, accessToken: token, nonce });

  test('401 use_dpop_nonce with DPoP-Nonce reaches the client; the retry passes, its grant carries the nonce back, the upstream is told dpop', async () => {
    try {
      const first = await call(await proofFor());
      expect([first.status, first.headers['x-auth-reason']]).toEqual([401, 'dpop_nonce_required']);
      expect(String(first.headers['www-authenticate'])).toMatch(/^DPoP realm="api", error="use_dpop_nonce", /);
      const nonce = String(first.headers['dpop-nonce']);
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);

      const retry = await call(await proofFor(nonce));
      expect(retry.status).toBe(200);
      expect(retry.headers['dpop-nonce']).toBe(nonce);
      expect(retry.count('DPoP-Nonce')).toBe(1);
      expect(retry.json<EchoBody>().otherXHeaders['x-token-binding']).toBe('dpop');

      // a client's own nonce header toward the app is deleted; the grant's is the validator's
      const spoofed = await call(await proofFor(nonce), 'DPoP', { 'X-Tollgate-Dpop-Nonce': 'made-up' });
      expect([spoofed.status, spoofed.headers['dpop-nonce']]).toEqual([200, nonce]);
    } catch (err) {
      console.error(`dpop-caddy failure; logs:\n${gw.logs().slice(-4000)}\n--- validator ---\n${validator.logs().slice(-8000)}`);
      throw err;
    }
  });

  test('a downgrade to Bearer is refused (401 dpop_proof_missing) and carries no grant nonce', async () => {
    const r = await call(undefined, 'Bearer');
    expect([r.status, r.headers['x-auth-reason']]).toEqual([401, 'dpop_proof_missing']);
  });
});
