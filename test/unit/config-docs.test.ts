// The config schema is the single source: parseConfig reads every listed variable and nothing else,
// and the committed .env.example and docs/CONFIGURATION.md are exactly what the generator prints.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../validator/config';
import { CONFIG_VARIABLES } from '../../validator/config/schema';
import { GENERATED, renderConfigurationMd, renderEnvExample } from '../../scripts/gen-config-docs';

const ROOT = join(__dirname, '..', '..');
const NAMES = CONFIG_VARIABLES.map((v) => v.name);

/** Runs parseConfig on `env` and returns every variable name it looked up. */
function namesRead(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const proxy = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return target[key as string];
    },
  });
  parseConfig(proxy);
  return read;
}

describe('CONFIG_VARIABLES ⇄ parseConfig', () => {
  test('names are unique, upper snake case, documented; secrets have no default', () => {
    expect(new Set(NAMES).size).toBe(NAMES.length);
    for (const v of CONFIG_VARIABLES) {
      expect(v.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(v.name.endsWith('_FILE')).toBe(false);
      expect(v.doc.length).toBeGreaterThan(10);
      if (v.secret) expect(v.default).toBeUndefined();
    }
  });

  test('every listed variable (and its _FILE) is read by parseConfig', () => {
    const read = new Set([
      ...namesRead({ NODE_ENV: 'test', AUTH_MODE: 'jwks,supabase', AUTH_ISSUER: 'https://idp.example.com', AUTH_AUDIENCE: 'a', SUPABASE_URL: 'https://x.supabase.co' }),
      // hs256 mode is the one that reads AUTH_JWKS_URL only to refuse it; jwks reads AUTH_JWT_SECRET likewise
      ...namesRead({ NODE_ENV: 'test', AUTH_MODE: 'hs256', AUTH_ISSUER: 'https://idp.example.com', AUTH_AUDIENCE: 'a', AUTH_JWT_SECRET: 's' }),
    ]);
    const unread = NAMES.filter((n) => !read.has(n) || !read.has(`${n}_FILE`));
    expect(unread).toEqual([]);
  });

  test('parseConfig reads nothing that is not listed', () => {
    const read = namesRead({ NODE_ENV: 'test', AUTH_MODE: 'jwks,supabase', AUTH_ISSUER: 'https://idp.example.com', AUTH_AUDIENCE: 'a', SUPABASE_URL: 'https://x.supabase.co' });
    const unlisted = [...read].filter((n) => !NAMES.includes(n.replace(/_FILE$/, '')));
    expect(unlisted).toEqual([]);
  });

  test("every get('NAME') and ConfigError('NAME', …) in config/index.ts names a listed variable", () => {
    const source = readFileSync(join(ROOT, 'validator/config/index.ts'), 'utf8');
    const got = [...source.matchAll(/\bget\('([A-Z0-9_]+)'\)/g)].map((m) => m[1]!);
    const errors = [...source.matchAll(/new ConfigError\('([A-Z0-9_]+)'/g)].map((m) => m[1]!);
    expect(got.length).toBeGreaterThan(30);
    expect(errors.length).toBeGreaterThan(5);
    expect(got.filter((n) => !NAMES.includes(n))).toEqual([]);
    expect(errors.filter((n) => !NAMES.includes(n))).toEqual([]);
    // and the other way round: every listed variable is read by name in the source
    expect(NAMES.filter((n) => !got.includes(n))).toEqual([]);
  });

  test('the defaults in the schema parse', () => {
    expect(() => parseConfig({ AUTH_MODE: 'jwks', AUTH_ISSUER: 'https://idp.example.com', AUTH_AUDIENCE: 'a' })).not.toThrow();
  });
});

describe('generated .env.example and docs/CONFIGURATION.md', () => {
  test.each(GENERATED.map(([file, render]) => [file, render] as const))('%s equals the generator output (run `npm run build && node dist/scripts/gen-config-docs.js --write`)', (file, render) => {
    expect(readFileSync(join(ROOT, file), 'utf8')).toBe(render());
  });

  test('.env.example lists every variable once, with its default; secrets are empty', () => {
    const text = renderEnvExample();
    const lines = text.split('\n').filter((l) => /^[A-Z]/.test(l));
    expect(lines.map((l) => l.split('=')[0])).toEqual(
      ['server', 'auth', 'jwks', 'supabase', 'routes', 'cache', 'quota', 'database'].flatMap((g) => CONFIG_VARIABLES.filter((v) => v.group === g).map((v) => v.name)),
    );
    for (const v of CONFIG_VARIABLES) {
      expect(lines).toContain(`${v.name}=${v.secret ? '' : (v.default ?? '')}`);
      expect(text).toContain(`# ${v.doc}`);
    }
  });

  test('.env.example read back through dotenv and parseConfig gives the defaults', () => {
    // dotenv's own parser, the one loadDotenv uses
    const { parse } = require('dotenv') as typeof import('dotenv');
    const env = parse(renderEnvExample());
    const c = parseConfig({ ...env, AUTH_MODE: 'jwks', AUTH_ISSUER: 'https://idp.example.com', AUTH_AUDIENCE: 'a' });
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1' });
    expect(c.auth.routeRules).toEqual([]);
    expect(c.quota.routes).toEqual([{ method: 'POST', path: '/api/tasks' }]);
  });

  test('CONFIGURATION.md has a row per variable, the _FILE note and the production refusals', () => {
    const md = renderConfigurationMd();
    for (const v of CONFIG_VARIABLES) expect(md).toContain(`| \`${v.name}\` | ${v.default === undefined ? '—' : `\`${v.default}\``} |`);
    expect(md).toContain('`<NAME>_FILE`');
    expect(md).toMatch(/## Start-up refusals[\s\S]*NODE_ENV=production[\s\S]*32 bytes[\s\S]*SUPABASE_ALLOW_UNCONFIRMED=true[\s\S]*http:\/\//);
  });
});
