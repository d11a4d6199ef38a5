// `tollgate explain`: run one token through the pipeline's own stages against the live configuration
// and say, stage by stage, what passed, what refused and why. Nothing is charged: the quota stage
// runs over the store's preview (the charge statement, rolled back). The verdict is the pipeline's.
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { Config, IssuerConfig } from '../config';
import { AuthError } from '../errors';
import { methodOverrideParam } from '../lib/method-override';
import { readPath } from '../lib/paths';
import { matchRoute } from '../lib/routes';
import type { Metrics } from '../observability/metrics';
import { createPipeline, type Decision } from '../pipeline';
import { checkEmail } from '../policy/email';
import { authorizeRoute } from '../policy/rules';
import { createQuotaStage, type ChargeOutcome } from '../quota/charge';
import type { QuotaStore } from '../store/types';
import { checkClaims, scopesOf, type Principal } from '../token/claims';
import { extractBearer } from '../token/extract';
import { decodeUnverified } from '../token/facts';
import type { TokenVerifier, VerifiedToken } from '../token/verify';
import { expectation, show, type ExpectContext } from './expect';
import { describeStep, stepOf, VERIFY_STEPS, type VerifyStep } from './verify-steps';

/** ✓ passed, ✗ refused here, · not reached (or not checked), – does not apply. */
export type Mark = 'pass' | 'fail' | 'skip' | 'n/a';

export interface StageLine {
  stage: string;
  mark: Mark;
  /** What was looked at (always), e.g. `aud "account"`. */
  text: string;
  got?: string;
  expected?: string;
  hint?: string;
  /** The reason code of a refusal (✗ only). */
  reason?: string;
}

export interface Explanation {
  header?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  stages: StageLine[];
  /** The pipeline's own decision (dry run), or undefined when no route was given. */
  decision?: Pick<Decision, 'status' | 'granted' | 'reason' | 'message' | 'headers'>;
  granted: boolean;
  /** A problem explain itself met (the store could not be opened…), said beside the verdict. */
  notes: string[];
}

export interface ExplainDeps {
  config: Config;
  verifier: TokenVerifier;
  /** The store, or why there is none (the quota and Supabase stages then cannot be previewed). */
  store?: QuotaStore;
  storeProblem?: string;
  /** Keys of each issuer's JWKS as explain's verifier fetched them (for key_not_found). */
  published?: (issuer: IssuerConfig) => JWK[] | undefined;
  metrics: Metrics;
  log: Logger;
  now?: () => Date;
}

export interface ExplainInput {
  token: string;
  method?: string;
  uri?: string;
  maxTicks?: string;
}

