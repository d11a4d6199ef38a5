// `tollgate check [--json]`: is this configuration fit to roll out? Parses all of it (every problem
// at once, as the validator's start-up would report them), then probes what it names: issuer
// discovery, each JWKS, the IdP's clock, the database (reachable, migrated, RLS on) and, in a
// checkout with NGINX installed, `nginx -t` on the rendered gateway config.
// Exit status: 0 fit, 2 configuration errors, 3 a probe failed.
import { parseArgs } from 'node:util';
import { configProblems, parseConfigWithWarnings, type Config, type ConfigWarning } from '../config';
import { loadDotenv, type RawEnv } from '../config/env';
import { ConfigError } from '../errors';
import { probeDatabase } from '../probes/database';
import { probeIntrospection } from '../probes/introspection';
import { probeIssuers } from '../probes/issuer';
import { probeNginx } from '../probes/nginx';
import { deploymentProblems } from '../probes/startup';
import type { ProbeResult } from '../probes/types';
import { printable, printableJson, type Out } from './terminal';

const CHECK_USAGE = `usage: tollgate check [--json] [--no-probes]

Reads the configuration as the validator does (.env, keys.env, the environment, *_FILE secrets) and
reports every problem at once; then probes the issuers' discovery and JWKS (keys, algorithms, use),
the IdP's clock, the database (reachable, migrations applied, row-level security on) and, in a
checkout with NGINX installed, \`nginx -t\` on the gateway templates rendered with this environment.
  --json        one JSON document on stdout
  --no-probes   the configuration only
Exit status: 0 ok, 2 configuration errors, 3 a probe failed.`;

export interface CheckReport {
  ok: boolean;
  exitCode: 0 | 2 | 3;
  configuration: { ok: boolean; errors: Array<{ variable: string; message: string }>; warnings: ConfigWarning[] };
  probes: ProbeResult[];
}

export interface CheckOptions {
  probes?: boolean;
  fetch?: typeof fetch;
}

/** Parses `env`, then (when it parses) runs every probe in parallel. */
export async function runCheck(env: RawEnv, o: CheckOptions = {}): Promise<CheckReport> {
  let config: Config | undefined;
  let warnings: ConfigWarning[] = [];
  let errors: ConfigError[] = [];
  try {
    ({ config, warnings } = parseConfigWithWarnings(env));
    errors = deploymentProblems(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    errors = [...configProblems(e)];
  }
  const configuration = { ok: errors.length === 0, errors: errors.map((e) => ({ variable: e.variable, message: e.message })), warnings };
  if (errors.length || !config) return { ok: false, exitCode: 2, configuration, probes: [] };
  if (o.probes === false) return { ok: true, exitCode: 0, configuration, probes: [] };
  const [issuers, introspection, database] = await Promise.all([probeIssuers(config, o.fetch), probeIntrospection(config, o.fetch), probeDatabase(config)]);
  const probes = [...issuers, ...introspection, database, probeNginx(env)];
  const ok = probes.every((p) => p.ok);
  return { ok, exitCode: ok ? 0 : 3, configuration, probes };
}

const MARK = (p: ProbeResult) => (p.skipped ? '–' : p.ok ? '✓' : '✗');

function print(r: CheckReport, out: Out): void {
  const p = (s: string) => out(printable(s));
  const c = r.configuration;
  const warnings = c.warnings.length ? `, ${c.warnings.length} warning(s)` : '';
  const errors = `${c.errors.length} error${c.errors.length > 1 ? 's' : ''}`;
  p(c.ok ? `✓ configuration  parsed${warnings}` : `✗ configuration  ${errors}; fix them all, then check again`);
  for (const e of c.errors) p(`    ${e.message}`);
  for (const w of c.warnings) p(`    warning: ${w.message}`);
  const width = Math.max(0, ...r.probes.map((x) => x.name.length));
  for (const x of r.probes) {
    p(`${MARK(x)} ${x.name.padEnd(width)}  ${x.detail.startsWith(x.target) ? x.detail : `${x.target}: ${x.detail}`}`);
    if (x.hint && !x.ok) p(`  ${' '.repeat(width)}  → ${x.hint}`);
  }
  p(r.ok ? 'ok' : r.exitCode === 2 ? 'configuration errors (exit 2)' : `${r.probes.filter((x) => !x.ok).length} probe(s) failed (exit 3)`);
}

export async function check(args: string[], io: { env: RawEnv; out: Out; err: Out; fetch?: typeof fetch }): Promise<number> {
  let values: { json?: boolean; 'no-probes'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { json: { type: 'boolean' }, 'no-probes': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    io.err(`tollgate check: ${(e as Error).message}\n\n${CHECK_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(CHECK_USAGE);
    return 0;
  }
  const r = await runCheck(io.env, { probes: !values['no-probes'], fetch: io.fetch });
  if (values.json) io.out(printableJson(JSON.stringify(r, null, 2)));
  else print(r, io.out);
  return r.exitCode;
}

export function main(args: string[]): Promise<number> {
  return check(args, { env: loadDotenv(), out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) });
}
