// Configuration reload (SIGHUP): read .env, keys.env and every *_FILE again, parse and check the
// whole configuration, load the keys of any new issuer, then swap config + verifier in one step
// between two decisions. Anything wrong refuses the reload: the running configuration stays,
// every error is logged and tollgate_config_reloads_total{result} counts it. Reloads never overlap.
import type { Logger } from 'pino';
import { configProblems, type Config } from './config';
import type { RawEnv } from './config/env';
import { configHash } from './config/hash';
import { planReload, resolveFiles, RESTART_ONLY, type ConfigStatus, type PinnedValues } from './config/reload';
import { Reading } from './config/read';
import { VARIABLES, type VariableName } from './config/schema';
import { ConfigError } from './errors';
import type { Metrics } from './observability/metrics';
import type { TokenVerifier } from './token/verify';

export type ReloadResult = 'ok' | 'invalid' | 'error';

/** What a reload replaces: the configuration and the verifier made for it (JWKS stores shared where unchanged). */
export interface LiveConfig {
  config: Config;
  verifier: TokenVerifier;
}

export interface ReloaderDeps {
  /** The environment as a start would read it now (loadDotenv: process env + .env + keys.env). */
  readEnv(): RawEnv;
  /** The environment the process started with (to name what a reload changed). */
  startEnv: RawEnv;
  /** The restart-only values the process runs with. */
  pinned: PinnedValues;
  /** The configuration the process started with. */
  config: Config;
  /** The configuration and verifier in use, and the swap that replaces them (http/app.ts). */
  live(): LiveConfig;
  swap(next: LiveConfig): void;
  /** A verifier for `config` sharing `previous`'s unchanged JWKS stores; not started. */
  makeVerifier(config: Config, previous: TokenVerifier): TokenVerifier;
  metrics: Metrics;
  logger: Logger;
}

export interface Reloader {
  /** Reloads now; a call during a reload runs once more after it (the files may have changed again). */
  reload(): Promise<ReloadResult>;
  status(): ConfigStatus;
}

/** Each variable's parsed value as comparable text (kept in memory only, never logged: some are secrets). */
function readingOf(env: RawEnv): Record<string, string> {
  const values = new Reading(env).values as Record<string, unknown>;
  return Object.fromEntries(Object.keys(VARIABLES).map((n) => [n, JSON.stringify(values[n] ?? null)]));
}

export function createReloader(deps: ReloaderDeps): Reloader {
  const { metrics, logger } = deps;
  let status: ConfigStatus = { hash: configHash(deps.config), loadedAt: new Date().toISOString(), restartPending: [] };
  // the values the running configuration was read from (files as they were then), to name what changed
  let lastValues = readingOf(resolveFiles(deps.startEnv));
  let running: Promise<ReloadResult> | undefined;
  let again = false;
  // every result has a series from start-up, so a rate() or an alert sees the first refusal
  for (const result of ['ok', 'invalid', 'error'] as const) metrics.configReloads.inc({ result }, 0);

  const refuse = (result: 'invalid' | 'error', errors: readonly string[]): ReloadResult => {
    metrics.configReloads.inc({ result });
    status = { ...status, lastReload: { at: new Date().toISOString(), result, errors } };
    for (const e of errors) logger.error({ result }, `configuration reload refused: ${e}`);
    logger.error({ result, errors: errors.length, hash: status.hash }, 'configuration reload refused; the running configuration is kept');
    return result;
  };

  async function once(): Promise<ReloadResult> {
    let env: RawEnv;
    let plan: ReturnType<typeof planReload>;
    try {
      env = resolveFiles(deps.readEnv());
      plan = planReload(env, deps.pinned);
    } catch (e) {
      return refuse(
        e instanceof ConfigError ? 'invalid' : 'error',
        e instanceof ConfigError ? configProblems(e).map((p) => p.message) : [(e as Error).message],
      );
    }
    if (!plan.ok)
      return refuse(
        'invalid',
        plan.errors.map((p) => p.message),
      );
    for (const w of plan.warnings) logger.warn({ variable: w.variable }, `UNKNOWN VARIABLE ${w.message}`);
    if (plan.restartPending.length)
      logger.warn(
        { variables: plan.restartPending },
        `configuration reload: ${plan.restartPending.join(', ')} changed; a restart applies them (the running values are kept until then)`,
      );

    const old = deps.live();
    const hash = configHash(plan.config);
    const values = readingOf(env);
    const changed = (Object.keys(values) as VariableName[]).filter((n) => values[n] !== lastValues[n] && !RESTART_ONLY.includes(n));
    if (hash !== status.hash) {
      let verifier: TokenVerifier;
      try {
        verifier = deps.makeVerifier(plan.config, old.verifier);
        verifier.start();
        // A new or changed issuer must have its keys before it decides anything: swapping to an
        // issuer whose JWKS cannot be fetched would refuse every one of its tokens (503).
        await verifier.loadNewKeys();
        const missing = verifier.status().filter((s) => verifier.newIssuers.includes(s.issuer) && !s.usable);
        if (missing.length) {
          verifier.close(old.verifier);
          return refuse(
            'error',
            missing.map((s) => `signing keys of ${s.issuer} cannot be loaded: ${s.lastError ?? 'no usable key'}`),
          );
        }
        deps.swap({ config: plan.config, verifier });
      } catch (e) {
        return refuse('error', [(e as Error).message]);
      }
      old.verifier.close(verifier);
      for (const i of old.config.auth.issuers) {
        if (plan.config.auth.issuers.some((n) => n.issuer === i.issuer)) continue;
        for (const g of [metrics.jwksKeys, metrics.jwksStale, metrics.jwksLastSuccess]) g.remove({ issuer: i.issuer });
      }
      logger.level = plan.config.logLevel;
      metrics.configInfo.remove({ hash: status.hash });
      metrics.configInfo.set({ hash }, 1);
    }
    metrics.configReloads.inc({ result: 'ok' });
    const at = new Date().toISOString();
    logger.info(
      { hash, previous: status.hash === hash ? undefined : status.hash, changed, restartPending: plan.restartPending },
      hash === status.hash ? 'configuration reloaded: unchanged' : 'configuration reloaded',
    );
    status = { hash, loadedAt: hash === status.hash ? status.loadedAt : at, restartPending: plan.restartPending, lastReload: { at, result: 'ok' } };
    lastValues = values;
    return 'ok';
  }

  const reload = (): Promise<ReloadResult> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let r: ReloadResult;
      try {
        do {
          again = false;
          r = await once().catch((e: unknown) => refuse('error', [(e as Error).message]));
        } while (again);
      } finally {
        running = undefined;
      }
      return r;
    })();
    return running;
  };

  return { reload, status: () => status };
}
