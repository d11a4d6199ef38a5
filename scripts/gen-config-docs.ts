// Generates .env.example and docs/CONFIGURATION.md from CONFIG_VARIABLES, so neither can drift from
// the code (test/unit/config-docs.test.ts compares the committed files with this output).
//   node dist/scripts/gen-config-docs.js           print both
//   node dist/scripts/gen-config-docs.js --write   write both
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT as ROOT } from '../devkit/root';
import { CONFIG_VARIABLES, type VariableDef } from '../validator/config/schema';
import { TOOL_VARIABLES } from '../validator/config/front-variables';
import { CHECKED_PREFIXES } from '../validator/config/unknown';

/** Group order and titles, following the decision pipeline. */
const GROUPS: ReadonlyArray<[VariableDef['group'], string]> = [
  ['server', 'Server'],
  ['auth', 'Issuers and token rules'],
  ['jwks', 'JWKS key fetching'],
  ['introspection', 'Token introspection (RFC 7662)'],
  ['dpop', 'DPoP: proof-of-possession tokens (RFC 9449)'],
  ['supabase', 'Supabase'],
  ['routes', 'Route rules'],
  ['cache', 'Verified-token cache (the `AUTH_DECISION_CACHE_*` names are kept for compatibility)'],
  ['quota', 'Quota'],
  ['database', 'Database'],
];

/** Start-up refusals with NODE_ENV=production (validator/config/issuers.ts and unknown.ts; tested in config.test.ts). */
const PRODUCTION_REFUSALS = [
  "`AUTH_JWT_SECRET`, `SUPABASE_JWT_SECRET` or an `AUTH_ISSUERS` entry's `hmacSecret` shorter than 32 bytes.",
  '`SUPABASE_ALLOW_UNCONFIRMED=true`.',
  "`AUTH_INTROSPECTION_URL` (or an entry's `introspection.url`) with plain `http://` to a host other than the loopback: the token and the client secret would travel in clear.",
  "`AUTH_ISSUER`, `AUTH_JWKS_URL`, `SUPABASE_URL` or an `AUTH_ISSUERS` entry's `issuer` (when keys are discovered), `jwksUrl` or `url` with plain `http://` to a host other than `localhost`, `127.0.0.1` or `[::1]`.",
  '`AUTH_PUBLIC_ORIGIN` with plain `http://`: DPoP proofs would travel in clear.',
  "A variable under one of tollgate's prefixes that no part of tollgate reads (see [Unknown variables](#unknown-variables)).",
];

/** Refused in every environment. */
const ALWAYS_REFUSED = [
  '`AUTH_MODE` and `AUTH_ISSUERS` both unset or empty: no issuer is configured (tollgate never runs without auth).',
  "Two issuers with the same `iss` (in `AUTH_ISSUERS`, or an entry and the shorthand): a token's `iss` must choose one issuer.",
  "An `AUTH_ISSUERS` entry with an unknown field, a missing `issuer` or `audience` (a Supabase entry: `url`), an unknown `preset` or algorithm, an `hmacSecret` on a `jwks` issuer, or a claim path that is not a dotted string or key list; every entry's problems are listed at once.",
  '`AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_JWKS_URL`, `AUTH_JWT_SECRET` or `AUTH_PRESET` set with `AUTH_ISSUERS` but without `AUTH_MODE` (they would be ignored).',
  '`AUTH_MODE` with both `jwks` and `hs256` (they share `AUTH_ISSUER`; Supabase HS256 tokens go through `supabase`).',
  '`AUTH_JWT_SECRET` with `AUTH_MODE=jwks`, or `AUTH_JWKS_URL` with `AUTH_MODE=hs256`: an HMAC secret is never accepted for an asymmetric issuer and vice versa.',
  "`AUTH_ALGORITHMS` (or an entry's `algorithms`) naming anything but RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA (`HS256`, `none`, `rs256`, …).",
  '`SUPABASE_ANON_KEY` that is a service-role key (its JWT payload says `role: service_role`).',
  'An `AUTH_ROUTE_RULES` rule with a key other than `scopes`, `roles`, `claims` and `any` (a misspelt key would leave the route open), an empty `any`, a claim value that is not a string, number or boolean; `AUTH_DEFAULT_POLICY=deny` without a single rule.',
  'An `AUTH_INTROSPECTION_*` variable without `AUTH_INTROSPECTION_URL`, or without the `AUTH_ISSUER` issuer to apply to; the URL without `AUTH_INTROSPECTION_CLIENT_ID` and `_CLIENT_SECRET`; an `introspection` field an entry does not know; more than one issuer accepting opaque tokens.',
  'DPoP on (`AUTH_DPOP`, an entry\'s `"dpop"`) without `AUTH_PUBLIC_ORIGIN`, or an `AUTH_PUBLIC_ORIGIN` that is not a bare origin; `AUTH_DPOP` without the `AUTH_ISSUER` issuer; `AUTH_DPOP_NONCE` without DPoP, or without an `AUTH_DPOP_NONCE_SECRET` of 32 bytes or more; `"dpop"` on a Supabase entry.',
  'Both `<NAME>` and `<NAME>_FILE` set, or a `<NAME>_FILE` that cannot be read or names an empty file.',
  'Any value that does not parse: integers out of range, booleans other than `true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off`, an unknown time zone, a `DATABASE_URL` that is not `postgres://`, an `AUTH_AUDIENCE` list with no audience, route rules that are not valid JSON, a route path not in normal form (`/api//x`, `/api/x/../y`, `%61`, a query).',
];

