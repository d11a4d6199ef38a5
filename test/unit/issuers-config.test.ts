// AUTH_ISSUERS and the issuer rules: entries read into issuers (presets, Supabase projects, HS256
// issuers, secrets from files), the shorthand beside it, every bad entry reported at once, and the
// algorithm list (ES512 included) with messages that say what to write.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../validator/errors';
import { ConfigErrors, parseConfig } from '../../validator/config';
import type { RawEnv } from '../../validator/config/env';

const KC = 'https://sso.example.com/realms/people';
const SECRET_32 = 's'.repeat(32);
const issuers = (list: unknown[], extra: RawEnv = {}): RawEnv => ({ NODE_ENV: 'production', AUTH_ISSUERS: JSON.stringify(list), ...extra });

function problems(env: RawEnv): string[] {
  try {
    parseConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigErrors);
    return (e as ConfigErrors).errors.map((p) => p.message);
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-issuers-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('AUTH_ISSUERS alone configures every issuer', () => {
  test('two JWKS issuers, an HS256 one and two Supabase projects, without AUTH_MODE', () => {
    const c = parseConfig(
      issuers([
        { issuer: KC, audience: 'tasks-api', preset: 'keycloak', subjectPrefix: 'people:' },
        {
          issuer: 'https://sso.example.com/realms/machines',
          audience: ['tasks-api', 'billing'],
          jwksUrl: 'https://sso.example.com/realms/machines/certs',
          algorithms: ['ES512', 'EdDSA'],
          tokenTypes: ['at+jwt'],
          subjectPrefix: 'machines:',
        },
        { issuer: 'legacy-hs', audience: 'tasks-api', hmacSecret: SECRET_32, subjectPrefix: 'hs:' },
        { kind: 'supabase', url: 'https://aaa.supabase.co/', subjectPrefix: 'a:' },
        { kind: 'supabase', url: 'https://bbb.supabase.co', hmacSecret: SECRET_32, subjectPrefix: 'b:' },
      ]),
    );
    expect(c.auth.issuers.map((i) => [i.kind, i.issuer])).toEqual([
      ['jwks', KC],
      ['jwks', 'https://sso.example.com/realms/machines'],
      ['hs256', 'legacy-hs'],
      ['supabase', 'https://aaa.supabase.co/auth/v1'],
      ['supabase', 'https://bbb.supabase.co/auth/v1'],
    ]);
    const [kc, machines, hs, sbA, sbB] = c.auth.issuers;
    expect(kc).toMatchObject({
      preset: 'keycloak',
      jwksAlgorithms: ['RS256', 'ES256'],
      tokenTypes: ['jwt', 'at+jwt', ''],
      audienceClaim: 'aud',
      jwksUrl: undefined,
    });
    expect(kc!.claims.roles).toEqual([
      ['realm_access', 'roles'],
      ['resource_access', 'tasks-api', 'roles'],
    ]);
    expect(kc!.audienceHint).toContain('Keycloak');
    expect(machines).toMatchObject({ jwksAlgorithms: ['ES512', 'EdDSA'], tokenTypes: ['at+jwt'], audiences: ['tasks-api', 'billing'] });
    expect(hs).toMatchObject({ kind: 'hs256', jwksAlgorithms: [], hmacSecret: new TextEncoder().encode(SECRET_32) });
    expect(sbA).toMatchObject({
      preset: 'supabase',
      audiences: ['authenticated'],
      jwksUrl: 'https://aaa.supabase.co/auth/v1/.well-known/jwks.json',
      jwksAlgorithms: ['ES256', 'RS256'],
      hmacSecret: undefined,
    });
    expect(sbB!.hmacSecret).toEqual(new TextEncoder().encode(SECRET_32));
    expect(c.supabase).toEqual({ url: 'https://aaa.supabase.co', allowAnonymous: false, allowUnconfirmed: false });
  });

  test('AUTH_ISSUERS_FILE, and an hmacSecretFile (trailing newline trimmed)', () => {
    const secretFile = join(dir, 'hs.secret');
    writeFileSync(secretFile, `${SECRET_32}\n`);
    const file = join(dir, 'issuers.json');
    writeFileSync(file, JSON.stringify([{ issuer: 'https://hs.example.com', audience: 'api', hmacSecretFile: secretFile }]));
    const c = parseConfig({ NODE_ENV: 'production', AUTH_ISSUERS_FILE: file });
    expect(c.auth.issuers[0]).toMatchObject({ kind: 'hs256', hmacSecret: new TextEncoder().encode(SECRET_32) });
  });

  test('beside the shorthand: both count when their issuers differ', () => {
    const c = parseConfig(
      issuers([{ issuer: 'https://auth0.example.com/', audience: 'https://api.example.com', preset: 'auth0', subjectPrefix: 'auth0:' }], {
        AUTH_MODE: 'jwks,supabase',
        AUTH_ISSUER: KC,
        AUTH_AUDIENCE: 'tasks-api',
        AUTH_SUBJECT_PREFIX: 'kc:',
        SUPABASE_URL: 'https://ccc.supabase.co',
        SUPABASE_SUBJECT_PREFIX: 'sb:',
      }),
    );
    expect(c.auth.issuers.map((i) => i.issuer)).toEqual(['https://auth0.example.com/', KC, 'https://ccc.supabase.co/auth/v1']);
    expect(c.auth.issuers[0]).toMatchObject({ jwksAlgorithms: ['RS256', 'PS256'] });
  });

  test('AUTH_PRESET gives the shorthand issuer a preset; AUTH_ALGORITHMS still wins when set', () => {
    const base = {
      NODE_ENV: 'production',
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: 'https://login.microsoftonline.com/tid/v2.0',
      AUTH_AUDIENCE: 'api://tasks',
      AUTH_PRESET: 'entra',
    };
    expect(parseConfig(base).auth.issuers[0]).toMatchObject({ preset: 'entra', jwksAlgorithms: ['RS256'] });
    expect(parseConfig(base).auth.issuers[0]!.claims.clientId).toEqual([['azp'], ['appid']]);
    expect(parseConfig({ ...base, AUTH_ALGORITHMS: 'PS256' }).auth.issuers[0]!.jwksAlgorithms).toEqual(['PS256']);
  });

  test("claim overrides replace the preset's field; a single path is a list of one; {audience} expands", () => {
    const c = parseConfig(
      issuers([
        {
          issuer: KC,
          audience: ['a', 'b'],
          preset: 'keycloak',
          claims: { subject: 'preferred_username', roles: 'resource_access.{audience}.roles', clientId: [['https://x.example/client']] },
        },
      ]),
    );
    expect(c.auth.issuers[0]!.claims).toEqual({
      subject: ['preferred_username'],
      scopes: [['scope']],
      roles: [
        ['resource_access', 'a', 'roles'],
        ['resource_access', 'b', 'roles'],
      ],
      email: ['email'],
      clientId: [['https://x.example/client']],
    });
  });
});

describe('algorithms: every asymmetric JWS algorithm, ES512 included', () => {
  test('AUTH_ALGORITHMS=ES512 is accepted (it used to be refused as "not asymmetric")', () => {
    const c = parseConfig({ NODE_ENV: 'test', AUTH_MODE: 'jwks', AUTH_ISSUER: KC, AUTH_AUDIENCE: 'a', AUTH_ALGORITHMS: 'RS512,PS384,ES384,ES512,EdDSA' });
    expect(c.auth.issuers[0]!.jwksAlgorithms).toEqual(['RS512', 'PS384', 'ES384', 'ES512', 'EdDSA']);
  });

  test.each([
    ['HS256', /"HS256" is not allowed: an HMAC algorithm is never accepted with published keys/],
    ['ES256K', /"ES256K" is not allowed: use any of RS256, .*ES512, EdDSA/],
    ['es512', /"es512" is not allowed: use any of .* \(names are case-sensitive\)/],
  ])('AUTH_ALGORITHMS=%s says why and what to write', (alg, message) => {
    expect(problems({ NODE_ENV: 'test', AUTH_MODE: 'jwks', AUTH_ISSUER: KC, AUTH_AUDIENCE: 'a', AUTH_ALGORITHMS: alg })).toEqual([
      expect.stringMatching(message),
    ]);
  });
});

describe('bad entries: every problem of every entry at once, each naming the entry and field', () => {
  test('one start-up lists them all', () => {
    const list = problems(
      issuers([
        { issuer: KC, audiences: 'typo' }, // [0] unknown field, missing audience
        { issuer: 'https://a.example', audience: 'x', algorithms: ['HS256', 'RS256'] }, // [1]
        { issuer: 'https://b.example', audience: 'x', hmacSecret: SECRET_32, kind: 'jwks' }, // [2] HMAC on jwks
        { issuer: 'https://c.example', audience: 'x', preset: 'ping' }, // [3]
        { kind: 'supabase' }, // [4] no url
        { issuer: 'not a url', audience: 'x' }, // [5] cannot discover keys
        { issuer: 'https://d.example', audience: 'x', claims: { roles: ['a..b'], subjekt: 'x' } }, // [6]
        { issuer: 'https://e.example', audience: 'x', tokenTypes: [] }, // [7]
        { issuer: 'http://f.example', audience: 'x' }, // [8] plain http in production
        { issuer: 'https://g.example', audience: 'x', hmacSecret: 'short' }, // [9] short secret in production
        { issuer: 'https://h.example', audience: 'x', hmacSecretFile: join(dir, 'missing') }, // [10]
        { issuer: KC, audience: 'y' }, // [11] duplicate of [0]'s issuer ([0] is refused, so of nothing): fine
        { issuer: 'https://a2.example', audience: 'x', jwksUrl: 'https://a2.example/jwks' },
        { issuer: 'https://a2.example', audience: 'z', jwksUrl: 'https://a2.example/jwks' }, // [13] duplicate of [12]
      ]),
    );
    const expected = [
      /^AUTH_ISSUERS: \[0\] \(https:\/\/sso\.example\.com\/realms\/people\) audiences: is not a known field/,
      /^AUTH_ISSUERS: \[0\] .* audience: is required/,
      /^AUTH_ISSUERS: \[1\] .* algorithms: "HS256" is not allowed: an HMAC algorithm/,
      /^AUTH_ISSUERS: \[2\] .* hmacSecret: must not be set for a jwks issuer/,
      /^AUTH_ISSUERS: \[3\] .* preset: unknown preset "ping"; use keycloak, supabase, auth0, entra, okta, cognito, google/,
      /^AUTH_ISSUERS: \[4\] url: is required for a Supabase entry/,
      /^AUTH_ISSUERS: \[6\] .* claims\.subjekt: is not a known field/,
      /^AUTH_ISSUERS: \[6\] .* claims\.roles: has an empty or non-string key/,
      /^AUTH_ISSUERS: \[7\] .* tokenTypes: must be a non-empty string or a non-empty array/,
      /^AUTH_ISSUERS: \[5\] \(not a url\) jwksUrl: is required when the issuer is not an http\(s\) URL/,
      /^AUTH_ISSUERS: \[8\] .* issuer: plain http:\/\/ to f\.example is refused in production/,
      /^AUTH_ISSUERS: \[9\] .* hmacSecret: is 5 bytes; an HS256 secret must be at least 32 bytes/,
      /^AUTH_ISSUERS: \[10\] .* hmacSecretFile: cannot read/,
      /^AUTH_ISSUERS: \[13\] .* duplicates the issuer https:\/\/a2\.example of AUTH_ISSUERS\[12\]/,
      // production, several issuers: each must say how its subjects stay apart from the others'
      /^AUTH_ISSUERS: \d+ issuers are trusted and .* state no subject prefix/,
    ];
    for (const m of expected) expect(list).toContainEqual(expect.stringMatching(m));
    expect(list).toHaveLength(expected.length);
    // the secret itself is never echoed
    expect(list.join('\n')).not.toContain('short');
  });

  test('an issuer of AUTH_ISSUERS and of the shorthand at once is a duplicate', () => {
    expect(problems(issuers([{ issuer: KC, audience: 'a' }], { AUTH_MODE: 'jwks', AUTH_ISSUER: KC, AUTH_AUDIENCE: 'a' }))).toEqual([
      expect.stringMatching(/^AUTH_ISSUER: duplicates the issuer https:\/\/sso\.example\.com\/realms\/people of AUTH_ISSUERS\[0\]/),
    ]);
    expect(
      problems(issuers([{ kind: 'supabase', url: 'https://abc.supabase.co' }], { AUTH_MODE: 'supabase', SUPABASE_URL: 'https://abc.supabase.co' })),
    ).toEqual([expect.stringMatching(/SUPABASE_URL duplicates the issuer https:\/\/abc\.supabase\.co\/auth\/v1/)]);
  });

  test.each([
    ['not JSON', '[{"issuer": ', /AUTH_ISSUERS: is not valid JSON/],
    ['an object, not an array', '{"issuer": "https://a"}', /must be a JSON array of issuer objects/],
    ['an empty array', '[]', /lists no issuer/],
  ])('%s', (_name, raw, message) => {
    expect(problems({ NODE_ENV: 'test', AUTH_ISSUERS: raw })).toEqual([expect.stringMatching(message)]);
  });

  test('with AUTH_ISSUERS alone, shorthand variables would be ignored: refused', () => {
    expect(problems(issuers([{ issuer: KC, audience: 'a' }], { AUTH_AUDIENCE: 'b', AUTH_PRESET: 'okta' }))).toEqual([
      'AUTH_AUDIENCE: has no effect without AUTH_MODE=jwks or hs256; put it in an AUTH_ISSUERS entry, or set AUTH_MODE',
      'AUTH_PRESET: has no effect without AUTH_MODE=jwks or hs256; put it in an AUTH_ISSUERS entry, or set AUTH_MODE',
    ]);
  });

  test('neither AUTH_ISSUERS nor AUTH_MODE: no issuer', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^AUTH_MODE: no issuer is configured: set AUTH_ISSUERS/)]);
  });

  test('a Supabase entry refuses another preset, and the supabase preset needs kind supabase', () => {
    expect(problems(issuers([{ kind: 'supabase', url: 'https://abc.supabase.co', preset: 'auth0' }]))).toEqual([
      expect.stringMatching(/preset: a Supabase entry uses the supabase preset/),
    ]);
    expect(problems(issuers([{ issuer: 'https://abc.supabase.co/auth/v1', audience: 'authenticated', preset: 'supabase' }]))).toEqual([
      expect.stringMatching(/use "kind": "supabase"/),
    ]);
    expect(problems(issuers([{ kind: 'supabase', url: 'https://abc.supabase.co', issuer: 'https://abc.supabase.co' }]))).toEqual([
      expect.stringMatching(/a Supabase project's issuer is https:\/\/abc\.supabase\.co\/auth\/v1/),
    ]);
  });

  test('an hs256 entry takes no JWKS settings; production refuses SUPABASE_ALLOW_UNCONFIRMED with a Supabase entry', () => {
    expect(
      problems(issuers([{ issuer: 'https://hs.example', audience: 'a', hmacSecret: SECRET_32, jwksUrl: 'https://hs.example/jwks', algorithms: ['RS256'] }])),
    ).toEqual([
      expect.stringMatching(/jwksUrl: must not be set for an hs256 issuer/),
      expect.stringMatching(/algorithms: must not be set for an hs256 issuer/),
    ]);
    expect(problems(issuers([{ kind: 'supabase', url: 'https://abc.supabase.co' }], { SUPABASE_ALLOW_UNCONFIRMED: 'true' }))).toEqual([
      expect.stringMatching(/^SUPABASE_ALLOW_UNCONFIRMED: must not be true in production/),
    ]);
  });

  test('problems are ConfigErrors naming AUTH_ISSUERS', () => {
    try {
      parseConfig(issuers([{ issuer: KC }]));
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).variable).toBe('AUTH_ISSUERS');
    }
  });
});
