// The /api/auth/validate handler: request → DecisionInput → pipeline.decide → response, one log
// line and the decision metrics. It is plain node:http so that the server can run it before
// Express's router (see listener.ts); the Express app mounts the very same handler, so both
// fronts answer, log and count identically. It bypasses Express and pino-http because the router and
// a per-request pino child logger were ~40 % of a cached decision (docs/PERFORMANCE.md).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { decisionLineWriter } from '../observability/decision-line';
import type { Metrics } from '../observability/metrics';
import { redactUri } from '../observability/redact-uri';
import { traceParentOf, type TraceParent } from '../observability/trace-context';
import type { SpanAttributes, SpanIds, Tracing } from '../observability/tracing';
import type { Decision, DecisionInput, Pipeline } from '../pipeline';
import { REASONS } from '../reasons';
import { duplicatedHeader, originalRequest, VALIDATE_PATH, type Front } from './front';

export { VALIDATE_PATH };

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

/**
 * The DPoP proof header (RFC 9449 §4.1): its first value and how many came (§4.3 allows one; Node
 * joins repeated headers of this name with ", ", so they are counted in the raw list). None: no work.
 */
const NO_PROOF: { dpop?: string; dpopCount: number } = Object.freeze({ dpopCount: 0 });

function dpopProof(req: IncomingMessage): { dpop?: string; dpopCount: number } {
  if (req.headers.dpop === undefined) return NO_PROOF;
  const raw = req.rawHeaders;
  let first: string | undefined;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'dpop') {
      first ??= raw[i + 1];
      n++;
    }
  }
  return { dpop: first, dpopCount: n };
}

/**
 * The DecisionInput for a validate request, read the way `front` sends the original request.
 * The validate request's own method and URL are never judged in its place: without the original
 * request, method and uri stay undefined and the pipeline refuses whenever the route matters.
 */
export function decisionInput(req: IncomingMessage, front: Front = 'nginx'): DecisionInput {
  const original = originalRequest(front, req);
  const h = req.headers;
  const duplicated = duplicatedHeader(req.rawHeaders);
  const proof = dpopProof(req);
  return {
    authorization: header(req, 'authorization'),
    authorizationCount: authorizationCount(req),
    method: original.method,
    uri: original.uri,
    front,
    duplicatedHeader: duplicated === 'authorization' ? undefined : duplicated,
    maxTicks: header(req, 'x-max-ticks'),
    chargeId: chargeId(req),
    dpop: proof.dpop,
    dpopCount: proof.dpopCount,
    // X-Client-Cert-S256: the pipeline reads it only with AUTH_MTLS_TRUST_HEADER (token/mtls.ts).
    clientCertS256: header(req, 'x-client-cert-s256'),
    // Fronts that pass the client's headers on (ingress-nginx, Traefik without authRequestHeaders)
    // show us these; Express's method-override reads the first by default.
    methodOverrideHeader:
      h['x-http-method-override'] !== undefined
        ? 'X-HTTP-Method-Override'
        : h['x-http-method'] !== undefined
          ? 'X-HTTP-Method'
          : h['x-method-override'] !== undefined
            ? 'X-Method-Override'
            : undefined,
  };
}

/**
 * NGINX's $request_id (32 lower-case hex), which our template sends as X-Tollgate-Charge-Id on every
 * attempt of one auth subrequest and never takes from the client; the quota stage keys charges on
 * it only with QUOTA_TRUST_CHARGE_ID. Anything else (another shape, or two headers, which Node joins
 * with a comma) is ignored: the request is then charged like any other, so a bad id can cost a
 * double charge on a retry but never make a request free.
 */
const CHARGE_ID = /^[0-9a-f]{32}$/;

function chargeId(req: IncomingMessage): string | undefined {
  const v = header(req, 'x-tollgate-charge-id');
  return v !== undefined && CHARGE_ID.test(v) ? v : undefined;
}

