// What a configuration reload (SIGHUP) may change. The new environment is parsed completely, as a
// start would parse it; settings bound to what was opened at start-up (the listening socket, the
// quota store, the front's routing, the tracing SDK) keep their running values and are reported as
// waiting for a restart, and the configuration that will actually run is then parsed as a whole
// again, so it too meets every rule (a production rule, say) before it replaces the running one.
import { ConfigError } from '../errors';
import { readVar, type RawEnv } from './env';
import { deploymentProblems } from './deployment';
import { parseConfigWithWarnings, type Config, type ConfigWarning } from './index';
import { configProblems, Reading } from './read';
import { VARIABLES, type VariableName } from './schema';

/** Variables a reload does not apply: their values were used to open something that stays open. */
export const RESTART_ONLY: readonly VariableName[] = Object.freeze([
  'NODE_ENV', // production's rules were checked against everything that was opened
  'HOST',
  'PORT',
  'LISTEN_SOCKET',
  'LISTEN_SOCKET_MODE',
  'AUTH_FRONT', // the listener routes Envoy's path-prefixed checks by it
  'DATABASE_URL',
  'DATA_DIR',
  'DATABASE_POOL_MAX',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'DATABASE_SSL',
  'MIGRATE_ON_START',
  'QUOTA_DEFAULT_DAILY_TICKS', // the store's charge statement was built with it
  'TOLLGATE_TRACING',
] satisfies VariableName[]);

/** The running values of the restart-only variables (as written, `_FILE` contents read), kept at start-up. */
export type PinnedValues = Readonly<Partial<Record<VariableName, string>>>;

export function pinnedValues(env: RawEnv): PinnedValues {
  const out: Partial<Record<VariableName, string>> = {};
  for (const name of RESTART_ONLY) {
    const v = readVar(env, name);
    if (v !== undefined) out[name] = v;
  }
  return Object.freeze(out);
}

/**
 * `env` with every `<NAME>_FILE` of the table replaced by the file's content as `<NAME>`, read once,
 * so that everything a reload parses and compares sees the files at one moment. A variable whose
 * file cannot be read is left as it was, for the parse to report.
 */
export function resolveFiles(env: RawEnv): RawEnv {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of Object.keys(VARIABLES)) {
    if (!env[`${name}_FILE`]) continue;
    try {
      out[name] = readVar(env, name);
      delete out[`${name}_FILE`];
    } catch {
      // reported by the parse, with the same message a start would give
    }
  }
  return out;
}

export type ReloadPlan =
  | { ok: true; config: Config; warnings: ConfigWarning[]; restartPending: VariableName[] }
  | { ok: false; errors: readonly ConfigError[] };

/** The parsed restart-only values of `env` (defaults applied), to compare two environments by meaning. */
function restartValues(env: RawEnv): Record<string, string> {
  const r = new Reading(env, RESTART_ONLY);
  return Object.fromEntries(RESTART_ONLY.map((n) => [n, JSON.stringify(r.values[n] ?? null)]));
}

/**
 * The configuration to run after a reload to `next` (the merged environment, as loadDotenv reads
 * it), given the restart-only values the process runs with. Never throws for a configuration
 * problem: `errors` then lists every one, and the running configuration must be kept.
 */
export function planReload(next: RawEnv, pinned: PinnedValues): ReloadPlan {
  let warnings: ConfigWarning[];
  try {
    // the new configuration on its own: what the next start would run, so it must be valid as a whole
    ({ warnings } = parseConfigWithWarnings(next));
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, errors: configProblems(e) };
    throw e;
  }
  const now = restartValues(pinned);
  const wanted = restartValues(next);
  const restartPending = RESTART_ONLY.filter((n) => now[n] !== wanted[n]);

  const effective: Record<string, string | undefined> = { ...next };
  for (const name of RESTART_ONLY) {
    effective[name] = pinned[name];
    delete effective[`${name}_FILE`];
  }
  try {
    const { config } = parseConfigWithWarnings(effective);
    // what start-up refuses beyond single values (production quotas on an unmigrated embedded store)
    const deployment = deploymentProblems(config);
    if (deployment.length) return { ok: false, errors: deployment };
    return { ok: true, config, warnings, restartPending };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // valid alone, but not with the settings that stay until a restart (e.g. a rule production refuses)
    const kept = `with ${restartPending.join(', ')} kept at the running values until a restart`;
    return { ok: false, errors: configProblems(e).map((p) => new ConfigError(p.variable, `${p.message.slice(p.variable.length + 2)} (${kept})`)) };
  }
}

/** What /api/ready says about the configuration in use. */
export interface ConfigStatus {
  /** SHA-256 of the configuration in use (config/hash.ts), as in tollgate_config_info. */
  readonly hash: string;
  /** When it was loaded: start-up or the last successful reload (ISO 8601). */
  readonly loadedAt: string;
  /** Restart-only variables whose new values wait for a restart (RESTART_ONLY). */
  readonly restartPending: readonly string[];
  /** The last reload, refused ones included, with every error of a refused one. */
  readonly lastReload?: { readonly at: string; readonly result: 'ok' | 'invalid' | 'error'; readonly errors?: readonly string[] };
}
