// compose.yaml, checked without a Docker engine: it parses, and every service agrees with the code
// (config variables, secrets, mounted files, NGINX template variables, start order).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../validator/config/schema';
import { REPO_ROOT as ROOT } from '../../devkit/root';

interface DependsOn {
  condition?: string;
  required?: boolean;
}
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  secrets?: string[];
  volumes?: string[];
  tmpfs?: string[];
  profiles?: string[];
  depends_on?: Record<string, DependsOn>;
  healthcheck?: { test?: string[]; disable?: boolean };
  networks?: { default?: { aliases?: string[] } };
  read_only?: boolean;
  user?: string;
}
interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

const compose = parse(readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as Compose;
const services = compose.services;
const VALIDATORS = ['validator', 'validator-dev', 'validator-supabase'];
const KNOWN = new Map(CONFIG_VARIABLES.map((v) => [v.name, v]));

/** `${VAR:-default}` → default (nested defaults resolved), `${VAR}` → '': what compose does with an empty .env. */
function interpolateDefaults(value: string): string {
  let prev: string;
  let out = value;
  do {
    prev = out;
    out = out.replace(/\$\{[A-Z0-9_]+(?::?-([^${}]*))?\}/g, (_m, def: string | undefined) => def ?? '');
  } while (out !== prev);
  return out;
}

describe('compose.yaml', () => {
  test('has the stack the production guide describes', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['gateway', 'keycloak', 'keycloak-dev', 'migrate', 'postgres', 'upstream', 'validator', 'validator-dev', 'validator-supabase'].sort(),
    );
    expect(services.postgres.image).toBe('postgres:16');
    expect(services.keycloak.image).toMatch(/^quay\.io\/keycloak\/keycloak:26\.\d+$/);
    expect(services['keycloak-dev'].image).toBe(services.keycloak.image);
    expect(services.gateway.image).toBe('nginx:1.27');
  });

  test('every service has a pinned image or a build whose Dockerfile exists', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect({ name, hasImageOrBuild: Boolean(svc.image || svc.build) }).toEqual({ name, hasImageOrBuild: true });
      if (svc.build) {
        const dockerfile = path.join(ROOT, svc.build.context, svc.build.dockerfile ?? 'Dockerfile');
        expect(existsSync(dockerfile)).toBe(true);
      } else {
        // A registry image: tagged, never :latest.
        expect(svc.image).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
        expect(svc.image).not.toMatch(/:latest$/);
      }
    }
  });

  test('each profile runs exactly one validator, reachable as `validator`, and Keycloak only where wanted', () => {
    const active = (profile: string) =>
      Object.entries(services)
        .filter(([, s]) => !s.profiles || s.profiles.includes(profile))
        .map(([n]) => n);
    for (const profile of ['dev', 'keycloak', 'supabase']) {
      const names = active(profile);
      const validators = names.filter((n) => VALIDATORS.includes(n));
      expect({ profile, validators: validators.length }).toEqual({ profile, validators: 1 });
      const v = validators[0];
      expect(v === 'validator' || services[v].networks?.default?.aliases?.includes('validator')).toBe(true);
      expect(names).toEqual(expect.arrayContaining(['postgres', 'migrate', 'gateway', 'upstream']));
    }
    expect(active('supabase').some((n) => n.startsWith('keycloak'))).toBe(false);
    expect(active('dev')).toContain('keycloak-dev');
    expect(active('keycloak')).toContain('keycloak');
    expect(services['keycloak-dev'].networks?.default?.aliases).toContain('keycloak');
  });

  test('the validators and the migration job set only known config variables, and secrets only as *_FILE', () => {
    for (const name of [...VALIDATORS, 'migrate']) {
      const env = services[name].environment ?? {};
      for (const key of Object.keys(env)) {
        const base = key.endsWith('_FILE') ? key.slice(0, -'_FILE'.length) : key;
        expect({ service: name, key, known: KNOWN.has(base) }).toEqual({ service: name, key, known: true });
        if (KNOWN.get(base)?.secret) expect({ service: name, key, viaFile: key.endsWith('_FILE') }).toEqual({ service: name, key, viaFile: true });
      }
    }
  });

  test('validators run in production except the dev variant, listen on 0.0.0.0:3000, and leave migrations to the job', () => {
    for (const name of VALIDATORS) {
      const env = services[name].environment!;
      expect(env.NODE_ENV).toBe(name === 'validator-dev' ? 'development' : 'production');
      expect(env.HOST).toBe('0.0.0.0');
      expect(String(env.PORT)).toBe('3000');
      expect(env.MIGRATE_ON_START).toBe('false');
      expect(env.DATABASE_URL_FILE).toBe('/run/secrets/database_url');
    }
    expect(services.validator.environment!.AUTH_MODE).toBe('jwks');
    expect(services['validator-supabase'].environment!.AUTH_MODE).toBe('supabase');
    // Production refuses plain-http key URLs to other hosts: the keycloak-profile issuer default is https.
    expect(interpolateDefaults(String(services.validator.environment!.AUTH_ISSUER))).toBe('https://auth.localhost/realms/wavestack');
    const dev = services['validator-dev'].environment!;
    expect(interpolateDefaults(String(dev.AUTH_ISSUER))).toBe('http://localhost:8080/realms/wavestack');
    expect(dev.AUTH_JWKS_URL).toBe('http://keycloak:8080/realms/wavestack/protocol/openid-connect/certs');
  });

  test('every *_FILE points at a secret the service mounts and the file defines', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (!key.endsWith('_FILE') || typeof value !== 'string' || !value.startsWith('/run/secrets/')) continue;
        const secret = value.slice('/run/secrets/'.length);
        expect({ name, key, mounted: svc.secrets?.includes(secret) ?? false }).toEqual({ name, key, mounted: true });
        expect(compose.secrets[secret]).toBeDefined();
      }
      for (const secret of svc.secrets ?? []) expect({ name, secret, defined: secret in compose.secrets }).toEqual({ name, secret, defined: true });
    }
  });

  test('deploy/compose/secrets.sh writes every secret file compose.yaml names, 0644 in a 0700 dir', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-secrets-'));
    try {
      const keys = path.join(dir, 'keys.env');
      writeFileSync(keys, 'POSTGRES_PASSWORD="pw123"\nSUPABASE_URL=https://x.supabase.co\n');
      const out = path.join(dir, '.secrets');
      const stdout = execFileSync('sh', [path.join(ROOT, 'deploy/compose/secrets.sh'), keys, out], { encoding: 'utf8' });
      expect(stdout).not.toContain('pw123');
      for (const [name, def] of Object.entries(compose.secrets)) {
        expect(def.file).toBe(`./.secrets/${name}`);
        const file = path.join(out, name);
        expect({ name, exists: existsSync(file) }).toEqual({ name, exists: true });
        expect(statSync(file).mode & 0o777).toBe(0o644);
      }
      expect(statSync(out).mode & 0o777).toBe(0o700);
      expect(readFileSync(path.join(out, 'database_url'), 'utf8')).toBe('postgres://tollgate:pw123@postgres:5432/tollgate');
      expect(readFileSync(path.join(out, 'gateway_client_secret'), 'utf8')).toMatch(/^[0-9a-f]{48}$/);
      // Re-running keeps generated passwords (Postgres only reads them on first init).
      const before = readFileSync(path.join(out, 'keycloak_db_password'), 'utf8');
      execFileSync('sh', [path.join(ROOT, 'deploy/compose/secrets.sh'), keys, out]);
      expect(readFileSync(path.join(out, 'keycloak_db_password'), 'utf8')).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every bind-mounted path exists in the repository (build outputs and local certs excepted)', () => {
    const generated = new Set(['./dist', './.certs']);
    for (const [name, svc] of Object.entries(services)) {
      for (const vol of svc.volumes ?? []) {
        const source = interpolateDefaults(vol).split(':')[0];
        if (!source.startsWith('.')) {
          expect({ name, volume: source, declared: source in compose.volumes }).toEqual({ name, volume: source, declared: true });
          continue;
        }
        if (generated.has(source)) continue;
        expect({ name, source, exists: existsSync(path.join(ROOT, source)) }).toEqual({ name, source, exists: true });
      }
    }
    // The demo upstream runs dist/devkit/demo-upstream.js: its source must exist.
    expect(services.upstream.command).toEqual(['node', 'dist/devkit/demo-upstream.js']);
    expect(existsSync(path.join(ROOT, 'devkit/demo-upstream.ts'))).toBe(true);
    // The migration job runs the compiled migrate CLI that the image contains.
    expect(existsSync(path.join(ROOT, 'validator/cli/migrate.ts'))).toBe(true);
    expect(JSON.stringify(services.migrate.command)).toContain('dist/validator/cli/migrate.js');
  });

  test('Keycloak imports the realm file: start-dev in dev, start behind the proxy otherwise', () => {
    for (const name of ['keycloak', 'keycloak-dev']) {
      const svc = services[name];
      expect(svc.volumes).toContain('./keycloak/wavestack-realm.json:/opt/keycloak/data/import/wavestack-realm.json:ro');
      expect(svc.command).toContain('--import-realm');
      expect(svc.secrets).toContain('gateway_client_secret');
      // The realm's ${GATEWAY_CLIENT_SECRET} placeholder is filled from the secret by the wrapper.
      expect(JSON.stringify(svc.entrypoint)).toContain('export GATEWAY_CLIENT_SECRET=');
    }
    expect(services['keycloak-dev'].command).toEqual(['start-dev', '--import-realm']);
    expect(services.keycloak.command).toEqual(['start', '--import-realm']);
    expect(services.keycloak.environment).toMatchObject({ KC_PROXY_HEADERS: 'xforwarded', KC_HTTP_ENABLED: 'true' });
    expect(services.keycloak.environment).toMatchObject({ KC_DB: 'postgres', KC_DB_URL: 'jdbc:postgresql://postgres:5432/keycloak' });
    // Its own database on the postgres service, created by the init script.
    const init = readFileSync(path.join(ROOT, 'deploy/compose/postgres-init/10-keycloak-db.sh'), 'utf8');
    expect(init).toMatch(/CREATE DATABASE keycloak OWNER keycloak/);
  });

  describe('Keycloak 26', () => {
    const KEYCLOAKS = ['keycloak', 'keycloak-dev'];
    /** Everything a Keycloak service hands kc.sh: arguments, environment names and the wrapper script. */
    const settings = (name: string) => {
      const svc = services[name];
      const args = (svc.command as string[]).join(' ');
      const env = Object.keys(svc.environment ?? {});
      const exported = [...JSON.stringify(svc.entrypoint).matchAll(/export ([A-Z_]+)=/g)].map((m) => m[1]!);
      return { args, env, exported, all: [args, ...env, ...exported].join(' ') };
    };

    test('no option or variable that Keycloak 26 removed (hostname v1, proxy, legacy admin variables)', () => {
      // Removed in 26: the hostname v1 options (hostname v2 replaced them in 25), `proxy`
      // (replaced by proxy-headers) and the pre-26 admin variables (bootstrap-admin-* replaced them).
      const removed = [
        /--hostname-url\b/,
        /\bKC_HOSTNAME_URL\b/,
        /--hostname-admin-url\b/,
        /\bKC_HOSTNAME_ADMIN_URL\b/,
        /--hostname-path\b/,
        /\bKC_HOSTNAME_PATH\b/,
        /--hostname-port\b/,
        /\bKC_HOSTNAME_PORT\b/,
        /--hostname-strict-https\b/,
        /\bKC_HOSTNAME_STRICT_HTTPS\b/,
        /--hostname-strict-backchannel\b/,
        /\bKC_HOSTNAME_STRICT_BACKCHANNEL\b/,
        /--proxy[= ]/,
        /\bKC_PROXY\b(?!_)/,
        /hostname:v1/,
        /\bKEYCLOAK_ADMIN\b/,
        /\bKEYCLOAK_ADMIN_PASSWORD\b/,
      ];
      for (const name of KEYCLOAKS) {
        const { all } = settings(name);
        for (const pattern of removed)
          expect({ name, removed: String(pattern), found: pattern.test(all) }).toEqual({ name, removed: String(pattern), found: false });
      }
    });

    test('every KC_ variable is a Keycloak 26 server option this file means to use', () => {
      // Spelled as in keycloak.org/server/all-config (26.x); a typo would be ignored silently by Keycloak.
      const KNOWN = new Set([
        'KC_BOOTSTRAP_ADMIN_USERNAME',
        'KC_BOOTSTRAP_ADMIN_PASSWORD',
        'KC_HEALTH_ENABLED',
        'KC_HOSTNAME',
        'KC_HTTP_ENABLED',
        'KC_PROXY_HEADERS',
        'KC_DB',
        'KC_DB_URL',
        'KC_DB_USERNAME',
        'KC_DB_PASSWORD',
      ]);
      for (const name of KEYCLOAKS) {
        for (const v of [...settings(name).env, ...settings(name).exported].filter((v) => v.startsWith('KC_'))) {
          expect({ name, variable: v, known: KNOWN.has(v) }).toEqual({ name, variable: v, known: true });
        }
      }
    });

    test('the bootstrap admin: username set, password read from the Docker secret', () => {
      for (const name of KEYCLOAKS) {
        const svc = services[name];
        expect(svc.environment?.KC_BOOTSTRAP_ADMIN_USERNAME).toBe('admin');
        expect(JSON.stringify(svc.entrypoint)).toContain('export KC_BOOTSTRAP_ADMIN_PASSWORD=\\"$$(cat /run/secrets/keycloak_admin_password)\\"');
        expect(svc.secrets).toContain('keycloak_admin_password');
        expect(svc.environment).not.toHaveProperty('KC_BOOTSTRAP_ADMIN_PASSWORD');
      }
    });

    test('health is enabled and checked on the management port 9000, which is never published', () => {
      for (const name of KEYCLOAKS) {
        const svc = services[name] as Service & { ports?: string[] };
        expect(svc.environment?.KC_HEALTH_ENABLED).toBe('true');
        const check = svc.healthcheck!.test!.join(' ');
        expect(check).toContain('/dev/tcp/127.0.0.1/9000');
        expect(check).toContain('GET /health/ready ');
        expect(check).not.toMatch(/\/8080\b/);
        for (const p of svc.ports ?? []) expect(p.endsWith(':9000')).toBe(false);
      }
    });

    test("hostname v2: KC_HOSTNAME is a full URL, and the issuer the validator expects is that URL's realm", () => {
      const pairs: Array<[string, string]> = [
        ['keycloak-dev', 'validator-dev'],
        ['keycloak', 'validator'],
      ];
      for (const [kc, validator] of pairs) {
        const hostname = interpolateDefaults(String(services[kc].environment!.KC_HOSTNAME));
        expect(hostname).toMatch(/^https?:\/\/[^/]+$/);
        expect(interpolateDefaults(String(services[validator].environment!.AUTH_ISSUER))).toBe(`${hostname}/realms/wavestack`);
      }
      // Production issues https URLs even though the proxy hop inside is plain http.
      expect(interpolateDefaults(String(services.keycloak.environment!.KC_HOSTNAME)).startsWith('https://')).toBe(true);
    });
  });

  test('start order: postgres healthy -> migrate completed -> validator healthy -> gateway', () => {
    expect(services.postgres.healthcheck?.test?.join(' ')).toMatch(/pg_isready/);
    expect(services.migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const v of VALIDATORS) {
      expect(services[v].depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
      expect(services[v].healthcheck?.test?.join(' ')).toContain('/api/health');
    }
    for (const v of VALIDATORS) expect(services.gateway.depends_on?.[v]).toEqual({ condition: 'service_healthy', required: false });
    expect(services.keycloak.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });

    // A topological order over all depends_on edges exists and puts the guide's order first.
    const order: string[] = [];
    const visit = (n: string, stack: string[] = []) => {
      if (order.includes(n)) return;
      if (stack.includes(n)) throw new Error(`depends_on cycle: ${[...stack, n].join(' -> ')}`);
      for (const d of Object.keys(services[n].depends_on ?? {})) visit(d, [...stack, n]);
      order.push(n);
    };
    Object.keys(services).forEach((n) => visit(n));
    const at = (n: string) => order.indexOf(n);
    expect(at('postgres')).toBeLessThan(at('migrate'));
    expect(at('migrate')).toBeLessThan(at('validator'));
    expect(at('validator')).toBeLessThan(at('gateway'));
  });

  test('the gateway defines every ${VAR} the NGINX templates use, and mounts what they reference', () => {
    const gw = services.gateway;
    expect(gw.volumes).toEqual(
      expect.arrayContaining([
        './nginx/templates:/etc/nginx/templates:ro',
        './nginx/nginx.conf:/etc/nginx/nginx.conf:ro',
        './nginx/njs:/etc/nginx/njs:ro',
        'clips:/srv/files:ro',
      ]),
    );
    const templatesDir = path.join(ROOT, 'nginx/templates');
    const templates: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else if (e.name.endsWith('.template')) templates.push(path.join(dir, e.name));
      }
    };
    walk(templatesDir);
    expect(templates.length).toBeGreaterThan(0);

    const env = gw.environment ?? {};
    const used = new Set<string>();
    for (const file of templates) {
      // The official image's envsubst only replaces variables defined in the container; one left
      // undefined stays literally in the config and NGINX refuses to start.
      for (const m of readFileSync(file, 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)) used.add(m[1]);
      // Includes resolve against the prefix /etc/nginx, where templates render under conf.d/.
      for (const m of readFileSync(file, 'utf8').matchAll(/^\s*include\s+(conf\.d\/\S+);/gm)) {
        const rendered = m[1].replace(/^conf\.d\//, '');
        expect({ include: m[1], template: existsSync(path.join(templatesDir, `${rendered}.template`)) }).toEqual({ include: m[1], template: true });
      }
    }
    const filter = new RegExp(String(env.NGINX_ENVSUBST_FILTER ?? '.'));
    for (const v of used) {
      expect({ variable: v, setOnGateway: v in env }).toEqual({ variable: v, setOnGateway: true });
      expect({ variable: v, passesEnvsubstFilter: filter.test(v) }).toEqual({ variable: v, passesEnvsubstFilter: true });
    }

    const tlsCert = interpolateDefaults(String(env.GATEWAY_TLS_CERT));
    expect(tlsCert.startsWith('/etc/nginx/certs/')).toBe(true);
    expect(gw.volumes?.some((v) => v.endsWith(':/etc/nginx/certs:ro'))).toBe(true);
    expect(env.GATEWAY_FILES_ROOT).toBe('/srv/files/');
    // the validator's Unix socket, on a volume both services mount at the same path
    expect(env.GATEWAY_VALIDATOR_SERVERS).toBe('server unix:/run/tollgate/validator.sock max_fails=1 fail_timeout=2s;');
    expect(gw.volumes).toContain('tollgate-socket:/run/tollgate:ro');
    for (const name of ['validator', 'validator-dev', 'validator-supabase']) {
      expect(services[name].volumes).toContain('tollgate-socket:/run/tollgate');
      expect(services[name].environment!.LISTEN_SOCKET).toBe('/run/tollgate/validator.sock');
    }
    expect(env.GATEWAY_APP_SERVERS).toBe(`server upstream:${services.upstream.environment!.DEMO_UPSTREAM_PORT};`);
    // nginx.conf writes its pid and temp files under the prefix: those must be writable.
    expect(gw.tmpfs).toEqual(expect.arrayContaining(['/etc/nginx/conf.d', '/etc/nginx/logs', '/etc/nginx/temp']));
  });

  test('no secret value is written into compose.yaml or the example env files', () => {
    const text = readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8');
    expect(text).not.toMatch(/PASSWORD:\s*[^\s$]/);
    for (const file of ['keys.env.example', '.env.compose.example']) {
      const lines = readFileSync(path.join(ROOT, file), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l));
      for (const line of lines) {
        const [name, value] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
        if (/PASSWORD|SECRET|KEY$/.test(name)) expect({ file, name, value }).toEqual({ file, name, value: '' });
      }
    }
  });
});
