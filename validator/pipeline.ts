// The decision pipeline, top to bottom:
//   extract bearer → verify (issuer, key, signature, registered claims) → issuer claim rules →
//   email confirmation → route rules → quota charge → response headers.
// It knows nothing of Express: the HTTP layer turns a request into a DecisionInput and a Decision
// into a response, so the same pipeline can serve any front (and be tested without HTTP).
import type { Logger } from 'pino';
import { FRONT_HEADERS, type Config, type Front } from './config';
import { AuthError, invalidRequest, type BearerErrorCode, type ValidatorReason } from './errors';
import { debugFacts, type DebugFacts } from './debug-facts';
import type { Metrics } from './observability/metrics';
import { GRANTED } from './reasons';
import { checkEmail, type UserConfirmations } from './policy/email';
import { readPath } from './lib/paths';
import { methodOverrideParam } from './lib/method-override';
import { authorizeRoute } from './policy/rules';
import { createQuotaStage, NOT_CHARGED, type TickLedger } from './quota/charge';
import { checkClaims, type Principal } from './token/claims';
import { BINDING_HEADER, bindingOf } from './token/binding';
import { createDpopStage } from './token/dpop';
import type { ProofLedger } from './token/dpop-replay';
import { extractCredentials } from './token/extract';
import { checkCertificateBinding, readThumbprint } from './token/mtls';
import type { TokenVerifier, VerifiedToken } from './token/verify';

export interface DecisionInput {
  /** The Authorization header value (first one). */
  authorization?: string;
  /** How many Authorization headers came (more than one is refused). */
  authorizationCount: number;
  /** The original request's method, as the front sent it (undefined: the front sent none). */
  method?: string;
  /** The original request URI with query, as the front sent it (undefined: the front sent none). */
  uri?: string;
  /** Which front's headers method and uri were read from (named in refusals). Default nginx. */
  front?: Front;
  /** A header that decides something and came twice (lower-case name): refused, never guessed at. */
  duplicatedHeader?: string;
  /** X-Max-Ticks header, for charged routes. */
  maxTicks?: string;
  /**
   * The front's own id of the client request, the same on every retry of it (NGINX: $request_id
   * in X-Tollgate-Charge-Id): a retried decision is then charged once. Never a client's value.
   */
  chargeId?: string;
  /**
   * The front's SHA-256 thumbprint of the client's TLS certificate (X-Client-Cert-S256, RFC 8705
   * §3.1); read only with AUTH_MTLS_TRUST_HEADER, for tokens bound to a certificate.
   */
  clientCertS256?: string;
  /** The DPoP proof header (RFC 9449 §4.1; the first, when several came) and how many came. */
  dpop?: string;
  dpopCount?: number;
  /** A method override header the front passed on from the client (refused: the method judged is not the method run). */
  methodOverrideHeader?: string;
}

export interface Decision {
  status: number;
  /** Response headers (identity on 200; challenge, reason, Retry-After… on refusals). */
  headers: Record<string, string>;
  granted: boolean;
  reason: ValidatorReason | typeof GRANTED;
  /** A refusal's RFC 6750 error (from the reason table): the challenge's `error` and the JSON body's. */
  bearerError?: BearerErrorCode;
  message?: string;
  principal?: Principal;
  /** Underlying library code for refusals (e.g. jose's ERR_JWT_EXPIRED). */
  cause?: string;
  charged: number;
  /**
   * Seconds the opt-in NGINX edge decision cache may keep this grant (X-Accel-Expires): at most
   * AUTH_DECISION_CACHE_TTL_S and the token's remaining life; 0 for refusals and on charged routes.
   */
  edgeMaxAgeS?: number;
  /** LOG_LEVEL=debug only: the token's iss/aud/alg/kid/typ and the rule's requirements (debug-facts.ts). */
  facts?: DebugFacts;
}

export interface PipelineDeps {
  config: Config;
  verifier: TokenVerifier;
  /** The store, seen as the two questions the stages ask it (validator/store implements both). */
  store?: TickLedger & UserConfirmations & Partial<ProofLedger>;
  metrics: Metrics;
  log: Logger;
  /** Clock for the quota day (tests). */
  now?: () => Date;
}

const METHOD = /^[A-Z]{1,16}$/;
// Identity values are sent as their UTF-8 bytes. Node writes a string header value as Latin-1, one
// byte per character, so `josé` would reach the upstream as the byte E9 while a subject spelled
// `josÃ©` would arrive as C3 A9, the UTF-8 bytes of `josé`: two subjects, the same bytes. Refused
// (never rewritten): controls C0, DEL and C1 (they could split or forge a header, RFC 9110 §5.5),
// lone surrogates (no UTF-8 form), and a leading or trailing space (parsers strip it, RFC 9110 §5.5,
// so ` alice` would arrive as `alice`).
const HEADER_UNSAFE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|^ | $/;

