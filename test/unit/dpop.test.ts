// DPoP stage (token/dpop.ts and its parts): a good proof passes; every RFC 9449 §4.3 check broken
// one at a time is refused with its reason and a DPoP challenge; downgrade to Bearer, the DPoP scheme
// with a bearer token, issuer policies, replays, nonces; the thumbprint agrees with jose's.
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { ath, dpopClient, type DpopClient } from '../../devkit/dpop';
import { parseConfig, type Config } from '../../validator/config';
import { AuthError } from '../../validator/errors';
import { createMetrics } from '../../validator/observability/metrics';
import { createDpopStage, type DpopInput } from '../../validator/token/dpop';
import { DpopNonces } from '../../validator/token/dpop-nonce';
import { jwkThumbprint } from '../../validator/token/dpop-proof';
import { LocalReplayCache } from '../../validator/token/dpop-replay';
import type { VerifiedToken } from '../../validator/token/verify';

const ISSUER = 'https://idp.example.com/realms/wavestack';
const ORIGIN = 'https://api.example.com';
const URL_ = `${ORIGIN}/api/things`;
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
const NONCE_SECRET = 'n'.repeat(32);

const configWith = (env: Record<string, string> = {}): Config =>
  parseConfig({ NODE_ENV: 'test', AUTH_MODE: 'jwks', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'api', AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: ORIGIN, ...env });

const verifiedFor = (config: Config, cnf?: unknown): VerifiedToken =>
  Object.freeze({ issuer: config.auth.issuers[0]!, payload: Object.freeze({ iss: ISSUER, sub: 'u', ...(cnf === undefined ? {} : { cnf }) }), alg: 'RS256' });

let client: DpopClient;
let other: DpopClient;
beforeAll(async () => {
  client = await dpopClient('ES256');
  other = await dpopClient('ES256');
});

function stage(config = configWith(), now = () => Date.now()) {
  const metrics = createMetrics({ defaults: false });
  return { s: createDpopStage({ config, metrics, now }), metrics, config };
}

const input = (proof: string | undefined, o: Partial<DpopInput> = {}): DpopInput => ({
  credentials: { scheme: 'dpop', token: TOKEN },
  proof,
  proofCount: proof === undefined ? 0 : 1,
  route: { method: 'GET', path: '/api/things' },
  ...o,
});

async function refusal(p: Promise<unknown>): Promise<AuthError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AuthError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

test('a good proof passes, and is counted', async () => {
  const { s, config, metrics } = stage();
  const proof = await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN });
  await expect(s.check(input(proof), verifiedFor(config, { jkt: client.jkt }))).resolves.toBe(true);
  expect((await metrics.dpopProofs.get()).values).toEqual([expect.objectContaining({ labels: { outcome: 'ok' }, value: 1 })]);
  // a query on the original request is not part of htu (§4.3 item 9); the client signed the URL without it
  const q = await client.proof({ method: 'POST', url: `${URL_}?page=2#x`, accessToken: TOKEN });
  await expect(s.check(input(q, { route: { method: 'POST', path: '/api/things' } }), verifiedFor(config, { jkt: client.jkt }))).resolves.toBe(true);
});

test('a bearer token presented as Bearer needs no proof; every other algorithm of the default list passes', async () => {
  const { s, config } = stage();
  await expect(s.check(input(undefined, { credentials: { scheme: 'bearer', token: TOKEN } }), verifiedFor(config))).resolves.toBe(false);
  for (const alg of ['ES384', 'PS256', 'RS256', 'EdDSA'] as const) {
    const c = await dpopClient(alg);
    const proof = await c.proof({ method: 'GET', url: URL_, accessToken: TOKEN });
    await expect(s.check(input(proof), verifiedFor(config, { jkt: c.jkt }))).resolves.toBe(true);
  }
});

