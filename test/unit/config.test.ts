// Config stage: every start-up refusal names the variable; the defaults and derived values are right.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { REPO_ROOT } from '../../devkit/root';
import { ConfigErrors, parseConfig, parseConfigWithWarnings, parseStoreConfig, type Config } from '../../validator/config';
import { CHECKED_PREFIXES, editDistance, KNOWN_NAMES } from '../../validator/config/unknown';
import { loadDotenv, readVar, type RawEnv } from '../../validator/config/env';
import { ConfigError } from '../../validator/errors';
import { MAX_DAILY_LIMIT } from '../../validator/lib/daily-limit';

const ISSUER = 'https://idp.example.com/realms/wavestack';
const SECRET_32 = 'x'.repeat(32);
const SECRET_31 = 'x'.repeat(31);

/** A minimal valid production environment with one JWKS issuer. */
const PROD_JWKS: RawEnv = { NODE_ENV: 'production', AUTH_MODE: 'jwks', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'wavestack' };
const DEV_JWKS: RawEnv = { ...PROD_JWKS, NODE_ENV: 'development' };
const PROD_HS: RawEnv = { NODE_ENV: 'production', AUTH_MODE: 'hs256', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'wavestack', AUTH_JWT_SECRET: SECRET_32 };
/** The issuer profile without a preset: generic claim names, JWT / at+jwt / no typ, `aud`. */
const NO_PRESET = {
  claims: { subject: ['sub'], scopes: [['scope'], ['scp']], roles: [['roles']], email: ['email'], clientId: [['azp'], ['client_id']] },
  tokenTypes: ['jwt', 'at+jwt', ''],
  audienceClaim: 'aud',
  accessTokenClaims: {},
};
const PROD_SB: RawEnv = { NODE_ENV: 'production', AUTH_MODE: 'supabase', SUPABASE_URL: 'https://abc.supabase.co' };

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The ConfigErrors (a ConfigError) that parseConfig throws for `env`. */
function thrown(env: RawEnv): ConfigErrors {
  try {
    parseConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(ConfigErrors);
    return e as ConfigErrors;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('start-up refusals name the variable', () => {
  const cases: Array<[title: string, env: RawEnv, variable: string, message?: RegExp]> = [
    ['production with no AUTH_MODE', { NODE_ENV: 'production' }, 'AUTH_MODE', /no issuer is configured/],
    ['development with no AUTH_MODE (tollgate never runs without auth)', { NODE_ENV: 'development' }, 'AUTH_MODE', /no issuer/],
    ['AUTH_MODE of only commas', { ...PROD_JWKS, AUTH_MODE: ' , ' }, 'AUTH_MODE', /no issuer/],
    ['unknown mode', { ...PROD_JWKS, AUTH_MODE: 'jwks,oauth' }, 'AUTH_MODE', /unknown mode "oauth"/],
    ['mode in upper case', { ...PROD_JWKS, AUTH_MODE: 'JWKS' }, 'AUTH_MODE', /unknown mode/],
    ['jwks and hs256 together', { ...PROD_HS, AUTH_MODE: 'jwks,hs256' }, 'AUTH_MODE', /choose one/],
    ['unknown NODE_ENV', { ...PROD_JWKS, NODE_ENV: 'prod' }, 'NODE_ENV', /development, test or production/],
    ['AUTH_ISSUER missing for jwks', { ...PROD_JWKS, AUTH_ISSUER: undefined }, 'AUTH_ISSUER', /required when AUTH_MODE includes jwks/],
    ['AUTH_AUDIENCE missing for jwks', { ...PROD_JWKS, AUTH_AUDIENCE: undefined }, 'AUTH_AUDIENCE', /required/],
    [
      'AUTH_AUDIENCE of only commas (every token would fail as audience_mismatch)',
      { ...PROD_JWKS, AUTH_AUDIENCE: ' , ' },
      'AUTH_AUDIENCE',
      /at least one audience/,
    ],
    ['AUTH_AUDIENCE of only commas for hs256', { ...PROD_HS, AUTH_AUDIENCE: ',' }, 'AUTH_AUDIENCE', /at least one audience/],
    ['AUTH_ISSUER not a URL', { ...PROD_JWKS, AUTH_ISSUER: 'idp.example.com' }, 'AUTH_ISSUER', /absolute URL/],
    ['AUTH_ISSUER not http(s)', { ...PROD_JWKS, AUTH_ISSUER: 'ftp://idp.example.com/' }, 'AUTH_ISSUER', /http\(s\)/],
    ['AUTH_JWT_SECRET missing for hs256', { ...PROD_HS, AUTH_JWT_SECRET: undefined }, 'AUTH_JWT_SECRET', /required/],
    ['AUTH_JWKS_URL with hs256', { ...PROD_HS, AUTH_JWKS_URL: `${ISSUER}/certs` }, 'AUTH_JWKS_URL', /must not be set/],
    ['SUPABASE_URL missing for supabase', { ...PROD_SB, SUPABASE_URL: undefined }, 'SUPABASE_URL', /required/],
    [
      'Supabase issuer duplicates AUTH_ISSUER',
      { ...PROD_HS, AUTH_MODE: 'hs256,supabase', AUTH_ISSUER: 'https://abc.supabase.co/auth/v1', SUPABASE_URL: 'https://abc.supabase.co' },
      'AUTH_ISSUER',
      /duplicates/,
    ],

    // HS256 secrets shorter than 32 bytes in production
    ['AUTH_JWT_SECRET of 31 bytes in production', { ...PROD_HS, AUTH_JWT_SECRET: SECRET_31 }, 'AUTH_JWT_SECRET', /31 bytes.*at least 32/],
    ['AUTH_JWT_SECRET counted in bytes, not characters', { ...PROD_HS, AUTH_JWT_SECRET: 'é'.repeat(15) + 'x' }, 'AUTH_JWT_SECRET', /31 bytes/],
    ['SUPABASE_JWT_SECRET of 31 bytes in production', { ...PROD_SB, SUPABASE_JWT_SECRET: SECRET_31 }, 'SUPABASE_JWT_SECRET', /at least 32/],

    ['SUPABASE_ALLOW_UNCONFIRMED=true in production', { ...PROD_SB, SUPABASE_ALLOW_UNCONFIRMED: 'true' }, 'SUPABASE_ALLOW_UNCONFIRMED', /production/],
    ['SUPABASE_ALLOW_UNCONFIRMED=1 in production', { ...PROD_SB, SUPABASE_ALLOW_UNCONFIRMED: '1' }, 'SUPABASE_ALLOW_UNCONFIRMED', /production/],

    // plain http:// for a non-loopback host in production
    [
      'http:// AUTH_ISSUER in production',
      { ...PROD_JWKS, AUTH_ISSUER: 'http://idp.example.com/realms/wavestack' },
      'AUTH_ISSUER',
      /plain http:\/\/ to idp\.example\.com.*https:\/\//,
    ],
    ['http:// AUTH_ISSUER (hs256) in production', { ...PROD_HS, AUTH_ISSUER: 'http://10.0.0.5/' }, 'AUTH_ISSUER', /plain http/],
    ['http:// AUTH_JWKS_URL in production', { ...PROD_JWKS, AUTH_JWKS_URL: 'http://idp.example.com/certs' }, 'AUTH_JWKS_URL', /plain http/],
    ['http:// SUPABASE_URL in production', { ...PROD_SB, SUPABASE_URL: 'http://abc.supabase.co' }, 'SUPABASE_URL', /plain http/],
    ['http:// to a name that merely starts with localhost', { ...PROD_JWKS, AUTH_ISSUER: 'http://localhost.example.com/' }, 'AUTH_ISSUER', /plain http/],

    ['AUTH_JWT_SECRET with AUTH_MODE=jwks', { ...PROD_JWKS, AUTH_JWT_SECRET: SECRET_32 }, 'AUTH_JWT_SECRET', /never accepted for an asymmetric issuer/],
    ['AUTH_JWT_SECRET with AUTH_MODE=jwks in development too', { ...DEV_JWKS, AUTH_JWT_SECRET: SECRET_32 }, 'AUTH_JWT_SECRET', /asymmetric/],
    ['HS256 in AUTH_ALGORITHMS', { ...PROD_JWKS, AUTH_ALGORITHMS: 'RS256,HS256' }, 'AUTH_ALGORITHMS', /"HS256" is not allowed/],
    ['none in AUTH_ALGORITHMS', { ...PROD_JWKS, AUTH_ALGORITHMS: 'none' }, 'AUTH_ALGORITHMS', /"none" is not allowed/],
    ['lower-case rs256 in AUTH_ALGORITHMS', { ...PROD_JWKS, AUTH_ALGORITHMS: 'rs256' }, 'AUTH_ALGORITHMS', /not allowed/],
    ['AUTH_ALGORITHMS of only commas', { ...PROD_JWKS, AUTH_ALGORITHMS: ',' }, 'AUTH_ALGORITHMS', /at least one/],

    // integers
    ['PORT=abc', { ...DEV_JWKS, PORT: 'abc' }, 'PORT', /whole number from 0 to 65535, got "abc"/],
    ['PORT=65536', { ...DEV_JWKS, PORT: '65536' }, 'PORT', /whole number/],
    ['PORT=80.5', { ...DEV_JWKS, PORT: '80.5' }, 'PORT', /whole number/],
    ['PORT of spaces (not a silent port 0)', { ...DEV_JWKS, PORT: '  ' }, 'PORT', /whole number/],
    ['PORT=0x50 (hex)', { ...DEV_JWKS, PORT: '0x50' }, 'PORT', /whole number/],
    ['PORT=8e3 (exponent)', { ...DEV_JWKS, PORT: '8e3' }, 'PORT', /whole number/],
    ['AUTH_CLOCK_TOLERANCE_S=-1', { ...DEV_JWKS, AUTH_CLOCK_TOLERANCE_S: '-1' }, 'AUTH_CLOCK_TOLERANCE_S', /0 to 300, got "-1"/],
    ['AUTH_CLOCK_TOLERANCE_S=301', { ...DEV_JWKS, AUTH_CLOCK_TOLERANCE_S: '301' }, 'AUTH_CLOCK_TOLERANCE_S', /0 to 300/],
    ['AUTH_MAX_TOKEN_BYTES=100', { ...DEV_JWKS, AUTH_MAX_TOKEN_BYTES: '100' }, 'AUTH_MAX_TOKEN_BYTES', /256 to 65536/],
    ['AUTH_JWKS_CACHE_TTL_S=0', { ...DEV_JWKS, AUTH_JWKS_CACHE_TTL_S: '0' }, 'AUTH_JWKS_CACHE_TTL_S', /whole number/],
    ['AUTH_JWKS_TIMEOUT_MS=ten', { ...DEV_JWKS, AUTH_JWKS_TIMEOUT_MS: 'ten' }, 'AUTH_JWKS_TIMEOUT_MS', /whole number/],
    ['AUTH_DECISION_CACHE_MAX=0', { ...DEV_JWKS, AUTH_DECISION_CACHE_MAX: '0' }, 'AUTH_DECISION_CACHE_MAX', /whole number/],
    ['QUOTA_DEFAULT_TICKS=0', { ...DEV_JWKS, QUOTA_DEFAULT_TICKS: '0' }, 'QUOTA_DEFAULT_TICKS', /whole number/],
    ['QUOTA_DEFAULT_DAILY_TICKS=-5', { ...DEV_JWKS, QUOTA_DEFAULT_DAILY_TICKS: '-5' }, 'QUOTA_DEFAULT_DAILY_TICKS', /whole number/],
    ['DATABASE_POOL_MAX=0', { ...DEV_JWKS, DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX', /whole number/],
    ['SHUTDOWN_GRACE_MS=soon', { ...DEV_JWKS, SHUTDOWN_GRACE_MS: 'soon' }, 'SHUTDOWN_GRACE_MS', /whole number/],

    // booleans
    ['SUPABASE_ALLOW_ANONYMOUS=maybe', { ...PROD_SB, SUPABASE_ALLOW_ANONYMOUS: 'maybe' }, 'SUPABASE_ALLOW_ANONYMOUS', /true or false, got "maybe"/],
    [
      'SUPABASE_ALLOW_UNCONFIRMED=si (development)',
      { ...PROD_SB, NODE_ENV: 'development', SUPABASE_ALLOW_UNCONFIRMED: 'si' },
      'SUPABASE_ALLOW_UNCONFIRMED',
      /true or false/,
    ],
    ['AUTH_REQUIRE_EMAIL_VERIFIED=2', { ...DEV_JWKS, AUTH_REQUIRE_EMAIL_VERIFIED: '2' }, 'AUTH_REQUIRE_EMAIL_VERIFIED', /true or false/],
    ['QUOTA_FAIL_OPEN=enabled', { ...DEV_JWKS, QUOTA_FAIL_OPEN: 'enabled' }, 'QUOTA_FAIL_OPEN', /true or false/],
    ['MIGRATE_ON_START=y', { ...DEV_JWKS, MIGRATE_ON_START: 'y' }, 'MIGRATE_ON_START', /true or false/],

    ['LOG_LEVEL=verbose', { ...DEV_JWKS, LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /unknown level/],
    ['QUOTA_TIMEZONE=Mars/Olympus', { ...DEV_JWKS, QUOTA_TIMEZONE: 'Mars/Olympus' }, 'QUOTA_TIMEZONE', /not an IANA time zone/],
    ['DATABASE_URL with mysql://', { ...DEV_JWKS, DATABASE_URL: 'mysql://u:p@db/x' }, 'DATABASE_URL', /postgres:\/\//],
    ['DATABASE_URL that is a host name', { ...DEV_JWKS, DATABASE_URL: 'db.example.com:5432' }, 'DATABASE_URL', /postgres/],
    ['DATABASE_SSL=true', { ...DEV_JWKS, DATABASE_SSL: 'true' }, 'DATABASE_SSL', /false, require or verify-full, got "true"/],
    ['DATABASE_SSL=verify-ca', { ...DEV_JWKS, DATABASE_SSL: 'verify-ca' }, 'DATABASE_SSL', /verify-full/],

    // AUTH_ROUTE_RULES
    ['AUTH_ROUTE_RULES not JSON', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{POST /api/: api:write}' }, 'AUTH_ROUTE_RULES', /not valid JSON/],
    ['AUTH_ROUTE_RULES a JSON string', { ...DEV_JWKS, AUTH_ROUTE_RULES: '"POST /api/"' }, 'AUTH_ROUTE_RULES', /JSON object or array/],
    ['AUTH_ROUTE_RULES null', { ...DEV_JWKS, AUTH_ROUTE_RULES: 'null' }, 'AUTH_ROUTE_RULES', /JSON object or array/],
    ['AUTH_ROUTE_RULES key without a path', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"POST": ["api:write"]}' }, 'AUTH_ROUTE_RULES', /"METHOD \/path"/],
    ['AUTH_ROUTE_RULES key with three words', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"POST /api/ now": []}' }, 'AUTH_ROUTE_RULES', /"METHOD \/path"/],
    ['AUTH_ROUTE_RULES path without /', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"POST api/": []}' }, 'AUTH_ROUTE_RULES', /must start with \//],
    ['AUTH_ROUTE_RULES bad method', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"P0ST /api/": []}' }, 'AUTH_ROUTE_RULES', /bad method/],
    // a rule path that readPath refuses or reads differently could never match: the rule would silently not apply
    [
      'AUTH_ROUTE_RULES path with //',
      { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"DELETE /api//admin": ["admin"]}' },
      'AUTH_ROUTE_RULES',
      /not in normal form: requests with an empty segment/,
    ],
    [
      'AUTH_ROUTE_RULES path with ..',
      { ...DEV_JWKS, AUTH_ROUTE_RULES: '[{"method":"GET","path":"/api/x/../admin","scopes":"admin"}]' },
      'AUTH_ROUTE_RULES',
      /normal form/,
    ],
    ['AUTH_ROUTE_RULES path with %61', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"GET /api/%61dmin": ["admin"]}' }, 'AUTH_ROUTE_RULES', /normal form/],
    ['AUTH_ROUTE_RULES path with a query', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"GET /api/admin?x=1": ["admin"]}' }, 'AUTH_ROUTE_RULES', /normal form/],
    ['AUTH_ROUTE_RULES path with %zz', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"GET /api/%zz": ["admin"]}' }, 'AUTH_ROUTE_RULES', /normal form/],
    ['AUTH_ROUTE_RULES scopes a number', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"POST /api/": 5}' }, 'AUTH_ROUTE_RULES', /string or an array of strings/],
    ['AUTH_ROUTE_RULES scopes mixed array', { ...DEV_JWKS, AUTH_ROUTE_RULES: '{"POST /api/": ["a", 1]}' }, 'AUTH_ROUTE_RULES', /string or an array/],
    ['AUTH_ROUTE_RULES array rule without path', { ...DEV_JWKS, AUTH_ROUTE_RULES: '[{"method":"GET","scopes":[]}]' }, 'AUTH_ROUTE_RULES', /rule #0/],
    ['AUTH_ROUTE_RULES array of null', { ...DEV_JWKS, AUTH_ROUTE_RULES: '[null]' }, 'AUTH_ROUTE_RULES', /rule #0/],
    ['AUTH_ROUTE_RULES array scopes an object', { ...DEV_JWKS, AUTH_ROUTE_RULES: '[{"method":"GET","path":"/a","scopes":{}}]' }, 'AUTH_ROUTE_RULES', /rule #0/],

    // QUOTA_ROUTES
    ['QUOTA_ROUTES entry without a path', { ...DEV_JWKS, QUOTA_ROUTES: 'POST' }, 'QUOTA_ROUTES', /"METHOD \/path"/],
    ['QUOTA_ROUTES entry with three words', { ...DEV_JWKS, QUOTA_ROUTES: 'POST /api/tasks /x' }, 'QUOTA_ROUTES', /"METHOD \/path"/],
    ['QUOTA_ROUTES path without /', { ...DEV_JWKS, QUOTA_ROUTES: 'POST api/tasks' }, 'QUOTA_ROUTES', /must start with \//],
    ['QUOTA_ROUTES bad method', { ...DEV_JWKS, QUOTA_ROUTES: 'POST /api/tasks, GET-ALL /api/jobs' }, 'QUOTA_ROUTES', /bad method/],
    ['QUOTA_ROUTES path with ./', { ...DEV_JWKS, QUOTA_ROUTES: 'POST /api/./tasks' }, 'QUOTA_ROUTES', /not in normal form: requests with a dot segment/],
  ];

  test.each(cases.map(([title, env, variable, message]) => [title, variable, env, message] as const))('%s → %s', (_title, variable, env, message) => {
    const e = thrown(env);
    // one mistake, one problem: a refused value is not reported a second time by a rule
    expect(e.errors.map((p) => p.variable)).toEqual([variable]);
    expect(e.variable).toBe(variable);
    expect(e.message.startsWith(`${variable}: `)).toBe(true);
    if (message) expect(e.message).toMatch(message);
  });

  test('SUPABASE_ANON_KEY that is a service-role JWT', async () => {
    const key = await new SignJWT({ role: 'service_role', iss: 'supabase' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(SECRET_32));
    const e = thrown({ ...PROD_SB, SUPABASE_ANON_KEY: key });
    expect(e.variable).toBe('SUPABASE_ANON_KEY');
    expect(e.message).toMatch(/^SUPABASE_ANON_KEY: is a service-role/);
    expect(e.message).not.toContain(key); // the secret itself is never echoed
  });

  test('SUPABASE_ANON_KEY that is an anon JWT is accepted, and not kept: the validator does not use it', async () => {
    const key = await new SignJWT({ role: 'anon', iss: 'supabase' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(SECRET_32));
    const c = parseConfig({ ...PROD_SB, SUPABASE_ANON_KEY: key });
    expect(JSON.stringify(c)).not.toContain(key);
    expect(c.supabase).toEqual(parseConfig(PROD_SB).supabase);
  });
});

describe('what production refuses, development allows', () => {
  const dev = (env: RawEnv): RawEnv => ({ ...env, NODE_ENV: 'development' });
  const cases: Array<[title: string, env: RawEnv]> = [
    ['short AUTH_JWT_SECRET', { ...PROD_HS, AUTH_JWT_SECRET: 'dev' }],
    ['short SUPABASE_JWT_SECRET', { ...PROD_SB, SUPABASE_JWT_SECRET: 'dev' }],
    ['SUPABASE_ALLOW_UNCONFIRMED=true', { ...PROD_SB, SUPABASE_ALLOW_UNCONFIRMED: 'true' }],
    ['http:// AUTH_ISSUER', { ...PROD_JWKS, AUTH_ISSUER: 'http://idp.example.com/realms/wavestack' }],
    ['http:// AUTH_JWKS_URL', { ...PROD_JWKS, AUTH_JWKS_URL: 'http://idp.example.com/certs' }],
    ['http:// SUPABASE_URL', { ...PROD_SB, SUPABASE_URL: 'http://abc.supabase.co' }],
  ];
  test.each(cases)('%s: refused in production, accepted in development and test', (_title, env) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(dev(env))).not.toThrow();
    expect(() => parseConfig({ ...env, NODE_ENV: 'test' })).not.toThrow();
  });

  test('a 32-byte secret is enough in production', () => {
    expect(parseConfig(PROD_HS).auth.issuers[0]!.hmacSecret).toEqual(new TextEncoder().encode(SECRET_32));
    expect(parseConfig({ ...PROD_SB, SUPABASE_JWT_SECRET: SECRET_32 }).auth.issuers[0]!.hmacSecret).toHaveLength(32);
  });

  test.each([['http://127.0.0.1:8080/realms/wavestack'], ['http://localhost:8080/realms/wavestack'], ['http://[::1]:8080/realms/wavestack']])(
    'plain http:// to loopback %s is allowed in production',
    (issuer) => {
      const c = parseConfig({ ...PROD_JWKS, AUTH_ISSUER: issuer, AUTH_JWKS_URL: `${issuer}/certs` });
      expect(c.auth.issuers[0]).toMatchObject({ issuer, jwksUrl: `${issuer}/certs` });
      expect(parseConfig({ ...PROD_SB, SUPABASE_URL: 'http://127.0.0.1:54321' }).auth.issuers[0]!.issuer).toBe('http://127.0.0.1:54321/auth/v1');
    },
  );
});

describe('<NAME>_FILE secrets', () => {
  test('both X and X_FILE set', () => {
    const file = join(tmp, 'both');
    writeFileSync(file, SECRET_32);
    const e = thrown({ ...PROD_HS, AUTH_JWT_SECRET_FILE: file });
    expect(e.variable).toBe('AUTH_JWT_SECRET');
    expect(e.message).toMatch(/both AUTH_JWT_SECRET and AUTH_JWT_SECRET_FILE are set/);
  });

  test('X_FILE pointing to a missing file names X_FILE', () => {
    const file = join(tmp, 'does-not-exist');
    const e = thrown({ ...PROD_HS, AUTH_JWT_SECRET: undefined, AUTH_JWT_SECRET_FILE: file });
    expect(e.variable).toBe('AUTH_JWT_SECRET_FILE');
    expect(e.message).toContain(file);
  });

  test('X_FILE content is used, one trailing newline trimmed', () => {
    const file = join(tmp, 'secret');
    writeFileSync(file, `${SECRET_32}\n`);
    const c = parseConfig({ ...PROD_HS, AUTH_JWT_SECRET: undefined, AUTH_JWT_SECRET_FILE: file });
    expect(c.auth.issuers[0]!.hmacSecret).toEqual(new TextEncoder().encode(SECRET_32));
  });

  test('a CRLF line ending is trimmed too; inner whitespace is kept', () => {
    const file = join(tmp, 'crlf');
    writeFileSync(file, 'a b\r\n');
    expect(readVar({ X_FILE: file }, 'X')).toBe('a b');
  });

  test('X_FILE works for non-secrets too (AUTH_ROUTE_RULES_FILE)', () => {
    const file = join(tmp, 'rules.json');
    writeFileSync(file, '{"POST /api/": ["api:write"]}\n');
    expect(parseConfig({ ...DEV_JWKS, AUTH_ROUTE_RULES_FILE: file }).auth.routeRules).toEqual([{ method: 'POST', path: '/api/', scopes: ['api:write'] }]);
  });

  test('the file content is validated like a value: a short secret from a file is refused', () => {
    const file = join(tmp, 'short');
    writeFileSync(file, `${SECRET_31}\n`);
    const e = thrown({ ...PROD_HS, AUTH_JWT_SECRET: undefined, AUTH_JWT_SECRET_FILE: file });
    expect(e.variable).toBe('AUTH_JWT_SECRET');
  });

  test('an empty X with X_FILE is not "both"', () => {
    const file = join(tmp, 'only');
    writeFileSync(file, 'v');
    expect(readVar({ X: '', X_FILE: file }, 'X')).toBe('v');
    expect(readVar({ X: 'v', X_FILE: '' }, 'X')).toBe('v');
    expect(readVar({ X: '' }, 'X')).toBeUndefined();
  });
});

describe('happy paths', () => {
  test('defaults', () => {
    const c = parseConfig(DEV_JWKS);
    expect(c).toMatchObject({ env: 'development', port: 3000, host: '127.0.0.1', logLevel: 'info', shutdownGraceMs: 10000 });
    expect(c.auth).toMatchObject({
      clockToleranceS: 30,
      maxTokenBytes: 8192,
      jwks: { cacheTtlS: 600, cooldownS: 30, timeoutMs: 5000 },
      allowedClients: null,
      requireEmailVerified: false,
      routeRules: [],
      verifiedTokenCache: { ttlS: 60, max: 10000 },
    });
    expect(c.auth.issuers).toEqual([
      { kind: 'jwks', issuer: ISSUER, audiences: ['wavestack'], jwksAlgorithms: ['RS256', 'ES256'], jwksUrl: undefined, ...NO_PRESET },
    ]);
    expect(c.quota).toEqual({
      routes: [{ method: 'POST', path: '/api/tasks' }],
      defaultTicks: 1,
      defaultDailyTicks: 32,
      timezone: 'UTC',
      failOpen: false,
      trustChargeId: false,
    });
    expect(c.supabase).toBeNull();
    expect(c.database).toMatchObject({ url: undefined, dataDir: './.data', poolMax: 10, statementTimeoutMs: 2000, ssl: false, migrateOnStart: true });
  });

  test('migrateOnStart: true in development, false in production, explicit wins', () => {
    expect(parseConfig(DEV_JWKS).database.migrateOnStart).toBe(true);
    expect(parseConfig(PROD_JWKS).database.migrateOnStart).toBe(false);
    expect(parseConfig({ ...PROD_JWKS, MIGRATE_ON_START: 'true' }).database.migrateOnStart).toBe(true);
    expect(parseConfig({ ...DEV_JWKS, MIGRATE_ON_START: 'false' }).database.migrateOnStart).toBe(false);
  });

  test('empty values count as unset and take the default', () => {
    const c = parseConfig({ ...DEV_JWKS, PORT: '', HOST: '', AUTH_ALGORITHMS: '' });
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1' });
    expect(c.auth.issuers[0]!.jwksAlgorithms).toEqual(['RS256', 'ES256']);
  });

  test('QUOTA_ROUTES: empty takes the default (compose passes ${QUOTA_ROUTES:-}); only commas charges nothing', () => {
    expect(parseConfig({ ...DEV_JWKS, QUOTA_ROUTES: '' }).quota.routes).toEqual([{ method: 'POST', path: '/api/tasks' }]);
    expect(parseConfig({ ...DEV_JWKS, QUOTA_ROUTES: ' , ' }).quota.routes).toEqual([]);
  });

  test('integers: surrounding spaces are fine', () => {
    expect(parseConfig({ ...DEV_JWKS, PORT: ' 8080 ' }).port).toBe(8080);
  });

  test('QUOTA_ROUTES list, methods upper-cased', () => {
    expect(parseConfig({ ...DEV_JWKS, QUOTA_ROUTES: 'post /api/tasks, PUT  /api/jobs,* /api/any' }).quota.routes).toEqual([
      { method: 'POST', path: '/api/tasks' },
      { method: 'PUT', path: '/api/jobs' },
      { method: '*', path: '/api/any' },
    ]);
  });

  test('Supabase issuer, audience and JWKS derive from SUPABASE_URL (trailing slash dropped)', () => {
    const c = parseConfig({ ...PROD_SB, SUPABASE_URL: 'https://abc.supabase.co/', SUPABASE_JWT_SECRET: SECRET_32, SUPABASE_ALLOW_ANONYMOUS: 'yes' });
    expect(c.auth.issuers).toHaveLength(1);
    expect(c.auth.issuers[0]).toMatchObject({
      kind: 'supabase',
      issuer: 'https://abc.supabase.co/auth/v1',
      audiences: ['authenticated'],
      jwksUrl: 'https://abc.supabase.co/auth/v1/.well-known/jwks.json',
    });
    expect(c.supabase).toEqual({ url: 'https://abc.supabase.co', allowAnonymous: true, allowUnconfirmed: false });
  });

  test('Supabase without a legacy secret has no HMAC key', () => {
    expect(parseConfig(PROD_SB).auth.issuers[0]!.hmacSecret).toBeUndefined();
  });

  test('several modes: jwks for machines and supabase for people', () => {
    const c = parseConfig({
      ...PROD_JWKS,
      AUTH_MODE: 'jwks, supabase',
      SUPABASE_URL: 'https://abc.supabase.co',
      AUTH_SUBJECT_PREFIX: 'kc:',
      SUPABASE_SUBJECT_PREFIX: 'sb:',
      AUTH_AUDIENCE: 'wavestack, account',
      AUTH_ALGORITHMS: 'PS256,EdDSA',
      AUTH_JWKS_URL: `${ISSUER}/protocol/openid-connect/certs`,
    });
    expect(c.auth.issuers.map((i) => i.kind)).toEqual(['jwks', 'supabase']);
    expect(c.auth.issuers[0]).toMatchObject({
      audiences: ['wavestack', 'account'],
      jwksAlgorithms: ['PS256', 'EdDSA'],
      jwksUrl: `${ISSUER}/protocol/openid-connect/certs`,
    });
  });

  test('hs256 issuer has no JWKS', () => {
    expect(parseConfig(PROD_HS).auth.issuers[0]).toEqual({
      kind: 'hs256',
      jwksAlgorithms: [],
      issuer: ISSUER,
      audiences: ['wavestack'],
      hmacSecret: new TextEncoder().encode(SECRET_32),
      ...NO_PRESET,
    });
  });

  test('explicit values', () => {
    const c = parseConfig({
      ...PROD_JWKS,
      PORT: '0',
      HOST: '0.0.0.0',
      AUTH_CLOCK_TOLERANCE_S: '0',
      AUTH_ALLOWED_CLIENTS: 'gateway, cli',
      DATABASE_URL: 'postgresql://u@db:5432/tollgate',
      DATABASE_SSL: 'verify-full',
      QUOTA_TIMEZONE: 'Europe/Berlin',
      QUOTA_FAIL_OPEN: 'on',
      AUTH_DECISION_CACHE_TTL_S: '0',
    });
    expect(c).toMatchObject({ port: 0, host: '0.0.0.0' });
    expect(c.auth).toMatchObject({ clockToleranceS: 0, allowedClients: ['gateway', 'cli'], verifiedTokenCache: { ttlS: 0 } });
    expect(c.database).toMatchObject({ url: 'postgresql://u@db:5432/tollgate', ssl: 'verify-full' });
    expect(c.quota).toMatchObject({ timezone: 'Europe/Berlin', failOpen: true });
  });

  test('the config object is deeply frozen', () => {
    const c = parseConfig({
      ...PROD_JWKS,
      AUTH_MODE: 'jwks,supabase',
      SUPABASE_URL: 'https://abc.supabase.co',
      AUTH_SUBJECT_PREFIX: 'kc:',
      SUPABASE_SUBJECT_PREFIX: 'sb:',
      AUTH_ROUTE_RULES: '{"POST /api/": "api:write"}',
    });
    const objects: unknown[] = [];
    const walk = (o: unknown) => {
      if (!o || typeof o !== 'object' || o instanceof Uint8Array) return;
      objects.push(o);
      Object.values(o).forEach(walk);
    };
    walk(c);
    expect(objects.length).toBeGreaterThan(15);
    for (const o of objects) expect(Object.isFrozen(o)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (c.auth.issuers as IssuerList).push(c.auth.issuers[0]!)).toThrow(TypeError);
    expect(() => ((c.auth.routeRules[0]!.scopes as string[])[0] = 'admin')).toThrow(TypeError);
  });
});
type IssuerList = Config['auth']['issuers'][number][];

describe('loadDotenv', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmp, 'cwd-'));
  });

  test('.env and keys.env are read; the real environment wins; process.env is untouched', () => {
    writeFileSync(join(cwd, '.env'), 'TG_A=from-env\nTG_B=from-env\nTG_SHARED=env-file\n');
    writeFileSync(join(cwd, 'keys.env'), 'TG_SECRET=from-keys\nTG_SHARED=keys-file\nTG_B=from-keys\n');
    const before = { ...process.env };
    const real = { PATH: '/bin', TG_B: 'real' };
    const merged = loadDotenv(real, cwd);
    expect(merged).toMatchObject({ PATH: '/bin', TG_A: 'from-env', TG_B: 'real', TG_SECRET: 'from-keys', TG_SHARED: 'env-file' });
    expect(real).toEqual({ PATH: '/bin', TG_B: 'real' });
    expect(process.env).toEqual(before);
    expect(process.env.TG_A).toBeUndefined();
  });

  test('missing files are fine', () => {
    expect(loadDotenv({ X: '1' }, cwd)).toEqual({ X: '1' });
  });

  test('the merged environment feeds parseConfig', () => {
    writeFileSync(join(cwd, '.env'), `NODE_ENV=production\nAUTH_MODE=hs256\nAUTH_ISSUER=${ISSUER}\nAUTH_AUDIENCE=wavestack\nPORT=4000\n`);
    writeFileSync(join(cwd, 'keys.env'), `AUTH_JWT_SECRET=${SECRET_32}\n`);
    const c = parseConfig(loadDotenv({ PORT: '5000' }, cwd));
    expect(c.port).toBe(5000);
    expect(c.auth.issuers[0]!.hmacSecret).toEqual(new TextEncoder().encode(SECRET_32));
  });
});

describe('later refusals', () => {
  const sb = { NODE_ENV: 'development', AUTH_MODE: 'supabase', SUPABASE_URL: 'https://x.supabase.co', SUPABASE_JWT_SECRET: 'x'.repeat(40) };
  test('an sb_secret_ key as SUPABASE_ANON_KEY is refused', () => {
    expect(() => parseConfig({ ...sb, SUPABASE_ANON_KEY: 'sb_secret_abc123' })).toThrow(/SUPABASE_ANON_KEY: is a service-role/);
    expect(() => parseConfig({ ...sb, SUPABASE_ANON_KEY: 'sb_publishable_abc123' })).not.toThrow();
  });
  test('duplicate route rules are refused', () => {
    const rules = JSON.stringify([
      { method: 'POST', path: '/api/', scopes: ['a'] },
      { method: 'post', path: '/api/', scopes: ['b'] },
    ]);
    expect(() => parseConfig({ ...sb, AUTH_ROUTE_RULES: rules })).toThrow(/AUTH_ROUTE_RULES: two rules for "POST \/api\/"/);
  });
});

describe('every problem at once', () => {
  test('several mistakes are reported together, each naming its variable, parse errors before the rules', () => {
    const e = thrown({
      ...PROD_HS,
      AUTH_JWT_SECRET: SECRET_31,
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      QUOTA_TIMEZONE: 'Mars/Olympus',
      AUTH_ROUTE_RULES: '{POST',
      AUTH_ISSUER: 'http://idp.example.com/',
    });
    expect(e.errors.map((p) => p.variable)).toEqual(['PORT', 'LOG_LEVEL', 'AUTH_ROUTE_RULES', 'QUOTA_TIMEZONE', 'AUTH_ISSUER', 'AUTH_JWT_SECRET']);
    expect(e.message.split('\n')[0]).toBe('6 problems:');
    for (const p of e.errors) {
      expect(p).toBeInstanceOf(ConfigError);
      expect(p.message.startsWith(`${p.variable}: `)).toBe(true);
      expect(e.message).toContain(`  - ${p.message}`);
    }
    expect(e.variable).toBe('PORT'); // the first, for code that reads one
    expect(e.message).not.toContain(SECRET_31);
  });

  test('a refused value is not reported again by a rule that needs it', () => {
    // AUTH_ISSUER is refused as a URL: no second "is required when AUTH_MODE includes jwks"
    expect(thrown({ ...PROD_JWKS, AUTH_ISSUER: 'not a url', AUTH_AUDIENCE: ',' }).errors.map((p) => p.message)).toEqual([
      'AUTH_ISSUER: must be an absolute URL, got "not a url"',
      'AUTH_AUDIENCE: must list at least one audience (an empty list would refuse every token)',
    ]);
  });

  test('every mode is checked even when another is broken', () => {
    const e = thrown({ NODE_ENV: 'production', AUTH_MODE: 'hs256,supabase', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'a', SUPABASE_ALLOW_UNCONFIRMED: 'true' });
    expect(e.errors.map((p) => p.variable)).toEqual(['AUTH_JWT_SECRET', 'SUPABASE_URL', 'SUPABASE_ALLOW_UNCONFIRMED']);
  });

  test('a value is checked even where its mode does not use it (a typo is a typo)', () => {
    expect(thrown({ ...PROD_HS, AUTH_ALGORITHMS: 'HS256', SUPABASE_ALLOW_ANONYMOUS: 'maybe' }).errors.map((p) => p.variable)).toEqual([
      'AUTH_ALGORITHMS',
      'SUPABASE_ALLOW_ANONYMOUS',
    ]);
  });

  test('parseStoreConfig (the CLIs) collects its problems too, and needs no issuer', () => {
    expect(parseStoreConfig({ QUOTA_DEFAULT_DAILY_TICKS: '100' }).database).toMatchObject({ defaultDailyTicks: 100, migrateOnStart: true, ssl: false });
    let e: unknown;
    try {
      parseStoreConfig({ DATABASE_SSL: 'yes', DATABASE_POOL_MAX: '0', PORT: 'ignored-here' });
    } catch (err) {
      e = err;
    }
    expect((e as ConfigErrors).errors.map((p) => p.variable)).toEqual(['DATABASE_POOL_MAX', 'DATABASE_SSL']);
  });

  test('QUOTA_DEFAULT_DAILY_TICKS is parsed once and feeds both the quota stage and the store', () => {
    const c = parseConfig({ ...DEV_JWKS, QUOTA_DEFAULT_DAILY_TICKS: '77' });
    expect([c.quota.defaultDailyTicks, c.database.defaultDailyTicks]).toEqual([77, 77]);
    expect(thrown({ ...DEV_JWKS, QUOTA_DEFAULT_DAILY_TICKS: String(MAX_DAILY_LIMIT + 1) }).errors.map((p) => p.message)).toEqual([
      `QUOTA_DEFAULT_DAILY_TICKS: must be a whole number from 1 to ${MAX_DAILY_LIMIT}, got "${MAX_DAILY_LIMIT + 1}"`,
    ]);
  });
});

describe('unknown variables under tollgate prefixes', () => {
  const warnings = (env: RawEnv) => parseConfigWithWarnings(env).warnings;

  test('outside production: a warning with the closest name; the config still parses', () => {
    const { config, warnings: w } = parseConfigWithWarnings({ ...DEV_JWKS, AUTH_ALLOWED_CLIENT: 'gateway' });
    expect(config.auth.allowedClients).toBeNull(); // the typo allowed every client, silently, before
    expect(w).toEqual([
      {
        variable: 'AUTH_ALLOWED_CLIENT',
        message: expect.stringMatching(
          /^AUTH_ALLOWED_CLIENT: no part of tollgate reads this variable; did you mean AUTH_ALLOWED_CLIENTS\? .*production refuses/,
        ),
      },
    ]);
    expect(warnings({ ...DEV_JWKS, NODE_ENV: 'test', QUOTA_TIMEZONES: 'UTC' })[0]!.message).toMatch(/did you mean QUOTA_TIMEZONE\?/);
  });

  test('in production: one more start-up error, with the suggestion', () => {
    const e = thrown({ ...PROD_JWKS, AUTH_ALLOWED_CLIENT: 'gateway', AUTH_JWKS_CACHE_TTL: '60', PORT: 'x' });
    expect(e.errors.map((p) => p.variable)).toEqual(['PORT', 'AUTH_ALLOWED_CLIENT', 'AUTH_JWKS_CACHE_TTL']);
    expect(e.errors[1]!.message).toMatch(
      /^AUTH_ALLOWED_CLIENT: no part of tollgate reads this variable; did you mean AUTH_ALLOWED_CLIENTS\? correct or remove it/,
    );
    expect(e.errors[2]!.message).toMatch(/did you mean AUTH_JWKS_CACHE_TTL_S\?/);
  });

  test('a far-off name gets no suggestion; *_FILE typos suggest the _FILE name', () => {
    expect(warnings({ ...DEV_JWKS, SUPABASE_SERVICE_ROLE_KEY: 'k' })[0]!.message).not.toMatch(/did you mean/);
    expect(warnings({ ...DEV_JWKS, AUTH_JWT_SECRT_FILE: '/run/x' })[0]!.message).toMatch(/did you mean AUTH_JWT_SECRET_FILE\?/);
    expect(warnings({ ...DEV_JWKS, DATA_DIRECTORY: '/x' })[0]!.message).toMatch(/^DATA_DIRECTORY: .*did you mean DATA_DIR\?/);
  });

  test.each([
    ['<NAME>_FILE of a known name', { AUTH_ROUTE_RULES_FILE: '', DATABASE_URL_FILE: '' }],
    ['the NGINX template variables', { GATEWAY_HTTPS_PORT: '8443', GATEWAY_AUTH_CACHE: 'on', CORS_ORIGINS: 'https://a.example' }],
    ['the Caddyfile variables', { CADDY_VALIDATORS: '127.0.0.1:3000', CADDY_APPS: '127.0.0.1:3002' }],
    ['deployment and test harness variables', { GATEWAY_CLIENT_SECRET: 's', GATEWAY_URL: 'https://x', TOLLGATE_TAG: 'local', TOLLGATE_E2E_STUB: '1' }],
    [
      'Kubernetes service links (Service tollgate-validator, port http)',
      {
        TOLLGATE_VALIDATOR_SERVICE_HOST: '10.0.0.11',
        TOLLGATE_VALIDATOR_SERVICE_PORT: '3000',
        TOLLGATE_VALIDATOR_SERVICE_PORT_HTTP: '3000',
        TOLLGATE_VALIDATOR_PORT: 'tcp://10.0.0.11:3000',
        TOLLGATE_VALIDATOR_PORT_3000_TCP: 'tcp://10.0.0.11:3000',
        TOLLGATE_VALIDATOR_PORT_3000_TCP_PROTO: 'tcp',
        TOLLGATE_VALIDATOR_PORT_3000_TCP_PORT: '3000',
        TOLLGATE_VALIDATOR_PORT_3000_TCP_ADDR: '10.0.0.11',
        DATABASE_PORT: 'tcp://10.0.0.12:5432',
      },
    ],
    [
      'names outside the prefixes',
      { PATH: '/bin', HOME: '/root', NODE_OPTIONS: '', KEYCLOAK_ADMIN_PASSWORD: 'x', POSTGRES_PASSWORD: 'x', CADDY_VERSION: '2.6' },
    ],
    ['an empty unknown variable (empty means unset)', { AUTH_ALLOWED_CLIENT: '' }],
  ])('not reported: %s', (_title, extra) => {
    expect(() => parseConfig({ ...PROD_JWKS, ...extra })).not.toThrow();
    expect(warnings({ ...DEV_JWKS, ...extra })).toEqual([]);
  });

  test('a _PORT that is not a service link is still a typo', () => {
    expect(warnings({ ...DEV_JWKS, GATEWAY_HTTPS_PORTT: '8443' })[0]!.message).toMatch(/did you mean GATEWAY_HTTPS_PORT\?/);
    expect(warnings({ ...DEV_JWKS, AUTH_PORT: '3000' }).map((w) => w.variable)).toEqual(['AUTH_PORT']);
  });

  test('every name that the templates, the Caddyfile and compose.yaml read under a checked prefix is known', () => {
    const read = (rel: string) => readFileSync(join(REPO_ROOT, rel), 'utf8');
    const templates = ['tollgate.conf.template', ...readdirSync(join(REPO_ROOT, 'nginx/templates/snippets')).map((f) => `snippets/${f}`)];
    const names = new Set<string>();
    for (const t of templates) for (const m of read(`nginx/templates/${t}`).matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)) names.add(m[1]!);
    for (const m of read('deploy/caddy/Caddyfile').matchAll(/\{\$([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
    for (const m of read('compose.yaml').matchAll(/\$\{([A-Z][A-Z0-9_]*)(:-|\})/g)) names.add(m[1]!);
    const checked = [...names].filter((n) => CHECKED_PREFIXES.some((p) => n.startsWith(p)));
    expect(checked.length).toBeGreaterThan(15);
    expect(checked.filter((n) => !KNOWN_NAMES.has(n))).toEqual([]);
  });

  test('editDistance counts a swap of neighbours as one edit', () => {
    expect(editDistance('AUTH_MODE', 'AUTH_MDOE')).toBe(1);
    expect(editDistance('QUOTA_ROUTES', 'QUOTA_ROUTE')).toBe(1);
    expect(editDistance('', 'ABC')).toBe(3);
  });
});

describe('empty means unset, everywhere', () => {
  test('an empty <NAME>_FILE is unset: the default applies, and it is not "both"', () => {
    const file = join(tmp, 'rules-both.json');
    writeFileSync(file, '{"POST /api/": ["api:write"]}');
    expect(parseConfig({ ...DEV_JWKS, PORT_FILE: '', AUTH_ROUTE_RULES_FILE: '' })).toMatchObject({ port: 3000, auth: { routeRules: [] } });
    expect(parseConfig({ ...DEV_JWKS, AUTH_ROUTE_RULES: '', AUTH_ROUTE_RULES_FILE: file }).auth.routeRules).toHaveLength(1);
    expect(parseConfig({ ...PROD_HS, AUTH_JWT_SECRET_FILE: '' }).auth.issuers[0]!.hmacSecret).toHaveLength(32);
  });

  test('a <NAME>_FILE naming an empty file is an error (a mounting mistake), not a silent default', () => {
    const file = join(tmp, 'empty-rules.json');
    writeFileSync(file, '\n');
    const e = thrown({ ...DEV_JWKS, AUTH_ROUTE_RULES_FILE: file });
    expect(e.errors.map((p) => p.message)).toEqual([
      `AUTH_ROUTE_RULES_FILE: ${file} is empty; put the value in it, or unset AUTH_ROUTE_RULES_FILE to take the default`,
    ]);
  });

  test('a required variable given as empty is missing', () => {
    expect(thrown({ ...PROD_HS, AUTH_JWT_SECRET: '' }).errors.map((p) => p.message)).toEqual(['AUTH_JWT_SECRET: is required when AUTH_MODE includes hs256']);
    expect(thrown({ ...PROD_JWKS, AUTH_MODE: '' }).errors.map((p) => p.variable)).toEqual(['AUTH_MODE']);
  });
});
