// Builds a real validator app in-process for supertest: real config parsing, real verifier,
// real embedded Postgres store (or a server via DATABASE_URL), and captured log lines.
import type { RequestListener } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { parseConfig, type Config } from '../../validator/config';
import { createApp } from '../../validator/http/app';
import { createLogger } from '../../validator/observability/logger';
import { createMetrics, type Metrics } from '../../validator/observability/metrics';
import { openStore } from '../../validator/store';
import type { QuotaStore } from '../../validator/store/types';
import { TokenVerifier } from '../../validator/token/verify';

export interface TestApp {
  app: Express;
  /** The request listener production's server runs (validate before Express): prefer it in tests. */
  listener: RequestListener;
  config: Config;
  verifier: TokenVerifier;
  store?: QuotaStore;
  metrics: Metrics;
  logger: Logger;
  /** Every JSON log line written so far. */
  logs: string[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Open no store at all (pure token tests). */
  noStore?: boolean;
  /** Reuse an already open store (several apps on one database). */
  store?: QuotaStore;
  now?: () => Date;
  fetch?: typeof fetch;
}

export async function buildTestApp(env: Record<string, string | undefined>, opts: TestAppOptions = {}): Promise<TestApp> {
  const config = parseConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: 'memory://', ...env });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, { write: (s: string) => void logs.push(s) });
  const metrics = createMetrics({ defaults: false });
  const ownStore = !opts.store && !opts.noStore;
  const store = opts.store ?? (opts.noStore ? undefined : await openStore({ ...config.database, migrate: config.database.migrateOnStart }));
  const verifier = new TokenVerifier({ config, metrics, log: logger, fetch: opts.fetch });
  verifier.start();
  const { app, listener } = createApp({ config, verifier, store, metrics, logger, now: opts.now });
  return {
    app,
    listener,
    config,
    verifier,
    store,
    metrics,
    logger,
    logs,
    async close() {
      verifier.close();
      if (ownStore) await store?.close();
    },
  };
}