/** Each row breaks one check; the rest of the proof is good. */
const BROKEN: Array<[string, string, string, () => Promise<Partial<DpopInput> & { proof?: string }>]> = [
  ['no DPoP header', 'dpop_proof_missing', 'needs a DPoP proof header', async () => ({ proof: undefined })],
  [
    'two DPoP headers',
    'dpop_proof_invalid',
    'more than once',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN }), proofCount: 2 }),
  ],
  ['not a JWT', 'dpop_proof_invalid', 'not a compact JWS', async () => ({ proof: 'not-a-jwt' })],
  [
    'typ JWT',
    'dpop_proof_invalid',
    'typ is not dpop+jwt',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, header: { typ: 'JWT' } }) }),
  ],
  [
    'no typ',
    'dpop_proof_invalid',
    'typ is not dpop+jwt',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, header: { typ: undefined } }) }),
  ],
  [
    'alg none',
    'dpop_proof_invalid',
    'alg "none" is not accepted',
    async () => {
      const b = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return {
        proof: `${b({ typ: 'dpop+jwt', alg: 'none', jwk: client.publicJwk })}.${b({ jti: 'x', htm: 'GET', htu: URL_, iat: Math.floor(Date.now() / 1000), ath: ath(TOKEN) })}.`,
      };
    },
  ],
  [
    'no jwk',
    'dpop_proof_invalid',
    'has no jwk',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, header: { jwk: undefined } }) }),
  ],
  [
    'a private jwk',
    'dpop_proof_invalid',
    'private key',
    async () => {
      const jwk = await exportJWK(client.privateKey);
      return { proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, header: { jwk } }) };
    },
  ],
  [
    'a jwk of another key type',
    'dpop_proof_invalid',
    'not a key for ES256',
    async () => {
      const rsa = await dpopClient('RS256');
      return { proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, header: { jwk: rsa.publicJwk } }) };
    },
  ],
  [
    'signed by another key than its jwk',
    'dpop_proof_invalid',
    'signature does not verify',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, signWith: other.privateKey }) }),
  ],
  [
    'no jti',
    'dpop_proof_invalid',
    'no usable jti',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, claims: { jti: undefined } }) }),
  ],
  ['another method', 'dpop_proof_invalid', 'another method', async () => ({ proof: await client.proof({ method: 'POST', url: URL_, accessToken: TOKEN }) })],
  ['htm in lower case', 'dpop_proof_invalid', 'another method', async () => ({ proof: await client.proof({ method: 'get', url: URL_, accessToken: TOKEN }) })],
  [
    'another path',
    'dpop_proof_invalid',
    'another path',
    async () => ({ proof: await client.proof({ method: 'GET', url: `${ORIGIN}/api/admin`, accessToken: TOKEN }) }),
  ],
  [
    'another origin (the Host a client chose)',
    'dpop_proof_invalid',
    'another origin',
    async () => ({ proof: await client.proof({ method: 'GET', url: 'https://evil.example/api/things', accessToken: TOKEN }) }),
  ],
  [
    'http instead of https',
    'dpop_proof_invalid',
    'another origin',
    async () => ({ proof: await client.proof({ method: 'GET', url: 'http://api.example.com/api/things', accessToken: TOKEN }) }),
  ],
  [
    'no htu',
    'dpop_proof_invalid',
    'has no htu',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, claims: { htu: undefined } }) }),
  ],
  [
    'iat 2 minutes ago',
    'dpop_proof_invalid',
    'outside the 65 s window',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, iat: Math.floor(Date.now() / 1000) - 120 }) }),
  ],
  [
    'iat 2 minutes ahead',
    'dpop_proof_invalid',
    'outside the 65 s window',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, iat: Math.floor(Date.now() / 1000) + 120 }) }),
  ],
  [
    'no iat',
    'dpop_proof_invalid',
    'has no iat',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, claims: { iat: undefined } }) }),
  ],
  [
    'ath of another token',
    'dpop_proof_invalid',
    'ath is not the hash',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: `${TOKEN}x` }) }),
  ],
  ['no ath', 'dpop_proof_invalid', 'ath is not the hash', async () => ({ proof: await client.proof({ method: 'GET', url: URL_ }) })],
  [
    'a good proof of another key than cnf.jkt',
    'dpop_binding_mismatch',
    'another key than the one the token is bound to',
    async () => ({ proof: await other.proof({ method: 'GET', url: URL_, accessToken: TOKEN }) }),
  ],
  [
    'the token presented as Bearer (downgrade)',
    'dpop_proof_missing',
    'not as Bearer',
    async () => ({ proof: await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN }), credentials: { scheme: 'bearer', token: TOKEN } }),
  ],
];

test.each(BROKEN)('%s → 401 %s (%s) with a DPoP challenge', async (_name, code, why, make) => {
  const { s, config } = stage(configWith({ AUTH_CLOCK_TOLERANCE_S: '5' }));
  const o = await make();
  const e = await refusal(s.check(input(o.proof, o), verifiedFor(config, { jkt: client.jkt })));
  expect({ code: e.code, status: e.status }).toEqual({ code, status: 401 });
  expect(e.message).toContain(why);
  expect(e.wwwAuthenticate).toMatch(
    /^DPoP realm="api", error="invalid_dpop_proof", error_description="[^"]+", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"$/,
  );
});

test('an algorithm outside AUTH_DPOP_ALGORITHMS is refused, and algs names the list', async () => {
  const { s, config } = stage(configWith({ AUTH_DPOP_ALGORITHMS: 'ES256' }));
  const rsa = await dpopClient('RS256');
  const e = await refusal(s.check(input(await rsa.proof({ method: 'GET', url: URL_, accessToken: TOKEN })), verifiedFor(config, { jkt: rsa.jkt })));
  expect([e.code, e.message, e.wwwAuthenticate]).toEqual([
    'dpop_proof_invalid',
    'DPoP proof alg "RS256" is not accepted',
    expect.stringMatching(/algs="ES256"$/),
  ]);
});

