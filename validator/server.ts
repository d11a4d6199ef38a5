// Process entry: load config, wire real dependencies, listen, drain on SIGTERM.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ConfigErrors, configProblems, parseConfigWithWarnings, type Config } from './config';
import { loadDotenv, type RawEnv } from './config/env';
import { ConfigError } from './errors';
import { createApp } from './http/app';
import { listenUnix } from './http/unix-socket';
import { pinnedValues } from './config/reload';
import { createLogger } from './observability/logger';
import { createMetrics } from './observability/metrics';
import { startTracing } from './observability/start-tracing';
import { createReloader, type ReloadResult } from './reload';
import { watchStore } from './http/ready';
import { checkStoreAtStart, deploymentProblems } from './probes/startup';
import { openStore } from './store';
import type { QuotaStore } from './store/types';
import { TokenVerifier } from './token/verify';

export interface RunningValidator {
  config: Config;
  server: Server;
  port: number;
  /** The LISTEN_SOCKET server, when one is configured. */
  socketServer?: Server;
  verifier: TokenVerifier;
  store: QuotaStore;
  logger: Logger;
  /** Reloads the configuration (what SIGHUP does): applied between two decisions, or refused and counted. */
  reload(): Promise<ReloadResult>;
  /**
   * What SIGUSR2 does: fetches every issuer's signing keys now, drops the decisions made with keys
   * that left, forgets cached introspection answers; logs each issuer's outcome.
   */
  refreshKeys(): Promise<void>;
  /** Stops accepting, drains in-flight requests (up to SHUTDOWN_GRACE_MS), closes the store. */
  close(): Promise<void>;
}

/**
 * Node's limit on a request's header section (request line included), bytes. Its 16 KiB default is
 * less than what a front forwards from one legal client request: NGINX accepts header lines of up to
 * 8 KiB each (large_client_header_buffers 4 8k), so Authorization + X-Original-URI + X-Max-Ticks
 * alone reach ~24 KiB, and ingress-nginx or Caddy forward every client header (up to 32 KiB). Past
 * the limit Node answers 431 itself, which a front reports as the validator failing (502).
 */
const MAX_HEADER_BYTES = 64 * 1024;

/** Longer than NGINX's upstream keepalive_timeout (60 s): NGINX closes an idle connection first, so it never reuses one Node closed. */
const KEEP_ALIVE_MS = 65_000;

