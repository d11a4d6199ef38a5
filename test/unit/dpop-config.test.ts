// DPoP configuration (config/dpop.ts): policies per issuer, the public origin, nonces; every
// start-up refusal names its variable and the fix, all at once.
import { ConfigErrors, parseConfig } from '../../validator/config';
import { configHash } from '../../validator/config/hash';

const ISSUER = 'https://idp.example.com/realms/wavestack';
const JWKS = { NODE_ENV: 'test', AUTH_MODE: 'jwks', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'api' };

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((p) => p.message);
    throw e;
  }
  return [];
}

test('off by default: no issuer checks proofs, nothing more is required', () => {
  const c = parseConfig(JWKS);
  expect(c.auth.dpop).toMatchObject({ enabled: false, publicOrigin: undefined, iatWindowS: 60, nonceSecret: undefined, replayCacheMax: 100_000 });
  expect(c.auth.issuers[0]!.dpop).toBeUndefined();
});

test('AUTH_DPOP sets the AUTH_ISSUER issuer\'s policy; an entry says "dpop"; the origin is normalised', () => {
  const c = parseConfig({ ...JWKS, AUTH_DPOP: 'Required', AUTH_PUBLIC_ORIGIN: 'HTTPS://API.Example.com:443/' });
  expect([c.auth.issuers[0]!.dpop, c.auth.dpop.enabled, c.auth.dpop.publicOrigin]).toEqual(['required', true, 'https://api.example.com']);
  const e = parseConfig({
    NODE_ENV: 'test',
    AUTH_PUBLIC_ORIGIN: 'https://api.example.com',
    AUTH_ISSUERS: JSON.stringify([
      { issuer: ISSUER, audience: 'api', dpop: 'allowed' },
      { issuer: 'https://b.example', audience: 'api' },
    ]),
  });
  expect(e.auth.issuers.map((i) => i.dpop)).toEqual(['allowed', undefined]);
});

test.each<[string, Record<string, string>, RegExp]>([
  [
    'no public origin',
    { ...JWKS, AUTH_DPOP: 'allowed' },
    /^AUTH_PUBLIC_ORIGIN: is required with DPoP \(on for https:\/\/idp\.example\.com\/realms\/wavestack\).*never against Host$/,
  ],
  [
    'an origin with a path',
    { ...JWKS, AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'https://api.example.com/api' },
    /^AUTH_PUBLIC_ORIGIN: must be an origin only/,
  ],
  [
    'an origin with a query',
    { ...JWKS, AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'https://api.example.com?x=1' },
    /^AUTH_PUBLIC_ORIGIN: must be an origin only/,
  ],
  ['not a URL', { ...JWKS, AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'api.example.com' }, /^AUTH_PUBLIC_ORIGIN: must be an origin such as/],
  [
    'http in production',
    { ...JWKS, NODE_ENV: 'production', AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'http://api.example.com' },
    /^AUTH_PUBLIC_ORIGIN: must be https:\/\/ in production/,
  ],
  ['an unknown policy', { ...JWKS, AUTH_DPOP: 'maybe', AUTH_PUBLIC_ORIGIN: 'https://api.example.com' }, /^AUTH_DPOP: must be off, allowed or required/],
  [
    'AUTH_DPOP without AUTH_ISSUER',
    { NODE_ENV: 'test', AUTH_MODE: 'supabase', SUPABASE_URL: 'https://x.supabase.co', AUTH_DPOP: 'allowed' },
    /^AUTH_DPOP: applies to the AUTH_ISSUER issuer/,
  ],
  [
    'nonces without a secret',
    { ...JWKS, AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'https://api.example.com', AUTH_DPOP_NONCE: 'on' },
    /^AUTH_DPOP_NONCE_SECRET: is required with AUTH_DPOP_NONCE=on/,
  ],
  [
    'a short nonce secret',
    { ...JWKS, AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'https://api.example.com', AUTH_DPOP_NONCE: 'on', AUTH_DPOP_NONCE_SECRET: 'short' },
    /^AUTH_DPOP_NONCE_SECRET: is 5 bytes; it must be at least 32$/,
  ],
  ['nonces without DPoP', { ...JWKS, AUTH_DPOP_NONCE: 'on', AUTH_DPOP_NONCE_SECRET: 'x'.repeat(32) }, /^AUTH_DPOP_NONCE: has no effect without DPoP/],
  [
    'a nonce secret without nonces',
    { ...JWKS, AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'https://api.example.com', AUTH_DPOP_NONCE_SECRET: 'x'.repeat(32) },
    /^AUTH_DPOP_NONCE_SECRET: has no effect without AUTH_DPOP_NONCE=on$/,
  ],
  [
    'an HMAC proof algorithm',
    { ...JWKS, AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'https://api.example.com', AUTH_DPOP_ALGORITHMS: 'ES256,HS256' },
    /^AUTH_DPOP_ALGORITHMS: "HS256" is not allowed: an HMAC algorithm is never accepted/,
  ],
  [
    'an entry with an unknown policy',
    { NODE_ENV: 'test', AUTH_ISSUERS: JSON.stringify([{ issuer: ISSUER, audience: 'api', dpop: true }]) },
    /^AUTH_ISSUERS: \[0\] \(https:\/\/idp\.example\.com\/realms\/wavestack\) dpop: must be off, allowed, required; got true$/,
  ],
  [
    'a Supabase entry with DPoP',
    {
      NODE_ENV: 'test',
      AUTH_PUBLIC_ORIGIN: 'https://api.example.com',
      AUTH_ISSUERS: JSON.stringify([{ kind: 'supabase', url: 'https://x.supabase.co', dpop: 'allowed' }]),
    },
    /dpop: Supabase Auth issues no DPoP-bound tokens$/,
  ],
])('%s is refused at start-up, naming the variable', (_name, env, expected) => {
  expect(problems(env)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
});

test('the nonce secret enters the configuration hash only as its own hash', () => {
  const env = { ...JWKS, AUTH_DPOP: 'allowed', AUTH_PUBLIC_ORIGIN: 'https://api.example.com', AUTH_DPOP_NONCE: 'on' };
  const a = parseConfig({ ...env, AUTH_DPOP_NONCE_SECRET: 'a'.repeat(32) });
  const b = parseConfig({ ...env, AUTH_DPOP_NONCE_SECRET: 'b'.repeat(32) });
  expect(configHash(a)).not.toBe(configHash(b));
  expect(JSON.stringify(a.auth.dpop)).not.toContain('a'.repeat(32));
});
