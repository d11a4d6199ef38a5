// The development IdP over real HTTP: Keycloak-shaped discovery, tokens, clients, key rotation, production refusal.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { startDevIdp, type DevIdp } from '../../devkit/dev-idp';

let idp: DevIdp;

beforeAll(async () => {
  idp = await startDevIdp();
});

afterAll(async () => {
  await idp?.stop();
});

/** Verifies against a fresh JWKS fetch, so a key change at the IdP is seen at once. */
async function verify(token: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUrl)), {
    issuer: idp.issuer,
    audience: 'wavestack',
    algorithms: ['RS256'],
  });
  return payload;
}

function postToken(body: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(idp.tokenUrl, { method: 'POST', headers, body: new URLSearchParams(body) });
}

async function publishedKids(): Promise<string[]> {
  const res = await fetch(idp.jwksUrl);
  const { keys } = (await res.json()) as { keys: { kid: string }[] };
  return keys.map((k) => k.kid);
}

test('the discovery document has the Keycloak realm endpoints', async () => {
  expect(idp.issuer).toBe(`http://127.0.0.1:${idp.port}/realms/wavestack`);
  const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as Record<string, unknown>;
  expect(doc).toMatchObject({
    issuer: idp.issuer,
    token_endpoint: `${idp.issuer}/protocol/openid-connect/token`,
    jwks_uri: `${idp.issuer}/protocol/openid-connect/certs`,
  });
  expect(idp.tokenUrl).toBe(doc.token_endpoint);
  expect(idp.jwksUrl).toBe(doc.jwks_uri);
  expect(doc.grant_types_supported).toContain('client_credentials');
  expect(doc.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
});

test('the JWKS publishes public RS256 signing keys only', async () => {
  const { keys } = (await (await fetch(idp.jwksUrl)).json()) as { keys: Record<string, unknown>[] };
  expect(keys).toHaveLength(1);
  expect(keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', kid: expect.any(String) });
  for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(keys[0]).not.toHaveProperty(p);
});

test('a client_credentials token without scope or resource is a Keycloak-shaped JWT for the gateway', async () => {
  const token = await idp.token();
  expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', kid: (await publishedKids())[0] });
  const payload = await verify(token);
  expect(payload).toMatchObject({
    iss: idp.issuer,
    azp: 'gateway',
    client_id: 'gateway',
    sub: 'service-account-gateway',
    preferred_username: 'service-account-gateway',
    typ: 'Bearer',
    scope: 'api:read api:write',
  });
  expect([payload.aud].flat()).toContain('wavestack');
  expect(payload.jti).toEqual(expect.any(String));
  expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
  expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(900);
});

test('client_secret_post works, and the response looks like Keycloak', async () => {
  const res = await postToken({ grant_type: 'client_credentials', client_id: 'gateway', client_secret: 'gateway-dev-secret', scope: 'api:read' });
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'api:read' });
  expect((await verify(body.access_token as string)).scope).toBe('api:read');
});

test('reader gets api:read only and is refused api:write', async () => {
  const payload = await verify(await idp.token('reader'));
  expect(payload).toMatchObject({ azp: 'reader', sub: 'service-account-reader', scope: 'api:read' });

  const res = await postToken({ grant_type: 'client_credentials', client_id: 'reader', client_secret: 'reader-dev-secret', scope: 'api:write' });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ error: 'invalid_scope' });
});

test('a wrong secret is 401 invalid_client', async () => {
  const res = await postToken({ grant_type: 'client_credentials', client_id: 'gateway', client_secret: 'not-the-secret' });
  expect(res.status).toBe(401);
  expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  await expect(idp.token('gateway', 'not-the-secret')).rejects.toThrow(/401.*invalid_client/);
});

test('the admin endpoint only rotates on POST', async () => {
  const res = await fetch(`http://127.0.0.1:${idp.port}/admin/rotate`);
  expect(res.status).toBe(405);
  expect(await publishedKids()).toHaveLength(1);
});

test('after a rotation new tokens carry the new kid and old tokens still verify; drop=1 unpublishes the old keys', async () => {
  const [oldKid] = await publishedKids();
  const oldToken = await idp.token();

  const kids = await idp.rotate();
  expect(kids).toHaveLength(2);
  expect(kids[1]).toBe(oldKid);
  expect(await publishedKids()).toEqual(kids);
  const newToken = await idp.token();
  expect(decodeProtectedHeader(newToken).kid).toBe(kids[0]);
  await expect(verify(newToken)).resolves.toMatchObject({ azp: 'gateway' });
  await expect(verify(oldToken)).resolves.toMatchObject({ azp: 'gateway' });

  const [onlyKid, ...rest] = await idp.rotate(true);
  expect(rest).toEqual([]);
  expect(await publishedKids()).toEqual([onlyKid]);
  await expect(verify(oldToken)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  await expect(verify(newToken)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  expect(decodeProtectedHeader(await idp.token()).kid).toBe(onlyKid);
});

test('restart keeps the port and issuer, with new in-memory keys', async () => {
  const { issuer, port } = idp;
  const [before] = await publishedKids();
  await idp.restart();
  expect(idp.port).toBe(port);
  expect(idp.issuer).toBe(issuer);
  const [after] = await publishedKids();
  expect(after).not.toBe(before);
  expect(decodeProtectedHeader(await idp.token()).kid).toBe(after);
});

test('DEV_IDP_ISSUER_BASE sets a public issuer while the endpoints stay on the listening address', async () => {
  const pub = await startDevIdp({ env: { DEV_IDP_ISSUER_BASE: 'https://idp.example.test/', DEV_IDP_CLIENT_SECRET: 'other-secret' } });
  try {
    expect(pub.issuer).toBe('https://idp.example.test/realms/wavestack');
    expect(pub.tokenUrl).toBe(`http://127.0.0.1:${pub.port}/realms/wavestack/protocol/openid-connect/token`);
    const token = await pub.token();
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(pub.jwksUrl)), { issuer: pub.issuer, audience: 'wavestack' });
    expect(payload.azp).toBe('gateway');
    await expect(pub.token('gateway', 'gateway-dev-secret')).rejects.toThrow(/401/);
  } finally {
    await pub.stop();
  }
});

test('it refuses to start with NODE_ENV=production', async () => {
  await expect(startDevIdp({ env: { NODE_ENV: 'production' } })).rejects.toThrow(/exited with code 1[\s\S]*NODE_ENV=production/);
});