/** Starts a validator from an environment (already merged with .env / keys.env). */
export async function startValidator(env: RawEnv, opts: { logger?: Logger; now?: () => Date; readEnv?: () => RawEnv } = {}): Promise<RunningValidator> {
  const { config, warnings } = parseConfigWithWarnings(env);
  const deployment = deploymentProblems(config);
  if (deployment.length) throw new ConfigErrors(deployment);
  const logger = opts.logger ?? createLogger(config.logLevel);
  // Outside production an unknown variable only warns; say it loudly, it is most likely a typo.
  for (const w of warnings) logger.warn({ variable: w.variable }, `UNKNOWN VARIABLE ${w.message}`);
  const metrics = createMetrics();
  if (config.quota.failOpen) logger.warn('QUOTA_FAIL_OPEN=true: charged routes pass uncharged while the database is unavailable');
  if (config.supabase?.allowUnconfirmed) logger.warn('SUPABASE_ALLOW_UNCONFIRMED=true: unconfirmed Supabase users pass (development only)');

  const store = await openStore({ ...config.database, migrate: config.database.migrateOnStart }, logger);
  // Refuses a database it cannot work with (migrations missing); tollgate_store_up is true from here on.
  let storeWatch: { stop(): void };
  try {
    await checkStoreAtStart(config, store, logger, metrics);
    storeWatch = await watchStore(store, metrics, logger, { now: false });
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  const tracing = await startTracing(config.tracing, logger);
  // JWKS and discovery fetches in a span each when tracing is on (the verifier's only network calls)
  const jwksFetch = tracing?.tracedFetch('tollgate.jwks.fetch');
  const verifier = new TokenVerifier({ config, metrics, log: logger, fetch: jwksFetch });
  verifier.start();
  const reloader = createReloader({
    readEnv: opts.readEnv ?? (() => env),
    startEnv: env,
    pinned: pinnedValues(env),
    config,
    live: () => app.live(),
    swap: (next) => app.swap(next),
    makeVerifier: (c, previous) => new TokenVerifier({ config: c, metrics, log: logger, fetch: jwksFetch, previous }),
    metrics,
    logger,
  });
  const app = createApp({ config, verifier, store, metrics, logger, now: opts.now, tracing, configStatus: reloader.status });
  const { listener } = app;

  // The listener answers /api/auth/validate before Express's router: the router was a large part of a
  // cached decision's cost (http/validate.ts, docs/PERFORMANCE.md).
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, listener).listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  let socketServer: Server | undefined;
  if (config.listenSocket) {
    try {
      socketServer = await listenUnix(config.listenSocket.path, config.listenSocket.mode, listener, { maxHeaderSize: MAX_HEADER_BYTES });
    } catch (e) {
      await new Promise((resolve) => server.close(resolve));
      app.live().verifier.close();
      await tracing?.shutdown();
      storeWatch.stop();
      await store.close().catch(() => undefined);
      throw e;
    }
  }
  const servers = socketServer ? [server, socketServer] : [server];
  for (const s of servers) {
    s.keepAliveTimeout = KEEP_ALIVE_MS;
    s.headersTimeout = KEEP_ALIVE_MS + 1000; // Node wants it above keepAliveTimeout
  }
  const port = (server.address() as AddressInfo).port;
  logger.info(
    {
      port,
      host: config.host,
      socket: config.listenSocket?.path,
      env: config.env,
      issuers: config.auth.issuers.map((i) => `${i.kind}:${i.issuer}`),
      store: store.kind,
    },
    'listening',
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const { shutdownGraceMs } = app.live().config; // reloadable
      logger.info({ graceMs: shutdownGraceMs }, 'draining');
      // closing the socket server also removes its file (libuv unlinks it)
      const drained = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      for (const s of servers) s.closeIdleConnections();
      const timer = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), shutdownGraceMs);
      await drained;
      clearTimeout(timer);
      app.live().verifier.close();
      await tracing?.shutdown();
      storeWatch.stop();
      await store.close();
      logger.info('stopped');
    })());
  const refreshKeys = async () => {
    const issuers = await app.live().verifier.forceRefresh();
    const failed = issuers.filter((i) => !i.ok).length;
    logger[failed ? 'warn' : 'info'](
      { issuers, failed },
      failed ? 'forced key refresh: some issuers failed; their cached keys stay' : 'forced key refresh done',
    );
  };
  return { config, server, port, socketServer, verifier, store, logger, reload: reloader.reload, refreshKeys, close };
}

async function main(): Promise<void> {
  const env = loadDotenv();
  let running: RunningValidator | undefined;
  // Handlers go in before start-up: a supervisor that stops us on reading the `listening` line must
  // find a drain (which unlinks the socket file), not the default disposition that can kill the
  // process between that line and a later registration. Signal callbacks run as their own event-loop
  // turns, so one that finds `running` unset came before start-up ended: it exits as the default
  // would, keeping a slow start (an unreachable store) interruptible.
  let stopping: string | undefined;
  const stop = (signal: string) => {
    stopping = signal;
    if (!running) process.exit(signal === 'SIGINT' ? 130 : 143);
    running.logger.info({ signal }, 'signal received');
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // Node's default for SIGHUP is to exit; here it reloads the configuration (docs/OPERATIONS.md).
  // During start-up there is nothing to reload yet: the start itself reads the files.
  process.on('SIGHUP', () => {
    if (!running || stopping) return;
    running.logger.info({ signal: 'SIGHUP' }, 'signal received: reloading the configuration');
    void running.reload();
  });
  // Node's default for SIGUSR2 is to exit; here it forces a key refresh (docs/OPERATIONS.md). A signal
  // rather than an HTTP endpoint: nothing on the network can make tollgate hammer the IdP with it,
  // and a "loopback only" check could not tell an operator from NGINX or a sidecar in the same pod.
  process.on('SIGUSR2', () => {
    if (!running || stopping) return;
    running.logger.info({ signal: 'SIGUSR2' }, 'signal received: refreshing signing keys');
    void running.refreshKeys();
  });
  try {
    // SIGHUP reads .env, keys.env and every *_FILE again, as a start would (validator/reload.ts)
    running = await startValidator(env, { readEnv: () => loadDotenv() });
  } catch (e) {
    if (e instanceof ConfigError) {
      // every problem on its own line, so one restart fixes them all
      const problems = configProblems(e);
      for (const p of problems) process.stderr.write(`tollgate: configuration error: ${p.message}\n`);
      if (problems.length > 1) process.stderr.write(`tollgate: ${problems.length} configuration errors; fix them all, then start again\n`);
      process.exit(2);
    }
    process.stderr.write(`tollgate: cannot start: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main();
