// RFC 7662 token introspection settings of an issuer: AUTH_INTROSPECTION_* for the AUTH_ISSUER
// shorthand, or an AUTH_ISSUERS entry's `introspection` object (parseIntrospection), checked once here.
import { readFileSync } from 'node:fs';
import type { IssuerConfig } from './issuers';
import { keyUrlProblem } from './key-url';
import type { Reading } from './read';

/** How tollgate asks an issuer whether a token is active (RFC 7662 §2). */
export interface IntrospectionConfig {
  /** The introspection endpoint (RFC 7662 §2; Keycloak: `<realm>/protocol/openid-connect/token/introspect`). */
  readonly url: string;
  /** The protected resource's own client credentials at the IdP (client_secret_basic, RFC 7662 §2.1). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** How long an answer is reused, seconds (0–60; 0: every request asks). */
  readonly cacheTtlS: number;
  /** Accept opaque (non-JWT) bearer tokens for this issuer, known only through introspection. */
  readonly opaque: boolean;
  /** Timeout of one introspection request, ms. */
  readonly timeoutMs: number;
}

/**
 * The longest an answer may be reused: a revoked token passes at most this long after its revocation.
 * A minute bounds the damage and still spares the IdP a round trip per request.
 */
const MAX_INTROSPECTION_TTL_S = 60;
const DEFAULT_INTROSPECTION_TTL_S = 10;
const DEFAULT_INTROSPECTION_TIMEOUT_MS = 2000;
/** Bounds of an entry's `timeoutMs`: a round trip of a live IdP, and no longer than a decision can wait. */
const MIN_INTROSPECTION_TIMEOUT_MS = 100;
const MAX_INTROSPECTION_TIMEOUT_MS = 30_000;

const FIELDS = ['url', 'clientId', 'clientSecret', 'clientSecretFile', 'cacheTtlS', 'opaque', 'timeoutMs'];

/** A problem with one field of the settings (`field` undefined: the object as a whole). */
export type IntrospectionProblem = (field: string | undefined, message: string) => void;

/**
 * An AUTH_ISSUERS entry's `introspection`: `{url, clientId, clientSecret | clientSecretFile, cacheTtlS?,
 * opaque?, timeoutMs?}`. Every problem goes to `fail`; returns undefined when there was one.
 */
export function parseIntrospection(value: unknown, production: boolean, fail: IntrospectionProblem): IntrospectionConfig | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return void fail(undefined, 'must be an object {"url", "clientId", "clientSecret"}');
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !FIELDS.includes(k));
  if (unknown !== undefined) return void fail(undefined, `unknown field ${JSON.stringify(unknown)}; use ${FIELDS.join(', ')}`);
  let ok = true;
  const bad = (field: string, m: string) => {
    ok = false;
    fail(field, m);
  };
  if (typeof o.url !== 'string') bad('url', 'is required (the RFC 7662 endpoint)');
  else {
    const p = urlProblem(o.url, production);
    if (p) bad('url', p);
  }
  if (typeof o.clientId !== 'string' || o.clientId === '') bad('clientId', 'is required (RFC 7662 §2.1: the caller authenticates)');
  let secret = o.clientSecret;
  if (o.clientSecretFile !== undefined) {
    if (secret !== undefined) bad('clientSecretFile', 'set clientSecret or clientSecretFile, not both');
    else if (typeof o.clientSecretFile !== 'string') bad('clientSecretFile', 'must be a path');
    else {
      try {
        secret = readFileSync(o.clientSecretFile, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        bad('clientSecretFile', `cannot read ${o.clientSecretFile}: ${(e as Error).message}`);
      }
    }
  }
  if (typeof secret !== 'string' || secret === '') bad('clientSecret', 'is required (or a file holding it)');
  const ttl = o.cacheTtlS ?? DEFAULT_INTROSPECTION_TTL_S;
  if (!Number.isInteger(ttl) || (ttl as number) < 0 || (ttl as number) > MAX_INTROSPECTION_TTL_S) {
    bad('cacheTtlS', `must be a whole number of seconds from 0 to ${MAX_INTROSPECTION_TTL_S}`);
  }
  const timeoutMs = o.timeoutMs ?? DEFAULT_INTROSPECTION_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < MIN_INTROSPECTION_TIMEOUT_MS || (timeoutMs as number) > MAX_INTROSPECTION_TIMEOUT_MS) {
    bad('timeoutMs', `must be a whole number of ms from ${MIN_INTROSPECTION_TIMEOUT_MS} to ${MAX_INTROSPECTION_TIMEOUT_MS}`);
  }
  if (o.opaque !== undefined && typeof o.opaque !== 'boolean') bad('opaque', 'must be true or false');
  if (!ok) return undefined;
  return {
    url: o.url as string,
    clientId: o.clientId as string,
    clientSecret: secret as string,
    cacheTtlS: ttl as number,
    opaque: o.opaque === true,
    timeoutMs: timeoutMs as number,
  };
}