/** `v` as a header string whose characters are its UTF-8 bytes (at most 1024), or undefined when it cannot be sent. */
function safeHeader(v: string, maxBytes = 1024): string | undefined {
  if (HEADER_UNSAFE.test(v)) return undefined;
  const utf8 = Buffer.from(v, 'utf8');
  return utf8.length <= maxBytes ? utf8.toString('latin1') : undefined;
}

/** X-User-Roles is left out above this: a header that large is more likely to be cut than read. */
const MAX_ROLES_BYTES = 4096;

/**
 * The roles as X-User-Roles: comma-joined, each as its UTF-8 bytes. A role holding a comma (it would
 * read as two), a control or an edge space is dropped, as X-Scopes drops such scopes; undefined for
 * none, or when they do not fit in MAX_ROLES_BYTES (an app then sees no role: it denies, never grants).
 */
function rolesHeader(roles: readonly string[]): string | undefined {
  const sendable = roles.filter((r) => !r.includes(',') && !HEADER_UNSAFE.test(r));
  return sendable.length === 0 ? undefined : safeHeader(sendable.join(','), MAX_ROLES_BYTES);
}

/** A Principal with its identity headers, checked once: `unsendable` says why they cannot be sent. */
interface Identity {
  principal: Principal;
  headers: Readonly<Record<string, string>>;
  /** X-User-Email's value when sendable; sent only when checkEmail says the address is verified. */
  email?: string;
  unsendable?: string;
}

function identity(principal: Principal): Identity {
  const userId = safeHeader(principal.userId);
  if (userId === undefined) return { principal, headers: {}, unsendable: 'subject cannot be sent as a header' };
  // A client id that cannot be sent is refused, not left out: left out, it would read as "no client".
  const clientId = principal.clientId === undefined ? undefined : safeHeader(principal.clientId);
  if (principal.clientId !== undefined && clientId === undefined) return { principal, headers: {}, unsendable: 'client id cannot be sent as a header' };
  // Scopes are RFC 6749 scope-tokens without commas (scopesOf): printable ASCII, any number of them.
  const scopes = safeHeader(principal.scopes.join(','), Infinity);
  if (scopes === undefined) return { principal, headers: {}, unsendable: 'scopes cannot be sent as a header' };
  const headers: Record<string, string> = { 'X-User-Id': userId, 'X-Scopes': scopes };
  if (clientId !== undefined) headers['X-Client-Id'] = clientId;
  const roles = rolesHeader(principal.roles);
  if (roles !== undefined) headers['X-User-Roles'] = roles;
  // An address that cannot be sent is just not sent: no app should key an account on it anyway.
  const email = principal.email === undefined ? undefined : safeHeader(principal.email, 320);
  return { principal, headers: Object.freeze(headers), email };
}

export function refusal(e: AuthError): Decision {
  const headers: Record<string, string> = { 'X-Auth-Reason': e.code, ...e.headers };
  const challenge = e.wwwAuthenticate;
  if (challenge) headers['WWW-Authenticate'] = challenge;
  return { status: e.status, headers, granted: false, reason: e.code, bearerError: e.bearerError, message: e.message, cause: e.causeCode, charged: 0 };
}