export async function explainToken(deps: ExplainDeps, input: ExplainInput): Promise<Explanation> {
  const { config, verifier, store } = deps;
  const nowS = Math.floor((deps.now?.() ?? new Date()).getTime() / 1000);
  const stages: StageLine[] = [];
  const notes: string[] = deps.storeProblem ? [deps.storeProblem] : [];
  const decoded = decodeUnverified(input.token);
  const issuer = config.auth.issuers.find((i) => i.issuer === decoded?.payload.iss);
  const ctx: ExpectContext = { config, header: decoded?.header, payload: decoded?.payload, issuer, token: input.token, nowS };
  let refused = false;
  const fail = (stage: string, e: AuthError, text: string) => {
    refused = true;
    stages.push({ stage, mark: 'fail', text, reason: e.code, ...expectation(e, ctx) });
  };
  const later = (stage: string, text: string) => stages.push({ stage, mark: 'skip', text: `${text} (not reached)` });

  // request: the original method and URI, read as the pipeline reads them
  let route: { method: string; path: string; uri: string } | undefined;
  const asked = input.method !== undefined && input.uri !== undefined ? { method: input.method, uri: input.uri } : undefined;
  if (!asked) {
    stages.push({ stage: 'request', mark: 'n/a', text: 'no --method/--uri: route rules and charges are not looked at' });
  } else {
    const method = asked.method.toUpperCase();
    const path = readPath(asked.uri);
    const override = typeof path === 'string' ? methodOverrideParam(asked.uri) : undefined;
    if (override !== undefined) {
      refused = true;
      stages.push({
        stage: 'request',
        mark: 'fail',
        reason: 'method_override',
        text: `${method} ${show(asked.uri)}`,
        got: `the query parameter ${show(override)}, which some frameworks run as the method`,
        expected: 'no method override (_method, X-HTTP-Method-Override) in the query',
      });
    } else if (typeof path === 'string') {
      route = { method, path, uri: asked.uri };
      stages.push({
        stage: 'request',
        mark: 'pass',
        text: `${method} ${show(asked.uri)}${path !== asked.uri.split('?')[0] ? ` (read as ${show(path)})` : ''}`,
      });
    } else {
      refused = true;
      stages.push({
        stage: 'request',
        mark: 'fail',
        reason: 'path_ambiguous',
        text: `${method} ${show(asked.uri)}`,
        got: path.why,
        expected: 'a path every server reads the same way',
      });
    }
  }

  // bearer
  let token: string | undefined;
  if (!refused) {
    try {
      token = extractBearer(`Bearer ${input.token}`, 1, config.auth.maxTokenBytes);
      stages.push({ stage: 'bearer', mark: 'pass', text: `a compact JWS of ${token.length} bytes (AUTH_MAX_TOKEN_BYTES=${config.auth.maxTokenBytes})` });
    } catch (e) {
      fail('bearer', e as AuthError, `${input.token.length} bytes`);
    }
  } else later('bearer', `${input.token.length} bytes`);

  // verify: header, issuer, algorithm, key, signature, audience, lifetime, subject
  let verified: VerifiedToken | undefined;
  let failedAt: VerifyStep | undefined;
  let verifyError: AuthError | undefined;
  if (token !== undefined && !refused) {
    try {
      verified = await verifier.verify(token);
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      verifyError = e;
      failedAt = stepOf(e);
    }
    // what the verifier's own fetch of the JWKS found, for a kid that is not there
    ctx.published = issuer && deps.published?.(issuer);
  }
  const reachedVerify = token !== undefined && (verified !== undefined || verifyError !== undefined);
  const failIdx = failedAt === undefined ? VERIFY_STEPS.length : VERIFY_STEPS.indexOf(failedAt);
  // a missing exp is found before the audience is looked at (jose's presence check)
  const passedUpTo = verifyError?.code === 'claim_missing' && failedAt === 'lifetime' ? VERIFY_STEPS.indexOf('signature') : failIdx - 1;
  VERIFY_STEPS.forEach((step, idx) => {
    const text = describeStep(step, ctx);
    if (!reachedVerify) return later(step, text);
    if (idx === failIdx && verifyError) return fail(step, verifyError, text);
    stages.push(idx <= passedUpTo ? { stage: step, mark: 'pass', text } : { stage: step, mark: 'skip', text: `${text} (not checked)` });
  });

  // claims → email → rule → quota, on the verified token; shown "not reached" after a refusal
  let principal: Principal | undefined;
  if (verified && !refused) {
    try {
      principal = checkClaims(verified, config);
      ctx.principal = principal;
      stages.push({
        stage: 'claims',
        mark: 'pass',
        text: `sub ${show(principal.sub)}${principal.clientId ? `, client ${show(principal.clientId)}` : ''}, scopes ${show(principal.scopes.join(' '))}`,
      });
    } catch (e) {
      fail('claims', e as AuthError, `sub ${show(decoded?.payload.sub)}`);
    }
  } else later('claims', `sub ${show(decoded?.payload.sub)}`);

  if (principal && !refused) {
    try {
      const verifiedEmail = await checkEmail(principal, config, store);
      const sent = verifiedEmail ? 'verified: sent as X-User-Email' : 'not verified: not sent';
      const email = principal.email === undefined ? 'absent' : `${show(principal.email)}, ${sent}`;
      stages.push({ stage: 'email', mark: 'pass', text: principal.supabase ? 'a confirmed Supabase user' : `email ${email}` });
    } catch (e) {
      fail('email', e as AuthError, `email ${show(decoded?.payload.email)}`);
    }
  } else later('email', `email ${show(decoded?.payload.email)}`);

  const rule = route && matchRoute(config.auth.routeRules, route.method, route.path);
  const ruleText = !route
    ? 'no route given'
    : rule
      ? `${rule.method} ${rule.path} requires ${requirementText(rule)}`
      : `no rule matches ${route.method} ${route.path} (AUTH_DEFAULT_POLICY=${config.auth.defaultPolicy})`;
  if (!route) stages.push({ stage: 'rule', mark: 'n/a', text: ruleText });
  else if (principal && !refused) {
    try {
      authorizeRoute(config.auth.routeRules, route.method, route.path, principal, config.auth.defaultPolicy);
      stages.push({ stage: 'rule', mark: 'pass', text: ruleText });
    } catch (e) {
      fail('rule', e as AuthError, ruleText);
    }
  } else later('rule', rule && decoded ? `${ruleText}; the token carries scopes ${show(scopesOf(decoded.payload).join(' '))}` : ruleText);

  const charged = route && matchRoute(config.quota.routes, route.method, route.path);
  const chargeText = !route
    ? 'no route given'
    : charged
      ? `${charged.method} ${charged.path} is charged (QUOTA_ROUTES)`
      : 'not a charged route (QUOTA_ROUTES): nothing to charge';
  if (!route || !charged) stages.push({ stage: 'quota', mark: 'n/a', text: chargeText });
  else if (principal && !refused && store) {
    const preview = createQuotaStage({ config, ledger: { charge: (u, t, d) => store.preview(u, t, d) }, metrics: deps.metrics, log: deps.log, now: deps.now });
    try {
      const out: ChargeOutcome = await preview(principal, route.method, route.path, route.uri, input.maxTicks);
      const h = out.headers;
      stages.push({
        stage: 'quota',
        mark: 'pass',
        text:
          `${chargeText}: would charge ${h['X-Ticks-Charged']} tick(s), ` +
          `${h['X-Ticks-Remaining'] ?? '?'} of ${h['RateLimit-Limit'] ?? '?'} left after it (dry run: nothing charged)`,
      });
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      fail('quota', e, chargeText);
    }
  } else later('quota', principal && !refused ? `${chargeText}; not previewed: no store` : chargeText);

  const result: Explanation = { header: decoded?.header as Record<string, unknown>, payload: decoded?.payload, stages, granted: !refused, notes };
  if (asked) {
    // The verdict is the pipeline's own, over the same stages, with the store's preview for a charge.
    const dryStore = store && { ...store, charge: (u: string, t: number, d: string) => store.preview(u, t, d) };
    const pipeline = createPipeline({ config, verifier, store: dryStore, metrics: deps.metrics, log: deps.log, now: deps.now });
    const d = await pipeline.decide({
      authorization: `Bearer ${input.token}`,
      authorizationCount: 1,
      method: asked.method,
      uri: asked.uri,
      front: config.auth.front,
      maxTicks: input.maxTicks,
    });
    result.decision = { status: d.status, granted: d.granted, reason: d.reason, message: d.message, headers: d.headers };
    result.granted = d.granted;
    const first = stages.find((s) => s.mark === 'fail');
    if (first ? first.reason !== d.reason : !d.granted) {
      notes.push(`the pipeline decided ${d.reason}${first ? `, the stages above ${first.reason}` : ''}: ${d.message ?? ''}`);
    }
  } else if (!refused) {
    notes.push("the token passes; give --method and --uri to check a route's rule and charge");
  }
  return result;
}

/** What a rule asks for: its scopes, and whatever else it lists (roles, claims, alternatives). */
function requirementText(rule: object): string {
  const { method: _m, path: _p, ...req } = rule as Record<string, unknown>;
  const parts = Object.entries(req)
    .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => (k === 'scopes' ? `scope ${(v as string[]).join(' ')}` : `${k} ${show(v)}`));
  return parts.length ? parts.join(', ') : 'nothing (any valid token)';
}