/** The client's X-Request-Id when it looks like one, else a new UUID. */
export function requestId(req: IncomingMessage): string {
  const given = header(req, 'x-request-id');
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Writes a decision: status, headers, an empty body on 200 and a short JSON reason otherwise.
 * One writeHead with a flat header list (no per-header setHeader bookkeeping) and an explicit
 * Content-Length (no chunked encoding).
 */
export function writeDecision(res: ServerResponse, d: Decision, id?: string): void {
  const h: string[] = [];
  for (const k in d.headers) h.push(k, d.headers[k]!);
  if (id !== undefined) h.push('X-Request-Id', id);
  // Only NGINX's opt-in edge decision cache (proxy_cache on /_auth/validate, off by default) may keep
  // a grant, for this long; it reads X-Accel-Expires first, which then overrides Cache-Control (so it
  // must come before it). Any other cache sees no-store.
  if (d.edgeMaxAgeS) h.push('X-Accel-Expires', String(d.edgeMaxAgeS));
  // A decision is about one request at one time; nothing else between NGINX and us may cache it.
  h.push('Cache-Control', 'no-store');
  if (d.granted) {
    h.push('Content-Length', '0');
    res.writeHead(d.status, h);
    res.end();
    return;
  }
  // `error` is the refusal's RFC 6750 error (the reason table's), `reason` the stable reason code.
  const body = JSON.stringify({ error: d.bearerError, reason: d.reason, message: d.message });
  h.push('Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(body)));
  res.writeHead(d.status, h);
  res.end(body);
}

/**
 * The original URI as logged. RFC 6750 §2.3 lets clients put a token in the query (`?access_token=`),
 * and other fronts than our NGINX (which refuses such URIs) pass it on: token-named parameters, in
 * the query or as `;params`, however spelled or encoded, and anything JWT-shaped become `[redacted]`.
 */
export function loggableUri(uri: string): string {
  return redactUri(uri);
}

/** The decision's fields for its log line: never the token. */
export function decisionLog(d: Decision, input: DecisionInput): Record<string, unknown> {
  return {
    granted: d.granted,
    reason: d.reason,
    detail: d.granted ? undefined : d.message,
    cause: d.cause,
    // the user id as X-User-Id carries it (the issuer's subjectPrefix + sub), as NGINX's access log has it
    sub: d.principal?.userId,
    client: d.principal?.clientId,
    method: input.method,
    uri: input.uri === undefined ? undefined : loggableUri(input.uri),
    charged: d.charged || undefined,
    // LOG_LEVEL=debug only (the pipeline fills it): jwt {iss, aud, alg, kid, typ}, rule, required, present
    ...d.facts,
  };
}

export interface ValidateDeps {
  pipeline: Pick<Pipeline, 'decide'>;
  /** How the front in use sends the original request (AUTH_FRONT). */
  front: Front;
  metrics: Metrics;
  logger: Logger;
  /** OpenTelemetry spans (TOLLGATE_TRACING=otlp); undefined: none. */
  tracing?: Tracing;
}

/** The decision span's opening attributes: the original method and path (redacted, no query), never a header. */
function spanStart(input: DecisionInput): SpanAttributes {
  const uri = input.uri === undefined ? undefined : loggableUri(input.uri);
  return { 'http.request.method': input.method, 'url.path': uri?.split('?', 1)[0] };
}

function spanEnd(d: Decision): SpanAttributes & { error: boolean } {
  return {
    'http.response.status_code': d.status,
    'tollgate.granted': d.granted,
    'tollgate.reason': d.reason,
    'tollgate.charged': d.charged,
    error: d.status >= 500,
  };
}

export type ValidateHandler = (req: IncomingMessage, res: ServerResponse) => void;

const NO_IDS = Object.freeze({});

/** The log line's trace fields: none at all (not even undefined keys) when no trace context came. */
function traceIds(parent: TraceParent | undefined, span: SpanIds | undefined): { trace_id?: string; span_id?: string } {
  if (span !== undefined) return { trace_id: span.traceId, span_id: span.spanId };
  return parent === undefined ? NO_IDS : { trace_id: parent.traceId };
}

/**
 * The handler. Log line (one per decision, same shape as the pino-http lines it replaced):
 * `req {id, method, url}`, `res {statusCode}`, `responseTime` (ms), `request_id`, `trace_id` (the
 * client's valid W3C traceparent's, or the decision span's with tracing on), `span_id` (the decision
 * span's, tracing on only), and the decision fields of decisionLog(); message `granted` or
 * `refused`, level error for 5xx.
 */
export function createValidateHandler({ pipeline, metrics, logger, front, tracing }: ValidateDeps): ValidateHandler {
  // The decision line is built from the fixed keys above (never a header, never the token), so the
  // logger's key-based redaction (authorization, token, secret…) can never match in it: it is written
  // by decisionLineWriter, pino's line without pino's per-key work (docs/PERFORMANCE.md).
  const writeLine = decisionLineWriter(logger);
  // Label sets repeat (a few reasons × statuses): keep their bound children instead of hashing labels per call.
  const counters = new Map<string, { inc(): void }>();
  const grantedTimer = metrics.decisionSeconds.labels('granted');
  const refusedTimer = metrics.decisionSeconds.labels('refused');
  const count = (result: 'granted' | 'refused', reason: Decision['reason'], status: number) => {
    const key = `${reason} ${status}`;
    let c = counters.get(key);
    if (!c) counters.set(key, (c = metrics.decisions.labels(result, reason, String(status))));
    c.inc();
  };

  return (req, res) => {
    const started = performance.now();
    const id = requestId(req);
    const input = decisionInput(req, front);
    // W3C traceparent: its trace id goes in the log line, so the decision can be found from the
    // client's or the upstream's trace; with tracing on, the decision's span is its child.
    const parent = traceParentOf(req);
    let span: SpanIds | undefined;
    const decided =
      tracing === undefined ? pipeline.decide(input) : tracing.decision(parent, spanStart(input), () => pipeline.decide(input), spanEnd, (span = {}));
    void decided.then((d) => {
      try {
        writeDecision(res, d, id);
      } catch (e) {
        // only a bug can get here (the pipeline makes every header value safe); fail closed
        logger.error({ err: e, request_id: id }, 'cannot write the decision');
        if (!res.headersSent) res.writeHead(500, ['Cache-Control', 'no-store', 'Content-Length', '0']);
        res.end();
        d = { ...d, status: REASONS.internal_error.status, granted: false, reason: 'internal_error', bearerError: undefined, principal: undefined };
      }
      const ms = performance.now() - started;
      (d.granted ? grantedTimer : refusedTimer).observe(ms / 1000);
      count(d.granted ? 'granted' : 'refused', d.reason, d.status);
      const line = {
        req: { id, method: req.method, url: req.url === undefined ? undefined : loggableUri(req.url) },
        res: { statusCode: d.status },
        responseTime: Math.round(ms * 1000) / 1000,
        request_id: id,
        ...traceIds(parent, span),
        ...decisionLog(d, input),
      };
      writeLine(d.status, d.granted, line);
    });
  };
}