const VARIABLE_OF: Record<string, string> = {
  url: 'AUTH_INTROSPECTION_URL',
  clientId: 'AUTH_INTROSPECTION_CLIENT_ID',
  clientSecret: 'AUTH_INTROSPECTION_CLIENT_SECRET',
  cacheTtlS: 'AUTH_INTROSPECTION_CACHE_TTL_S',
  opaque: 'AUTH_INTROSPECTION_OPAQUE',
  timeoutMs: 'AUTH_INTROSPECTION_TIMEOUT_MS',
};

/** The token is sent to this URL with the client's secret: https:// in production, as for key URLs. */
function urlProblem(raw: string, production: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `${JSON.stringify(raw)} is not an absolute URL`;
  }
  const p = keyUrlProblem(u, production);
  return p?.replace('keys could be swapped in transit', 'tokens and the client secret would travel in clear');
}

/**
 * The shorthand: AUTH_INTROSPECTION_* apply to the AUTH_ISSUER issuer (jwks or hs256 mode), and at
 * most one issuer may accept opaque tokens (an opaque token names no issuer). Returns `issuers`
 * with the shorthand's introspection attached; problems go to `r`.
 */
export function withIntrospection(r: Reading, issuers: IssuerConfig[]): IssuerConfig[] {
  const v = r.values;
  const production = v.NODE_ENV === 'production';
  const given = (
    [
      'AUTH_INTROSPECTION_URL',
      'AUTH_INTROSPECTION_CLIENT_ID',
      'AUTH_INTROSPECTION_CLIENT_SECRET',
      'AUTH_INTROSPECTION_OPAQUE',
      'AUTH_INTROSPECTION_CACHE_TTL_S',
      'AUTH_INTROSPECTION_TIMEOUT_MS',
    ] as const
  ).filter((n) => r.isSet(n));
  let out = issuers;
  if (given.length) {
    const target = issuers.find((i) => i.issuer === v.AUTH_ISSUER && i.kind !== 'supabase');
    if (v.AUTH_INTROSPECTION_URL === undefined) {
      if (!r.refused('AUTH_INTROSPECTION_URL')) r.fail(given[0]!, 'has no effect without AUTH_INTROSPECTION_URL');
    } else if (!target) {
      if (!r.refused('AUTH_ISSUER') && !r.refused('AUTH_MODE')) {
        const where = 'for AUTH_ISSUERS entries write "introspection" in the entry';
        r.fail('AUTH_INTROSPECTION_URL', `applies to the AUTH_ISSUER issuer (AUTH_MODE=jwks or hs256); ${where}`);
      }
    } else {
      const cfg = parseIntrospection(
        {
          url: v.AUTH_INTROSPECTION_URL,
          clientId: v.AUTH_INTROSPECTION_CLIENT_ID,
          clientSecret: v.AUTH_INTROSPECTION_CLIENT_SECRET,
          cacheTtlS: v.AUTH_INTROSPECTION_CACHE_TTL_S,
          opaque: v.AUTH_INTROSPECTION_OPAQUE,
          timeoutMs: v.AUTH_INTROSPECTION_TIMEOUT_MS,
        },
        production,
        (field, m) => r.fail(VARIABLE_OF[field ?? 'url'] ?? 'AUTH_INTROSPECTION_URL', m),
      );
      if (cfg) out = issuers.map((i) => (i === target ? { ...i, introspection: cfg } : i));
    }
  }
  const opaque = out.filter((i) => i.introspection?.opaque);
  if (opaque.length > 1) {
    const names = opaque.map((i) => i.issuer).join(' and ');
    r.fail('AUTH_ISSUERS', `opaque tokens are accepted by ${names}; an opaque token names no issuer, so at most one issuer may accept them`);
  }
  return out;
}
