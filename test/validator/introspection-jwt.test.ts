// Introspection of JWTs (Keycloak introspects its own JWT access tokens; oidc-provider only opaque
// ones, so a small RFC 7662 endpoint stands in here): a verified JWT is refused once the issuer says
// it is inactive (token_revoked), the request is authenticated and shaped as RFC 7662 §2.1 says,
// and every way of not getting an answer fails closed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { makeKey, mint, TestIssuer, type TestKey } from '../../devkit/issuer';
import { parseConfig } from '../../validator/config';
import { canonicalConfig } from '../../validator/config/hash';
import { buildTestApp, type TestApp } from '../helpers/app';

type Mode = 'ok' | 'error500' | 'garbage' | 'no-active' | 'hang';
let mode: Mode = 'ok';
const revoked = new Set<string>();
const seen: Array<{ authorization?: string; contentType?: string; form: URLSearchParams }> = [];
let endpoint: Server;
let url = '';
let idp: TestIssuer;
let key: TestKey;
let app: TestApp;

const body = (req: IncomingMessage) =>
  new Promise<string>((r) => {
    let s = '';
    req.on('data', (c) => (s += c));
    req.on('end', () => r(s));
  });

beforeAll(async () => {
  key = await makeKey('RS256', 'k1');
  idp = await TestIssuer.start([key]);
  endpoint = createServer(async (req, res) => {
    const form = new URLSearchParams(await body(req));
    seen.push({ authorization: req.headers.authorization, contentType: req.headers['content-type'], form });
    if (mode === 'hang') return;
    if (mode === 'error500') return void res.writeHead(500).end('oops');
    res.setHeader('content-type', 'application/json');
    if (mode === 'garbage') return void res.end('{"active": tru');
    if (mode === 'no-active') return void res.end('{"scope": "api:read"}');
    const jti = JSON.parse(Buffer.from(form.get('token')!.split('.')[1]!, 'base64url').toString()).jti as string;
    res.end(JSON.stringify(revoked.has(jti) ? { active: false } : { active: true, jti, token_type: 'Bearer' }));
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/introspect`;
  app = await buildTestApp(
    {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_INTROSPECTION_URL: url,
      AUTH_INTROSPECTION_CLIENT_ID: 'tollgate gw', // a space: form-urlencoded before Basic (RFC 6749 §2.3.1)
      AUTH_INTROSPECTION_CLIENT_SECRET: 's3cret:with:colons',
      AUTH_INTROSPECTION_CACHE_TTL_S: '0',
      AUTH_INTROSPECTION_TIMEOUT_MS: '300',
      AUTH_DECISION_CACHE_TTL_S: '600',
      LOG_LEVEL: 'silent',
    },
    { noStore: true },
  );
});
afterAll(async () => {
  await app?.close();
  await idp?.stop();
  endpoint?.closeAllConnections();
  await new Promise((r) => endpoint?.close(r));
});
beforeEach(() => {
  mode = 'ok';
  seen.length = 0;
});

const token = (jti: string) => mint({ iss: idp.issuer, aud: 'api' }, { key, claims: { jti, scope: 'api:read' } });
const decide = async (t: string) => {
  const res = await request(app.listener)
    .get('/api/auth/validate')
    .set('Authorization', `Bearer ${t}`)
    .set('X-Original-Method', 'GET')
    .set('X-Original-URI', '/api/x');
  return {
    status: res.status,
    reason: (res.headers['x-auth-reason'] as string | undefined) ?? 'ok',
    retryAfter: res.headers['retry-after'] as string | undefined,
  };
};

test('a verified JWT is introspected: active passes; revoked is token_revoked, though its signature and the verified-token cache still hold', async () => {
  const t = await token('j-1');
  expect(await decide(t)).toMatchObject({ status: 200 });
  revoked.add('j-1');
  expect(await decide(t)).toMatchObject({ status: 401, reason: 'token_revoked' });
  expect(app.verifier.cacheSize).toBeGreaterThan(0); // the signature verification is still cached
  expect(seen).toHaveLength(2); // TTL 0: every decision asks
});

test('RFC 7662 §2.1: POST form with the token and hint, HTTP Basic with form-urlencoded id and secret', async () => {
  const t = await token('j-2');
  await decide(t);
  expect(seen[0]).toMatchObject({ contentType: 'application/x-www-form-urlencoded' });
  expect(seen[0]!.form.get('token')).toBe(t);
  expect(seen[0]!.form.get('token_type_hint')).toBe('access_token');
  expect(Buffer.from(seen[0]!.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe('tollgate+gw:s3cret%3Awith%3Acolons');
});

test('a JWT that fails verification is never sent to the introspection endpoint', async () => {
  const other = await makeKey('RS256', 'k1');
  expect(await decide(await mint({ iss: idp.issuer, aud: 'api' }, { key: other }))).toMatchObject({ status: 401, reason: 'signature_invalid' });
  expect(seen).toHaveLength(0);
});

test.each<[Mode, string]>([
  ['error500', 'a 500'],
  ['garbage', 'a body that is not JSON'],
  ['no-active', 'JSON without a boolean "active"'],
  ['hang', 'no answer within AUTH_INTROSPECTION_TIMEOUT_MS'],
])('%s (%s) fails closed: 503 introspection_unavailable with Retry-After', async (m) => {
  mode = m;
  expect(await decide(await token(`j-${m}`))).toMatchObject({ status: 503, reason: 'introspection_unavailable', retryAfter: expect.stringMatching(/^\d+$/) });
});

test('an opaque token is refused as malformed when no issuer accepts opaque tokens, without asking anyone', async () => {
  expect(await decide('opaque-token-value')).toMatchObject({ status: 401, reason: 'token_malformed' });
  expect(seen).toHaveLength(0);
});

describe('config', () => {
  const BASE = { NODE_ENV: 'test', AUTH_MODE: 'jwks', AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'api', DATA_DIR: 'memory://' };
  const WITH = { ...BASE, AUTH_INTROSPECTION_URL: 'https://idp.example/introspect', AUTH_INTROSPECTION_CLIENT_ID: 'tg', AUTH_INTROSPECTION_CLIENT_SECRET: 'x' };

  test('the shorthand attaches to the AUTH_ISSUER issuer with its defaults', () => {
    expect(parseConfig(WITH).auth.issuers[0]!.introspection).toEqual({
      url: 'https://idp.example/introspect',
      clientId: 'tg',
      clientSecret: 'x',
      cacheTtlS: 10,
      opaque: false,
      timeoutMs: 2000,
    });
  });

  test('the introspection client secret enters the configuration hash only as its own hash', () => {
    const text = canonicalConfig(parseConfig({ ...WITH, AUTH_INTROSPECTION_CLIENT_SECRET: 'introspection-secret-value' }));
    expect(text).not.toContain('introspection-secret-value');
    expect(text).toContain(`"clientSecret":"sha256:`);
  });

  test('an AUTH_ISSUERS entry carries its own introspection', () => {
    const issuers = JSON.stringify([
      {
        issuer: 'https://a.example',
        audience: 'api',
        introspection: { url: 'https://a.example/introspect', clientId: 'tg', clientSecret: 's', cacheTtlS: 5, opaque: true },
      },
      { issuer: 'https://b.example', audience: 'api' },
    ]);
    const [a, b] = parseConfig({ NODE_ENV: 'test', AUTH_ISSUERS: issuers, DATA_DIR: 'memory://' }).auth.issuers;
    expect(a!.introspection).toEqual({ url: 'https://a.example/introspect', clientId: 'tg', clientSecret: 's', cacheTtlS: 5, opaque: true, timeoutMs: 2000 });
    expect(b!.introspection).toBeUndefined();
  });

  test('an entry reads its client secret from clientSecretFile (a mounted secret)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-introspection-'));
    try {
      writeFileSync(join(dir, 'secret'), 'from-a-file\n');
      const entry = {
        issuer: 'https://a.example',
        audience: 'api',
        introspection: { url: 'https://a.example/i', clientId: 'tg', clientSecretFile: join(dir, 'secret') },
      };
      const [a] = parseConfig({ NODE_ENV: 'test', AUTH_ISSUERS: JSON.stringify([entry]), DATA_DIR: 'memory://' }).auth.issuers;
      expect(a!.introspection!.clientSecret).toBe('from-a-file');
      const missing = { ...entry, introspection: { ...entry.introspection, clientSecretFile: join(dir, 'nope') } };
      expect(() => parseConfig({ NODE_ENV: 'test', AUTH_ISSUERS: JSON.stringify([missing]), DATA_DIR: 'memory://' })).toThrow(
        /introspection.clientSecretFile: cannot read/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each<[string, unknown[], RegExp]>([
    [
      'unknown field',
      [{ issuer: 'https://a.example', audience: 'api', introspection: { url: 'https://a.example/i', clientId: 'x', clientSecret: 'y', ttl: 5 } }],
      /AUTH_ISSUERS: \[0\] \(https:\/\/a.example\) introspection: unknown field "ttl"/,
    ],
    [
      'TTL over 60 s',
      [{ issuer: 'https://a.example', audience: 'api', introspection: { url: 'https://a.example/i', clientId: 'x', clientSecret: 'y', cacheTtlS: 300 } }],
      /introspection.cacheTtlS: must be a whole number of seconds from 0 to 60/,
    ],
    [
      'no client secret',
      [{ issuer: 'https://a.example', audience: 'api', introspection: { url: 'https://a.example/i', clientId: 'x' } }],
      /introspection.clientSecret: is required/,
    ],
    [
      'a Supabase entry',
      [{ kind: 'supabase', url: 'https://x.supabase.co', introspection: {} }],
      /introspection: Supabase Auth has no RFC 7662 introspection endpoint/,
    ],
    [
      'two issuers accepting opaque tokens',
      ['a', 'b'].map((n) => ({
        issuer: `https://${n}.example`,
        audience: 'api',
        introspection: { url: `https://${n}.example/i`, clientId: 'x', clientSecret: 'y', opaque: true },
      })),
      /an opaque token names no issuer, so at most one issuer may accept them/,
    ],
  ])('entry: %s is refused', (_name, entries, message) => {
    expect(() => parseConfig({ NODE_ENV: 'test', AUTH_ISSUERS: JSON.stringify(entries), DATA_DIR: 'memory://' })).toThrow(message);
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['the TTL is bounded to 60 s', { ...WITH, AUTH_INTROSPECTION_CACHE_TTL_S: '61' }, /AUTH_INTROSPECTION_CACHE_TTL_S: must be a whole number from 0 to 60/],
    [
      'the client is required',
      { ...BASE, AUTH_INTROSPECTION_URL: 'https://idp.example/i' },
      /AUTH_INTROSPECTION_CLIENT_ID: is required[\s\S]*AUTH_INTROSPECTION_CLIENT_SECRET: is required/,
    ],
    ['settings without the URL', { ...BASE, AUTH_INTROSPECTION_OPAQUE: 'true' }, /AUTH_INTROSPECTION_OPAQUE: has no effect without AUTH_INTROSPECTION_URL/],
    [
      'only for the AUTH_ISSUER issuer',
      {
        NODE_ENV: 'test',
        AUTH_MODE: 'supabase',
        SUPABASE_URL: 'https://x.supabase.co',
        AUTH_INTROSPECTION_URL: 'https://x/i',
        AUTH_INTROSPECTION_CLIENT_ID: 'a',
        AUTH_INTROSPECTION_CLIENT_SECRET: 'b',
      },
      /AUTH_INTROSPECTION_URL: applies to the AUTH_ISSUER issuer/,
    ],
    [
      'plain http in production',
      { ...WITH, NODE_ENV: 'production', AUTH_INTROSPECTION_URL: 'http://idp.example/i', DATABASE_URL: 'postgres://x@db/x' },
      /AUTH_INTROSPECTION_URL: plain http:\/\/ to idp.example is refused in production \(tokens and the client secret would travel in clear\)/,
    ],
  ])('%s', (_name, env, message) => {
    expect(() => parseConfig(env)).toThrow(message);
  });
});
