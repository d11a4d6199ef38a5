// The Express app: /api/auth/validate (the decision), /api/health, /api/ready, /metrics.
// createApp takes every dependency; server.ts wires the real ones, tests pass real ones too.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import pinoHttp from 'pino-http';
import type { Config } from '../config';
import type { Metrics } from '../observability/metrics';
import { createPipeline, type Decision, type DecisionInput, type Pipeline } from '../pipeline';
import type { QuotaStore } from '../quota/types';
import type { TokenVerifier } from '../token/verify';
import { readiness } from './ready';

export interface AppDeps {
  config: Config;
  verifier: TokenVerifier;
  store?: QuotaStore;
  metrics: Metrics;
  logger: Logger;
  /** Clock for quota days (tests). */
  now?: () => Date;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Counts raw Authorization headers: Node keeps only the first of duplicates in req.headers. */
function authorizationCount(req: IncomingMessage): number {
  let n = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') n++;
  return n;
}

/** The DecisionInput for a validate request. Without X-Original-*, the request itself is judged. */
export function decisionInput(req: IncomingMessage): DecisionInput {
  return {
    authorization: header(req, 'authorization'),
    authorizationCount: authorizationCount(req),
    method: header(req, 'x-original-method') ?? req.method ?? 'GET',
    uri: header(req, 'x-original-uri') ?? req.url ?? '/',
    maxTicks: header(req, 'x-max-ticks'),
  };
}

/** Writes a decision: status, headers, an empty body on 200 and a short JSON reason otherwise. */
export function writeDecision(res: ServerResponse, d: Decision): void {
  res.statusCode = d.status;
  for (const [k, v] of Object.entries(d.headers)) res.setHeader(k, v);
  // A decision is about one request at one time; nothing between NGINX and us may cache it.
  res.setHeader('Cache-Control', 'no-store');
  if (d.granted) {
    res.end();
    return;
  }
  const body = JSON.stringify({ error: d.headers['WWW-Authenticate'] ? errorAttr(d) : undefined, reason: d.reason, message: d.message });
  res.setHeader('Content-Type', 'application/json');
  res.end(body);
}

function errorAttr(d: Decision): string | undefined {
  return /error="([a-z_]+)"/.exec(d.headers['WWW-Authenticate'] ?? '')?.[1];
}

export function createApp(deps: AppDeps): { app: Express; pipeline: Pipeline } {
  const { config, verifier, store, metrics, logger } = deps;
  const pipeline = createPipeline({ config, verifier, store, metrics, log: logger, now: deps.now });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // a decision never has an entity tag (a 304 would become a 500 in NGINX)
  app.set('trust proxy', false);

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = header(req, 'x-request-id');
        const id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Only the decision route logs every request; probes and scrapes would drown it.
      autoLogging: { ignore: (req) => !(req.url ?? '').startsWith('/api/auth/validate') },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res) => (res.statusCode >= 500 ? 'error' : 'info'),
      customSuccessMessage: (_req, res) => ((res as Response).locals?.decision?.granted ? 'granted' : 'refused'),
      customErrorMessage: () => 'refused',
      customSuccessObject: (req, res, val) => ({ ...val, request_id: req.id, ...decisionLog(res as Response) }),
      customErrorObject: (req, res, _err, val) => ({ ...val, err: undefined, request_id: req.id, ...decisionLog(res as Response) }),
    }),
  );

  app.all('/api/auth/validate', async (req: Request, res: Response) => {
    const end = metrics.decisionSeconds.startTimer();
    const input = decisionInput(req);
    const d = await pipeline.decide(input);
    const result = d.granted ? 'granted' : 'refused';
    end({ result });
    metrics.decisions.inc({ result, reason: d.reason, status: String(d.status) });
    res.locals.decision = d;
    res.locals.input = input;
    writeDecision(res, d);
  });

  const probe = express.Router();
  probe.use(helmet());
  probe.get('/api/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  probe.get('/api/ready', async (_req, res) => {
    const r = await readiness(verifier, store, metrics);
    res.status(r.ready ? 200 : 503).set('Cache-Control', 'no-store').json(r);
  });
  probe.get('/metrics', async (_req, res) => {
    if (store) {
      const p = store.poolStats();
      metrics.poolConnections.set({ state: 'total' }, p.total);
      metrics.poolConnections.set({ state: 'idle' }, p.idle);
      metrics.poolConnections.set({ state: 'waiting' }, p.waiting);
    }
    metrics.decisionCacheSize.set(verifier.cacheSize);
    res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(probe);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  return { app, pipeline };
}

/** The decision's fields for its log line: never the token. */
function decisionLog(res: Response): Record<string, unknown> {
  const d = res.locals?.decision as Decision | undefined;
  const input = res.locals?.input as DecisionInput | undefined;
  if (!d) return {};
  return {
    granted: d.granted,
    reason: d.reason,
    detail: d.granted ? undefined : d.message,
    cause: d.cause,
    sub: d.principal?.sub,
    client: d.principal?.clientId,
    method: input?.method,
    uri: input?.uri,
    charged: d.charged || undefined,
  };
}
