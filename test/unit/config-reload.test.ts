// Reload planning and the configuration hash: a reload is refused with every error, restart-only
// settings keep their running values (and are reported), the configuration that will run is checked
// as a whole, `_FILE` secrets are read once, and the hash never shows a secret.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../validator/config';
import type { RawEnv } from '../../validator/config/env';
import { canonicalConfig, configHash } from '../../validator/config/hash';
import { pinnedValues, planReload, resolveFiles, RESTART_ONLY } from '../../validator/config/reload';
import { VARIABLES } from '../../validator/config/schema';
import { unknownVariables } from '../../validator/config/unknown';

const BASE: RawEnv = {
  NODE_ENV: 'development',
  AUTH_MODE: 'hs256',
  AUTH_ISSUER: 'http://127.0.0.1:9/iss',
  AUTH_AUDIENCE: 'api',
  AUTH_JWT_SECRET: 's'.repeat(32),
  AUTH_ROUTE_RULES: '{"GET /api/a": ["s1"]}',
  DATA_DIR: 'memory://',
};

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tollgate-reload-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('planReload', () => {
  test('an invalid configuration is refused with every error, none applied', () => {
    const plan = planReload({ ...BASE, AUTH_ROUTE_RULES: '{"GET /api/a": ["s1"', PORT: 'eighty', QUOTA_DEFAULT_TICKS: '0' }, pinnedValues(BASE));
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.errors.map((e) => e.variable).sort()).toEqual(['AUTH_ROUTE_RULES', 'PORT', 'QUOTA_DEFAULT_TICKS']);
  });

  test('reloadable settings are applied; restart-only ones keep their running values and are reported', () => {
    const plan = planReload(
      { ...BASE, AUTH_ROUTE_RULES: '{"GET /api/a": ["s2"]}', PORT: '4000', DATA_DIR: '/elsewhere', LOG_LEVEL: 'debug' },
      pinnedValues(BASE),
    );
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.config.auth.routeRules[0]).toMatchObject({ method: 'GET', path: '/api/a' });
    expect(JSON.stringify(plan.config.auth.routeRules)).toContain('s2');
    expect(plan.config.logLevel).toBe('debug');
    expect(plan.config.port).toBe(3000);
    expect(plan.config.database.dataDir).toBe('memory://');
    expect(plan.restartPending).toEqual(['PORT', 'DATA_DIR']);
  });

  test('a restart-only value written out as its default is not a change', () => {
    const plan = planReload({ ...BASE, PORT: '3000', HOST: '127.0.0.1' }, pinnedValues(BASE));
    expect(plan.ok && plan.restartPending).toEqual([]);
  });

  test('valid alone but not with the running restart-only values: refused, saying why', () => {
    const prod: RawEnv = { ...BASE, NODE_ENV: 'production', AUTH_ISSUER: 'https://idp.example.com/iss', AUTH_ROUTE_RULES: '{}' };
    expect(() => parseConfig(prod)).not.toThrow();
    // development allows a plain-http issuer on another host; the running production does not
    const plan = planReload({ ...prod, NODE_ENV: 'development', AUTH_ISSUER: 'http://idp.example.com/iss' }, pinnedValues(prod));
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.errors.map((e) => e.variable)).toEqual(['AUTH_ISSUER']);
    expect(plan.errors[0]!.message).toMatch(/^AUTH_ISSUER: .*\(with NODE_ENV kept at the running values until a restart\)$/);
  });

  test('what start-up refuses is refused on reload too: production quotas turned on over an unmigrated embedded store', () => {
    // started with no charged route and no DATABASE_URL: nothing asked of a database, so start-up allowed it
    const prod: RawEnv = { ...BASE, NODE_ENV: 'production', AUTH_ISSUER: 'https://idp.example.com/iss', DATA_DIR: '/var/lib/tollgate', QUOTA_ROUTES: ',' };
    expect(planReload(prod, pinnedValues(prod)).ok).toBe(true);
    const plan = planReload({ ...prod, QUOTA_ROUTES: 'POST /api/tasks' }, pinnedValues(prod));
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.errors.map((e) => e.variable)).toEqual(['DATABASE_URL']);
    expect(plan.errors[0]!.message).toMatch(/^DATABASE_URL: is not set: in production quotas need a Postgres server/);
  });

  test('a restart-only secret from a file: the running value is kept, the change reported', () => {
    const file = join(tmp, 'database-url');
    writeFileSync(file, 'postgres://tollgate:one@db.example/tollgate\n');
    const start = { ...BASE, DATABASE_URL_FILE: file };
    const pinned = pinnedValues(start);
    writeFileSync(file, 'postgres://tollgate:two@db.example/tollgate\n');
    const plan = planReload(start, pinned);
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.restartPending).toEqual(['DATABASE_URL']);
    expect(plan.config.database.url).toBe('postgres://tollgate:one@db.example/tollgate');
  });

  test('resolveFiles reads each *_FILE once, so every later reading sees the same content', () => {
    const file = join(tmp, 'rules.json');
    writeFileSync(file, '{"GET /api/a": ["s1"]}');
    const env = resolveFiles({ ...BASE, AUTH_ROUTE_RULES: undefined, AUTH_ROUTE_RULES_FILE: file });
    writeFileSync(file, '{"GET /api/a": ["s2"]}');
    expect(env.AUTH_ROUTE_RULES_FILE).toBeUndefined();
    expect(JSON.stringify(parseConfig(env).auth.routeRules)).toContain('s1');
    // an unreadable file is left for the parse to report, with a start's message
    const broken = resolveFiles({ ...BASE, AUTH_ROUTE_RULES: undefined, AUTH_ROUTE_RULES_FILE: join(tmp, 'missing') });
    const plan = planReload(broken, pinnedValues(BASE));
    expect(!plan.ok && plan.errors[0]!.message).toMatch(/^AUTH_ROUTE_RULES_FILE: cannot read /);
  });

  test('every restart-only name is in the table; TOLLGATE_TRACING is known and OTEL_* are left to the SDK', () => {
    for (const n of RESTART_ONLY) expect(VARIABLES).toHaveProperty(n);
    expect(
      unknownVariables({
        TOLLGATE_TRACING: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_SERVICE_NAME: 'gw',
        OTEL_TRACES_SAMPLER: 'always_on',
      }),
    ).toEqual([]);
    expect(() =>
      parseConfig({
        ...BASE,
        NODE_ENV: 'production',
        AUTH_ISSUER: 'https://idp.example.com/iss',
        AUTH_ROUTE_RULES: '{}',
        TOLLGATE_TRACING: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      }),
    ).not.toThrow();
    expect(parseConfig(BASE).tracing).toBe('off');
    expect(() => parseConfig({ ...BASE, TOLLGATE_TRACING: 'jaeger' })).toThrow(/TOLLGATE_TRACING/);
  });
});

