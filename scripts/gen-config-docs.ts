// Generates .env.example and docs/CONFIGURATION.md from CONFIG_VARIABLES, so neither can drift from
// the code (test/unit/config-docs.test.ts compares the committed files with this output).
//   node dist/scripts/gen-config-docs.js           print both
//   node dist/scripts/gen-config-docs.js --write   write both
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES, type VariableDef } from '../validator/config/schema';

const ROOT = path.resolve(__dirname, fs.existsSync(path.join(__dirname, '..', 'package.json')) ? '..' : '../..');

/** Group order and titles, following the decision pipeline. */
const GROUPS: ReadonlyArray<[VariableDef['group'], string]> = [
  ['server', 'Server'],
  ['auth', 'Issuers and token rules'],
  ['jwks', 'JWKS key fetching'],
  ['supabase', 'Supabase'],
  ['routes', 'Route scopes'],
  ['cache', 'Verified-token cache'],
  ['quota', 'Quota'],
  ['database', 'Database'],
];

/** Start-up refusals with NODE_ENV=production (validator/config/index.ts; tested in config.test.ts). */
const PRODUCTION_REFUSALS = [
  '`AUTH_JWT_SECRET` or `SUPABASE_JWT_SECRET` shorter than 32 bytes.',
  '`SUPABASE_ALLOW_UNCONFIRMED=true`.',
  '`AUTH_ISSUER`, `AUTH_JWKS_URL` or `SUPABASE_URL` with plain `http://` to a host other than `localhost`, `127.0.0.1` or `[::1]`.',
];

/** Refused in every environment. */
const ALWAYS_REFUSED = [
  '`AUTH_MODE` unset or empty: no issuer is configured (tollgate never runs without auth).',
  '`AUTH_MODE` with both `jwks` and `hs256` (they share `AUTH_ISSUER`; Supabase HS256 tokens go through `supabase`).',
  '`AUTH_JWT_SECRET` with `AUTH_MODE=jwks`, or `AUTH_JWKS_URL` with `AUTH_MODE=hs256`: an HMAC secret is never accepted for an asymmetric issuer and vice versa.',
  '`AUTH_ALGORITHMS` naming anything but an asymmetric algorithm (`HS256`, `none`, …).',
  '`SUPABASE_ANON_KEY` that is a service-role key (its JWT payload says `role: service_role`).',
  'Both `<NAME>` and `<NAME>_FILE` set, or a `<NAME>_FILE` that cannot be read.',
  'Any value that does not parse: integers out of range, booleans other than `true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off`, an unknown time zone, a `DATABASE_URL` that is not `postgres://`, an `AUTH_AUDIENCE` list with no audience, route rules that are not valid JSON, a route path not in normal form (`/api//x`, `/api/x/../y`, `%61`, a query).',
];

const byGroup = (group: VariableDef['group']) => CONFIG_VARIABLES.filter((v) => v.group === group);

/** `.env.example`: every variable with its doc as a comment and its default; secrets left empty. */
export function renderEnvExample(): string {
  const out = [
    '# tollgate validator configuration: every variable, its default and meaning.',
    '# Generated from validator/config/schema.ts by scripts/gen-config-docs.ts; do not edit by hand.',
    '# Copy to .env (settings) and keys.env (secrets) in the working directory; the real environment',
    '# wins over both. An empty value means "unset" (the default applies).',
    '# Every variable also accepts <NAME>_FILE: a path whose content is the value (Docker/Kubernetes secrets).',
    '# See docs/CONFIGURATION.md for what production refuses at start-up.',
  ];
  for (const [group, title] of GROUPS) {
    out.push('', `# --- ${title} ---`);
    for (const v of byGroup(group)) {
      out.push(`# ${v.doc}${v.secret ? ' Secret: put it in keys.env or use ' + v.name + '_FILE.' : ''}`);
      out.push(`${v.name}=${v.secret ? '' : (v.default ?? '')}`);
    }
  }
  return out.join('\n') + '\n';
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** `docs/CONFIGURATION.md`: a table per group, the `_FILE` note and the start-up refusals. */
export function renderConfigurationMd(): string {
  const out = [
    '# Configuration',
    '',
    '<!-- Generated from validator/config/schema.ts by scripts/gen-config-docs.ts (`npm run build && node dist/scripts/gen-config-docs.js --write`); do not edit by hand. -->',
    '',
    'The validator reads its configuration once, at start-up, from the environment plus `.env` and `keys.env` in the working directory (the real environment wins). A bad value stops it with a message that names the variable and the fix; nothing here is checked per request. An empty value counts as unset. [`.env.example`](../.env.example) lists every variable with its default.',
    '',
    '**Every variable also accepts `<NAME>_FILE`**: a path whose content is the value, one trailing newline trimmed (Docker and Kubernetes secrets). Setting both `<NAME>` and `<NAME>_FILE` is an error.',
  ];
  for (const [group, title] of GROUPS) {
    out.push('', `## ${title}`, '', '| Variable | Default | Meaning |', '| --- | --- | --- |');
    for (const v of byGroup(group)) {
      const def = v.default === undefined ? '—' : v.default === '' ? '(empty)' : `\`${v.default}\``;
      out.push(`| \`${v.name}\` | ${cell(def)} | ${cell(v.doc)}${v.secret ? ' **Secret.**' : ''} |`);
    }
  }
  out.push('', '## Start-up refusals', '', 'With `NODE_ENV=production` the validator refuses to start (exit code 2, message naming the variable) when:', '');
  for (const r of PRODUCTION_REFUSALS) out.push(`- ${r}`);
  out.push('', 'In every environment it refuses:', '');
  for (const r of ALWAYS_REFUSED) out.push(`- ${r}`);
  return out.join('\n') + '\n';
}

/** Generated files, relative to the repository root. */
export const GENERATED: ReadonlyArray<[file: string, render: () => string]> = [
  ['.env.example', renderEnvExample],
  ['docs/CONFIGURATION.md', renderConfigurationMd],
];

if (require.main === module) {
  const write = process.argv.includes('--write');
  for (const [file, render] of GENERATED) {
    if (write) {
      fs.writeFileSync(path.join(ROOT, file), render());
      console.log(`wrote ${file}`);
    } else {
      process.stdout.write(`==> ${file} <==\n${render()}\n`);
    }
  }
}
