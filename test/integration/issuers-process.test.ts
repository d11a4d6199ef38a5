// The built validator (`node dist/validator/server.js`) configured with AUTH_ISSUERS alone, from a
// file, serving two issuers of different algorithms at once: an RFC 9068 server signing ES512
// `at+jwt` tokens (the shape glewlwyd issues) and a Keycloak realm signing RS256, plus an EdDSA one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestIssuer, makeKey, mint, type TestKey } from '../../devkit/issuer';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';

let rfc9068: TestIssuer, keycloak: TestIssuer, ed: TestIssuer;
let esKey: TestKey, rsKey: TestKey, edKey: TestKey;
let v: ValidatorProcess | undefined;
let dir: string;

beforeAll(async () => {
  [esKey, rsKey, edKey] = await Promise.all([makeKey('ES512', 'glew-1'), makeKey('RS256', 'kc-1'), makeKey('EdDSA', 'ed-1')]);
  [rfc9068, keycloak, ed] = await Promise.all([
    TestIssuer.start([esKey], '/api/oidc'),
    TestIssuer.start([rsKey], '/realms/people'),
    TestIssuer.start([edKey], '/machines'),
  ]);
  dir = mkdtempSync(path.join(tmpdir(), 'tollgate-issuers-'));
  const file = path.join(dir, 'issuers.json');
  writeFileSync(
    file,
    JSON.stringify([
      { issuer: rfc9068.issuer, audience: 'https://tasks.example.com/', algorithms: ['ES512'], tokenTypes: ['at+jwt'] }, // keys by discovery
      { issuer: keycloak.issuer, audience: 'tasks-api', jwksUrl: keycloak.jwksUrl, preset: 'keycloak' },
      { issuer: ed.issuer, audience: 'tasks-api', jwksUrl: ed.jwksUrl, algorithms: ['EdDSA'], claims: { clientId: 'client_id' } },
    ]),
  );
  v = await spawnValidator({ AUTH_ISSUERS_FILE: file, AUTH_ROUTE_RULES: JSON.stringify({ 'GET /api/': ['tasks:read'] }), QUOTA_ROUTES: ',' });
});

afterAll(async () => {
  await v?.stop();
  await Promise.all([rfc9068, keycloak, ed].map((i) => i?.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function validate(token: string): Promise<{ status: number; reason: string; user?: string; client?: string; scopes?: string }> {
  const res = await fetch(`${v!.url}/api/auth/validate`, {
    headers: { authorization: `Bearer ${token}`, 'x-original-method': 'GET', 'x-original-uri': '/api/tasks' },
  });
  await res.arrayBuffer();
  const h = (n: string) => res.headers.get(n) ?? undefined;
  return { status: res.status, reason: h('x-auth-reason') ?? 'ok', user: h('x-user-id'), client: h('x-client-id'), scopes: h('x-scopes') };
}

test('the start-up log lists the three issuers', () => {
  const listening = v!
    .logs()
    .split('\n')
    .find((l) => l.includes('"listening"'))!;
  expect(JSON.parse(listening).issuers).toEqual([`jwks:${rfc9068.issuer}`, `jwks:${keycloak.issuer}`, `jwks:${ed.issuer}`]);
});

test('ES512 at+jwt, RS256 and EdDSA tokens of their own issuers all pass, each with its identity', async () => {
  // glewlwyd's access token shape (docs/OIDC.md of babelouest/glewlwyd, "Access token format")
  const glew = await mint(
    { iss: rfc9068.issuer, aud: 'https://tasks.example.com/' },
    {
      key: esKey,
      header: { typ: 'at+jwt' },
      claims: { sub: 'glew-user', client_id: 'client1', type: 'access_token', jti: 'abcdxyz1234', scope: 'openid tasks:read' },
    },
  );
  expect(await validate(glew)).toEqual({ status: 200, reason: 'ok', user: 'glew-user', client: 'client1', scopes: 'openid,tasks:read' });
  const kc = await mint(
    { iss: keycloak.issuer, aud: ['tasks-api', 'account'] },
    { key: rsKey, claims: { sub: 'kc-user', azp: 'web', typ: 'Bearer', scope: 'tasks:read' } },
  );
  expect(await validate(kc)).toEqual({ status: 200, reason: 'ok', user: 'kc-user', client: 'web', scopes: 'tasks:read' });
  const machine = await mint(
    { iss: ed.issuer, aud: 'tasks-api' },
    { key: edKey, claims: { sub: 'svc', client_id: 'batch', azp: 'ignored', scope: 'tasks:read' } },
  );
  expect(await validate(machine)).toMatchObject({ status: 200, user: 'svc', client: 'batch' });
});

test('a key of one issuer never verifies a token naming another', async () => {
  expect(await validate(await mint({ iss: keycloak.issuer, aud: 'tasks-api' }, { key: esKey, claims: { scope: 'tasks:read' } }))).toMatchObject({
    status: 401,
    reason: 'algorithm_not_allowed',
  });
  expect(
    await validate(
      await mint({ iss: rfc9068.issuer, aud: 'https://tasks.example.com/' }, { key: await makeKey('ES512', 'glew-1'), header: { typ: 'at+jwt' } }),
    ),
  ).toMatchObject({ status: 401, reason: 'signature_invalid' });
  expect(await validate(await mint({ iss: ed.issuer, aud: 'tasks-api' }, { key: rsKey, header: { kid: 'ed-1' } }))).toMatchObject({
    status: 401,
    reason: 'algorithm_not_allowed',
  });
});

test('the RFC 9068 issuer refuses a JWT-typed token (an ID token), and the scope rule still applies', async () => {
  expect(
    await validate(await mint({ iss: rfc9068.issuer, aud: 'https://tasks.example.com/' }, { key: esKey, claims: { scope: 'tasks:read', nonce: 'n' } })),
  ).toMatchObject({ status: 401, reason: 'token_type_invalid' });
  expect(
    await validate(
      await mint({ iss: rfc9068.issuer, aud: 'https://tasks.example.com/' }, { key: esKey, header: { typ: 'at+jwt' }, claims: { scope: 'openid' } }),
    ),
  ).toMatchObject({ status: 403, reason: 'scope_missing' });
});