describe('configHash', () => {
  test('the same configuration hashes the same; any change, a secret included, changes it', () => {
    const a = configHash(parseConfig(BASE));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash(parseConfig({ ...BASE }))).toBe(a);
    // the JSON spelled differently, same rules: same configuration
    expect(configHash(parseConfig({ ...BASE, AUTH_ROUTE_RULES: '{ "GET /api/a" : [ "s1" ] }' }))).toBe(a);
    expect(configHash(parseConfig({ ...BASE, AUTH_JWT_SECRET: 't'.repeat(32) }))).not.toBe(a);
    expect(configHash(parseConfig({ ...BASE, DATABASE_URL: 'postgres://u:p1@db/x' }))).not.toBe(
      configHash(parseConfig({ ...BASE, DATABASE_URL: 'postgres://u:p2@db/x' })),
    );
  });

  test('the canonical text holds secrets only as their SHA-256', () => {
    const text = canonicalConfig(
      parseConfig({ ...BASE, AUTH_JWT_SECRET: 'very-secret-hmac-key-0123456789abcdef', DATABASE_URL: 'postgres://u:hunter2-password@db/x' }),
    );
    expect(text).not.toContain('very-secret-hmac-key');
    expect(text).not.toContain('hunter2');
    expect(text.match(/sha256:[0-9a-f]{64}/g)).toHaveLength(2);
  });
});
