// The config schema is the single source: parseConfig reads every listed variable and nothing else,
// and the committed .env.example and docs/CONFIGURATION.md are exactly what the generator prints.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse } from 'dotenv';
import { join } from 'node:path';
import { parseConfig, parseConfigWithWarnings } from '../../validator/config';
import { loadDotenv } from '../../validator/config/env';
import { CONFIG_VARIABLES } from '../../validator/config/schema';
import { GENERATED, renderConfigurationMd, renderEnvExample } from '../../scripts/gen-config-docs';
import { REPO_ROOT as ROOT } from '../../devkit/root';

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
      ...namesRead({
        NODE_ENV: 'test',
        AUTH_MODE: 'jwks,supabase',
        AUTH_ISSUER: 'https://idp.example.com',
        AUTH_AUDIENCE: 'a',
        SUPABASE_URL: 'https://x.supabase.co',
      }),
      // hs256 mode is the one that reads AUTH_JWKS_URL only to refuse it; jwks reads AUTH_JWT_SECRET likewise
      ...namesRead({ NODE_ENV: 'test', AUTH_MODE: 'hs256', AUTH_ISSUER: 'https://idp.example.com', AUTH_AUDIENCE: 'a', AUTH_JWT_SECRET: 's' }),
    ]);
    const unread = NAMES.filter((n) => !read.has(n) || !read.has(`${n}_FILE`));
    expect(unread).toEqual([]);
  });

  test('parseConfig reads nothing that is not listed', () => {
    const read = namesRead({
      NODE_ENV: 'test',
      AUTH_MODE: 'jwks,supabase',
      AUTH_ISSUER: 'https://idp.example.com',
      AUTH_AUDIENCE: 'a',
      SUPABASE_URL: 'https://x.supabase.co',
    });
    const unlisted = [...read].filter((n) => !NAMES.includes(n.replace(/_FILE$/, '')));
    expect(unlisted).toEqual([]);
  });

  test('the rules name listed variables, and every parsed value is used (SUPABASE_ANON_KEY is only checked)', () => {
    const source = ['index.ts', 'issuers.ts', 'store.ts', 'introspection.ts', 'dpop.ts', 'routes.ts']
      .map((f) => readFileSync(join(ROOT, 'validator/config', f), 'utf8'))
      .join('\n');
    const named = [...source.matchAll(/\b(?:fail|need|isSet|refused|keyUrl|secretBytes)\('([A-Z0-9_]+)'/g)].map((m) => m[1]!);
    const used = new Set([...source.matchAll(/\bv\.([A-Z][A-Z0-9_]+)\b/g)].map((m) => m[1]!));
    expect(named.length).toBeGreaterThan(15);
    expect(named.filter((n) => !NAMES.includes(n))).toEqual([]);
    expect(NAMES.filter((n) => !used.has(n))).toEqual(['SUPABASE_ANON_KEY']);
  });

  test('each variable has a doc line and exactly one of: a default, required (when), optional', () => {
    for (const v of CONFIG_VARIABLES) {
      expect({ name: v.name, doc: v.doc.length > 10 && !v.doc.includes('\n') }).toEqual({ name: v.name, doc: true });
      expect({ name: v.name, kinds: [v.default !== undefined, v.required !== undefined, v.optional === true].filter(Boolean).length }).toEqual({
        name: v.name,
        kinds: 1,
      });
    }
  });

  test("every default parses through its own variable's parser", () => {
    for (const v of CONFIG_VARIABLES) if (v.default !== undefined) expect(() => v.parse(v.default!, v.name)).not.toThrow();
  });

  test('the defaults in the schema parse', () => {
    expect(() => parseConfig({ AUTH_MODE: 'jwks', AUTH_ISSUER: 'https://idp.example.com', AUTH_AUDIENCE: 'a' })).not.toThrow();
  });
});

describe('generated .env.example and docs/CONFIGURATION.md', () => {
  test.each(GENERATED.map(([file, render]) => [file, render] as const))(
    '%s equals the generator output (run `npm run build && node dist/scripts/gen-config-docs.js --write`)',
    (file, render) => {
      expect(readFileSync(join(ROOT, file), 'utf8')).toBe(render());
    },
  );

  test('.env.example lists every variable once: a default commented out, no default as an empty value', () => {
    const text = renderEnvExample();
    const lines = text.split('\n').filter((l) => /^(# )?[A-Z][A-Z0-9_]*=/.test(l));
    expect(lines.map((l) => l.replace(/^# /, '').split('=')[0])).toEqual(
      ['server', 'auth', 'jwks', 'introspection', 'dpop', 'supabase', 'routes', 'cache', 'quota', 'database'].flatMap((g) =>
        CONFIG_VARIABLES.filter((v) => v.group === g).map((v) => v.name),
      ),
    );
    for (const v of CONFIG_VARIABLES) {
      expect(lines).toContain(v.default === undefined ? `${v.name}=` : `# ${v.name}=${v.default}`);
      expect(text).toContain(`# ${v.doc}`);
    }
    // nothing but comments, blank lines and empty values: copying it as .env sets nothing
    expect(text.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !/^[A-Z][A-Z0-9_]*=$/.test(l))).toEqual([]);
  });

  test('`cp .env.example .env` then what `npm start` adds parses in development, with no warning', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tollgate-envexample-'));
    try {
      writeFileSync(join(cwd, '.env'), renderEnvExample());
      const env = loadDotenv({ PATH: '/bin' }, cwd);
      expect(Object.keys(env)).toEqual(['PATH']); // every line is a comment or empty: nothing is set
      // scripts/start.ts: AUTH_MODE unset → its development IdP, these three and route rules
      const { config, warnings } = parseConfigWithWarnings({
        ...env,
        NODE_ENV: 'development',
        AUTH_MODE: 'jwks',
        AUTH_ISSUER: 'http://127.0.0.1:8180',
        AUTH_AUDIENCE: 'wavestack',
      });
      expect(warnings).toEqual([]);
      expect(config).toMatchObject({ env: 'development', port: 3000, host: '127.0.0.1' });
      expect(config.auth.routeRules).toEqual([]);
      expect(config.quota.routes).toEqual([{ method: 'POST', path: '/api/tasks' }]);
      // and an .env.example with every default uncommented gives the same configuration
      const uncommented = parse(renderEnvExample().replace(/^# ([A-Z][A-Z0-9_]*=)/gm, '$1'));
      expect(parseConfig({ ...uncommented, AUTH_MODE: 'jwks', AUTH_ISSUER: 'http://127.0.0.1:8180', AUTH_AUDIENCE: 'wavestack' })).toEqual(config);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('CONFIGURATION.md has a row per variable, the _FILE note and the production refusals', () => {
    const md = renderConfigurationMd();
    for (const v of CONFIG_VARIABLES) {
      const def = v.default !== undefined ? `\`${v.default}\`` : v.optional ? 'optional' : v.required === 'always' ? 'required' : `required ${v.required}`;
      expect(md).toContain(`| \`${v.name}\` | ${def} |`);
    }
    expect(md).toMatch(/## Unknown variables[\s\S]*`AUTH_`[\s\S]*did you mean/);
    expect(md).toContain('`<NAME>_FILE`');
    expect(md).toMatch(/## Start-up refusals[\s\S]*NODE_ENV=production[\s\S]*32 bytes[\s\S]*SUPABASE_ALLOW_UNCONFIRMED=true[\s\S]*http:\/\//);
  });
});
