// The Express app: /api/auth/validate (the decision), /api/health, /api/ready, /metrics.
// createApp takes every dependency; server.ts wires the real ones, tests pass real ones too.
import type { RequestListener } from 'node:http';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import pinoHttp from 'pino-http';
import type { Config } from '../config';
import { configHash } from '../config/hash';
import type { ConfigStatus } from '../config/reload';
import type { Metrics } from '../observability/metrics';
import { tracedMethods, type Tracing } from '../observability/tracing';
import { createPipeline, type Pipeline } from '../pipeline';
import type { LiveConfig } from '../reload';
import type { QuotaStore } from '../store/types';
import type { TokenVerifier } from '../token/verify';
import { createListener } from './listener';
import { readiness } from './ready';
import { createValidateHandler, requestId, VALIDATE_PATH } from './validate';

export interface AppDeps {
  config: Config;
  verifier: TokenVerifier;
  store?: QuotaStore;
  metrics: Metrics;
  logger: Logger;
  /** Clock for quota days (tests). */
  now?: () => Date;
  /** OpenTelemetry spans (TOLLGATE_TRACING=otlp); undefined: none, at no cost. */
  tracing?: Tracing;
  /** The configuration's state for /api/ready (hash, reloads); default: the hash of `config`. */
  configStatus?: () => ConfigStatus;
}

// The store's plumbing, called by probes and shutdown rather than by a decision: no span.
const STORE_PLUMBING = ['ping', 'poolStats', 'close', 'kind', 'target'];

/**
 * `v` with verify() in a span of its own (tollgate.token.verify, beside the JWKS fetch and store
 * spans under the decision): which issuer and algorithm, and whether it failed; never the token.
 */
function tracedVerifier(v: TokenVerifier, tracing: Tracing): TokenVerifier {
  const verify = (token: string) =>
    tracing.stage('tollgate.token.verify', {}, async (span) => {
      const verified = await v.verify(token);
      span.set({ 'tollgate.issuer': verified.issuer.issuer, 'tollgate.token.alg': verified.alg });
      return verified;
    });
  // everything else (acceptsOpaque, the caches) is the verifier's own
  return Object.create(v, { verify: { value: verify } }) as TokenVerifier;
}

/**
 * The app and the server's request listener. `listener` serves /api/auth/validate before Express
 * (same handler as the Express route below) and hands everything else to `app`; server.ts listens
 * with it. `app` alone (supertest, or mounting it elsewhere) answers identically, only slower.
 */
export function createApp(deps: AppDeps): {
  app: Express;
  pipeline: Pick<Pipeline, 'decide'>;
  listener: RequestListener;
  swap(next: LiveConfig): void;
  live(): LiveConfig;
} {
  const { config, store, metrics, logger, tracing } = deps;
  const stageStore = tracing && store ? tracedMethods(store, 'tollgate.store', tracing, { 'db.system.name': 'postgresql' }, STORE_PLUMBING) : store;
  const build = (l: LiveConfig) =>
    createPipeline({
      config: l.config,
      verifier: tracing ? tracedVerifier(l.verifier, tracing) : l.verifier,
      store: stageStore,
      metrics,
      log: logger,
      now: deps.now,
    });
  let live: LiveConfig = { config, verifier: deps.verifier };
  let current = build(live);
  // A decision reads `current` once, as it starts, and runs to its end with that pipeline's config
  // and verifier: swap() only changes what the next decision gets, never one that is running.
  const pipeline: Pick<Pipeline, 'decide'> = { decide: (input) => current.decide(input) };
  const swap = (next: LiveConfig): void => {
    const built = build(next); // may throw: then nothing was swapped
    live = next;
    current = built;
  };
  const initial: ConfigStatus = { hash: configHash(config), loadedAt: new Date().toISOString(), restartPending: [] };
  const configStatus = deps.configStatus ?? (() => initial);
  metrics.configInfo.set({ hash: configStatus().hash }, 1);
  // AUTH_FRONT needs a restart (config/reload.ts): the front read here stays right.
  const validate = createValidateHandler({ pipeline, metrics, logger, front: config.auth.front, tracing });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // a decision never has an entity tag (a 304 would become a 500 in NGINX)
  app.set('trust proxy', false);

  // Before pino-http: the decision handler writes its own log line and X-Request-Id.
  app.all(VALIDATE_PATH, (req, res) => validate(req, res));
  // Envoy's ext_authz appends the client's path to the prefix.
  if (config.auth.front === 'envoy') app.all(`${VALIDATE_PATH}/*path`, (req, res) => validate(req, res));

  // Probes, metrics and 404s: request id header; their lines would drown the decisions, so no auto-logging.
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const id = requestId(req);
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: false,
    }),
  );

  const probe = express.Router();
  probe.use(helmet());
  probe.get('/api/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  probe.get('/api/ready', async (_req, res) => {
    const r = await readiness(live.verifier, store, metrics, live.config);
    res
      .status(r.ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ ...r, config: configStatus() });
  });
  probe.get('/metrics', async (_req, res) => {
    if (store) {
      const p = store.poolStats();
      metrics.poolConnections.set({ state: 'total' }, p.total);
      metrics.poolConnections.set({ state: 'idle' }, p.idle);
      metrics.poolConnections.set({ state: 'waiting' }, p.waiting);
    }
    metrics.verifiedTokenCacheSize.set(live.verifier.cacheSize);
    res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(probe);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  return { app, pipeline, listener: createListener(validate, app, config.auth.front), swap, live: () => live };
}