const byGroup = (group: VariableDef['group']) => CONFIG_VARIABLES.filter((v) => v.group === group);

/** What unset means for a variable without a default (the Default column, the .env.example comment). */
function unsetMeaning(v: VariableDef): string {
  return v.required === undefined ? 'optional' : v.required === 'always' ? 'required' : `required ${v.required}`;
}

/**
 * `.env.example`: every variable with its doc as a comment. A variable with a default is written
 * commented out with that default (uncomment to change it); one without is written empty, which
 * means unset. So `cp .env.example .env` changes nothing, and `npm start` runs with it.
 */
export function renderEnvExample(): string {
  const out = [
    '# tollgate validator configuration: every variable, its default and meaning.',
    '# Generated from validator/config/schema.ts by scripts/gen-config-docs.ts; do not edit by hand.',
    '# Copy to .env (settings) and keys.env (secrets) in the working directory; the real environment',
    '# wins over both. An empty value means "unset" (the default applies); `# NAME=value` shows a default.',
    '# Every variable also accepts <NAME>_FILE: a path whose content is the value (Docker/Kubernetes secrets).',
    '# See docs/CONFIGURATION.md for what production refuses at start-up.',
  ];
  for (const [group, title] of GROUPS) {
    out.push('', `# --- ${title} ---`);
    for (const v of byGroup(group)) {
      const note = v.default === undefined ? ` (${unsetMeaning(v)})` : '';
      out.push(`# ${v.doc}${note}${v.secret ? ' Secret: put it in keys.env or use ' + v.name + '_FILE.' : ''}`);
      out.push(v.default === undefined ? `${v.name}=` : `# ${v.name}=${v.default}`);
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
    'The validator reads its configuration once, at start-up, from the environment plus `.env` and `keys.env` in the working directory (the real environment wins). Bad values stop it (exit code 2) with every problem listed at once, each naming the variable and the fix; nothing here is checked per request. An empty value counts as unset, everywhere: in the environment, in `.env` and `keys.env` (an empty line there does not hide a value from the other file), and for `<NAME>_FILE`. [`.env.example`](../.env.example) lists every variable with its default; `cp .env.example .env` changes nothing until you edit it.',
    '',
    '**Every variable also accepts `<NAME>_FILE`**: a path whose content is the value, one trailing newline trimmed (Docker and Kubernetes secrets). Setting both `<NAME>` and `<NAME>_FILE` is an error, and so is a file that is empty: that is a mounting mistake, and taking the default instead could silently drop every route rule or move the quotas to the embedded database.',
  ];
  for (const [group, title] of GROUPS) {
    out.push('', `## ${title}`, '', '| Variable | Default | Meaning |', '| --- | --- | --- |');
    for (const v of byGroup(group)) {
      const def = v.default === undefined ? unsetMeaning(v) : v.default === '' ? '(empty)' : `\`${v.default}\``;
      out.push(`| \`${v.name}\` | ${cell(def)} | ${cell(v.doc)}${v.secret ? ' **Secret.**' : ''} |`);
    }
  }
  out.push('', '## Start-up refusals', '', 'With `NODE_ENV=production` the validator refuses to start (exit code 2, message naming the variable) when:', '');
  for (const r of PRODUCTION_REFUSALS) out.push(`- ${r}`);
  out.push('', 'In every environment it refuses:', '');
  for (const r of ALWAYS_REFUSED) out.push(`- ${r}`);
  out.push(
    '',
    '## Unknown variables',
    '',
    `A variable whose name starts with ${CHECKED_PREFIXES.map((p) => `\`${p}\``).join(', ')} and that no part of tollgate reads is most likely a typo (\`AUTH_ALLOWED_CLIENT=gateway\` would otherwise leave every client allowed). With \`NODE_ENV=production\` the validator refuses to start; otherwise it logs a warning at start-up. Either way the message suggests the closest known name ("did you mean \`AUTH_ALLOWED_CLIENTS\`?"). An empty variable is unset and never reported.`,
    '',
    `Known are the variables above and their \`<NAME>_FILE\`, the gateway variables of the NGINX templates and the Caddyfile (\`GATEWAY_*\`, \`CORS_ORIGINS\`, \`CADDY_*\`, listed in validator/config/front-variables.ts), and the few that deployment files and the test harness read (${TOOL_VARIABLES.map((n) => `\`${n}\``).join(', ')}). Generic names (\`NODE_ENV\`, \`HOST\`, \`PORT\`, \`LOG_LEVEL\`) belong to every program and are not checked, nor is Caddy's \`CADDY_\` namespace. The variables Kubernetes injects for each Service (\`<SERVICE>_SERVICE_HOST\`, \`<SERVICE>_SERVICE_PORT…\`, \`<SERVICE>_PORT=tcp://…\`, \`<SERVICE>_PORT_<n>_TCP…\`: the Service \`tollgate-validator\` yields \`TOLLGATE_VALIDATOR_*\`) are recognised and left alone.`,
  );
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