test("issuer policy: DPoP scheme with a bearer token, a required issuer's bearer token, a bound token with DPoP off", async () => {
  const allowed = stage();
  const proof = await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN });
  expect((await refusal(allowed.s.check(input(proof), verifiedFor(allowed.config)))).code).toBe('dpop_binding_mismatch');
  const required = stage(configWith({ AUTH_DPOP: 'required' }));
  const bearer = input(undefined, { credentials: { scheme: 'bearer', token: TOKEN } });
  expect((await refusal(required.s.check(bearer, verifiedFor(required.config)))).code).toBe('dpop_binding_mismatch');
  // off: an issuer without DPoP, beside one with it (AUTH_ISSUERS): its bound tokens are never bearer tokens
  const two = stage(
    parseConfig({
      NODE_ENV: 'test',
      AUTH_PUBLIC_ORIGIN: ORIGIN,
      AUTH_ISSUERS: JSON.stringify([
        { issuer: ISSUER, audience: 'api' },
        { issuer: 'https://b.example', audience: 'api', dpop: 'allowed' },
      ]),
    }),
  );
  const e = await refusal(two.s.check(bearer, verifiedFor(two.config, { jkt: client.jkt })));
  expect([e.code, e.message]).toEqual(['dpop_binding_mismatch', 'the token is DPoP-bound (cnf.jkt) and DPoP is not enabled for its issuer']);
});

test('a proof is accepted once (local cache), also after a refusal of another proof', async () => {
  const { s, config } = stage();
  const v = verifiedFor(config, { jkt: client.jkt });
  const proof = await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN });
  await s.check(input(proof), v);
  const e = await refusal(s.check(input(proof), v));
  expect([e.code, e.wwwAuthenticate]).toEqual(['dpop_replayed', expect.stringContaining('error="invalid_dpop_proof"')]);
  // the same jti from another key is another proof
  const theirs = await other.proof({
    method: 'GET',
    url: URL_,
    accessToken: TOKEN,
    jti: JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString()).jti,
  });
  await expect(s.check(input(theirs), verifiedFor(config, { jkt: other.jkt }))).resolves.toBe(true);
});

test('the local replay cache is bounded and forgets expired proofs first', () => {
  const c = new LocalReplayCache(3);
  expect([c.firstUse('a', 1000, 0), c.firstUse('a', 1000, 10)]).toEqual([true, false]);
  expect(c.firstUse('a', 3000, 1000)).toBe(true); // its window ended
  c.firstUse('b', 5000, 1000);
  c.firstUse('c', 5000, 1000);
  c.firstUse('d', 5000, 1000);
  expect(c.size).toBe(3);
});

test('nonces: a proof without one is answered use_dpop_nonce with DPoP-Nonce; with it, it passes; a stale one is refused', async () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const { s, config } = stage(configWith({ AUTH_DPOP_NONCE: 'on', AUTH_DPOP_NONCE_SECRET: NONCE_SECRET }), () => now);
  const v = verifiedFor(config, { jkt: client.jkt });
  const iat = () => Math.floor(now / 1000);
  const e = await refusal(s.check(input(await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, iat: iat() })), v));
  expect([e.code, e.status, e.wwwAuthenticate]).toEqual(['dpop_nonce_required', 401, expect.stringMatching(/^DPoP realm="api", error="use_dpop_nonce", /)]);
  const nonce = e.headers['DPoP-Nonce']!;
  expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
  await expect(s.check(input(await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, iat: iat(), nonce })), v)).resolves.toBe(true);
  expect(s.grantHeaders(now)).toEqual({ 'DPoP-Nonce': nonce });
  // another instance with the same secret accepts it (no shared state)
  const twin = createDpopStage({ config, metrics: createMetrics({ defaults: false }), now: () => now });
  await expect(twin.check(input(await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, iat: iat(), nonce })), v)).resolves.toBe(true);
  now += 3 * 60_000; // three steps of 60 s later
  const stale = await refusal(s.check(input(await client.proof({ method: 'GET', url: URL_, accessToken: TOKEN, iat: iat(), nonce })), v));
  expect([stale.code, stale.headers['DPoP-Nonce'] !== nonce]).toEqual(['dpop_nonce_required', true]);
  expect(new DpopNonces(new TextEncoder().encode('m'.repeat(32)), 60).accepts(nonce, now - 3 * 60_000)).toBe(false);
});

test('the RFC 7638 thumbprint agrees with jose for EC, RSA and OKP keys', async () => {
  for (const alg of ['ES256', 'ES512', 'RS256', 'EdDSA'] as const) {
    const { publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'ignored', alg, use: 'sig' };
    expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk));
  }
  expect(jwkThumbprint({ kty: 'oct', k: 'AAAA' })).toBeUndefined();
  expect(jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'AAAA' })).toBeUndefined();
});