export function createPipeline(deps: PipelineDeps) {
  const { config, verifier, store, log } = deps;
  const charge = createQuotaStage({ config, ledger: store, metrics: deps.metrics, log, now: deps.now });
  const { maxTokenBytes, routeRules, defaultPolicy } = config.auth;
  const edgeTtlS = config.auth.verifiedTokenCache.ttlS;
  // An issuer that introspects may accept opaque (non-JWS) bearer tokens.
  const opaqueTokens = verifier.acceptsOpaque;
  const nowMs = deps.now ? () => deps.now!().getTime() : Date.now;
  // DPoP (RFC 9449): proofs are remembered in the store when there is one (shared by every instance on
  // its database), else in this process (token/dpop-replay.ts).
  const dpopOn = config.auth.dpop.enabled;
  const dpop = createDpopStage({ config, ledger: store?.firstUse ? (store as ProofLedger) : undefined, metrics: deps.metrics, now: nowMs });
  // Everything derived from the token alone (claims rules, identity headers) depends only on it and
  // the config, and a cache hit returns the same frozen VerifiedToken: derive it once per token
  // rather than per request (scope split, Set, freeze, header checks).
  const identities = new WeakMap<VerifiedToken, Identity>();
  const identityOf = (v: VerifiedToken): Identity => {
    let id = identities.get(v);
    if (id === undefined) identities.set(v, (id = identity(checkClaims(v, config))));
    return id;
  };

  // Without rules, charged routes or deny-by-default the original request cannot change a decision.
  const routesMatter = routeRules.length > 0 || config.quota.routes.length > 0 || defaultPolicy === 'deny';

  /**
   * The original request the decision is about. The validate request itself is never judged in
   * its place: a front that sent none gets a 400 naming what to send (a silent GET of
   * /api/auth/validate would skip every route rule and charge).
   */
  function originalRoute(input: DecisionInput): { method: string; path: string; uri: string } | undefined {
    if (input.duplicatedHeader) throw invalidRequest('request_invalid', `the ${input.duplicatedHeader} header was sent more than once`);
    if (input.methodOverrideHeader)
      throw invalidRequest('method_override', `the ${input.methodOverrideHeader} header would let the upstream run another method than the one judged`);
    if (input.method === undefined || input.uri === undefined) {
      if (!routesMatter) return undefined;
      const front = input.front ?? 'nginx';
      throw invalidRequest('request_invalid', `the original request is missing: AUTH_FRONT=${front} expects ${FRONT_HEADERS[front]}`);
    }
    const method = input.method.toUpperCase();
    if (!METHOD.test(method)) throw invalidRequest('request_invalid', 'the original method is not an HTTP method');
    const path = readPath(input.uri);
    if (typeof path !== 'string') throw invalidRequest('path_ambiguous', `the original path is refused: ${path.why}`);
    const override = methodOverrideParam(input.uri);
    if (override !== undefined)
      throw invalidRequest(
        'method_override',
        `the query parameter ${JSON.stringify(override.slice(0, 64))} would let the upstream run another method than ${method}`,
      );
    return { method, path, uri: input.uri };
  }

  async function run(input: DecisionInput): Promise<Decision> {
    const route = originalRoute(input);
    const credentials = extractCredentials(input.authorization, input.authorizationCount, maxTokenBytes, opaqueTokens, dpopOn);
    const verified = await verifier.verify(credentials.token);
    // Sender-constrained tokens (token/binding.ts): the proof is checked on every request, also
    // when the token came from the verified-token cache, and before any other stage (RFC 8705 §3: 401).
    const binding = bindingOf(verified);
    if (binding?.x5tS256 !== undefined) checkCertificateBinding(binding.x5tS256, readThumbprint(input.clientCertS256), config.auth.trustClientCertHeader);
    // RFC 9449: a DPoP-bound token (or any token of an issuer that requires DPoP) needs its proof.
    const proved = await dpop.check({ credentials, proof: input.dpop, proofCount: input.dpopCount ?? 0, route }, verified);
    const { principal, headers: identityHeaders, email, unsendable } = identityOf(verified);
    const emailVerified = await checkEmail(principal, config, store);

    if (route) authorizeRoute(routeRules, route.method, route.path, principal, defaultPolicy);
    // Identity headers are checked before the charge: a refusal must never cost ticks.
    if (unsendable) throw invalidRequest('request_invalid', unsendable);
    const quota = route ? await charge(principal, route.method, route.path, route.uri, input.maxTicks, input.chargeId) : NOT_CHARGED;

    const headers: Record<string, string> = { ...identityHeaders, ...quota.headers };
    if (binding) headers[BINDING_HEADER] = binding.kinds.join(',');
    if (proved) Object.assign(headers, dpop.grantHeaders(nowMs()));
    // X-User-Email only for an address the IdP or the Supabase store says is verified.
    if (emailVerified && email !== undefined) headers['X-User-Email'] = email;
    // Charged routes are never cached anywhere: every request must reach the quota.
    const exp = verified.payload.exp as number;
    // An introspected issuer's grant is cached no longer than its introspection answer: a revoked
    // token must not live on at the edge.
    const ttlS = Math.min(edgeTtlS, verified.issuer.introspection?.cacheTtlS ?? edgeTtlS);
    // A bound grant is never kept at the edge: the cache's key (method, URI, Authorization) holds no proof.
    const edgeMaxAgeS = ttlS === 0 || quota.quotaRoute || binding ? 0 : Math.max(0, Math.min(ttlS, Math.floor(exp - nowMs() / 1000)));
    return { status: 200, headers, granted: true, reason: GRANTED, principal, charged: quota.charged, edgeMaxAgeS };
  }

  return {
    /** Never throws: every failure becomes a refusal; unexpected errors are 500 internal_error and logged. */
    async decide(input: DecisionInput): Promise<Decision> {
      let d: Decision;
      try {
        d = await run(input);
      } catch (e) {
        if (e instanceof AuthError) d = refusal(e);
        else {
          log.error({ err: e }, 'unexpected error in the decision pipeline');
          d = refusal(new AuthError('internal_error', 'internal error'));
        }
      }
      // LOG_LEVEL=debug: what the token carried and what the route asked, for the decision line
      if (log.isLevelEnabled('debug')) d.facts = debugFacts(input, config, d.principal);
      return d;
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
