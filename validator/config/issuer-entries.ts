// AUTH_ISSUERS: a JSON array of trusted issuers, each entry read field by field into a typed entry,
// and the issuer profile (claim mapping, algorithms, token types, audience claim) resolved from its
// preset and overrides. Every mistake is reported, naming the entry and the field; rules that depend
// on the environment (production, secret files) are applied in issuers.ts.
import { ConfigError } from '../errors';
import { ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS, type AsymmetricAlgorithm } from '../lib/algorithms';
import { expandAudience, parseClaimPath, type ClaimMapping, type ClaimPath } from '../lib/claim-mapping';
import { GENERIC_CLAIMS, PRESET_NAMES, PRESETS, type ClaimSpec, type PresetName } from '../lib/presets';
import { DPOP_POLICIES, type DpopPolicy } from './dpop';
import { keyUrlProblem } from './key-url';
import type { Parser } from './parsers';

export type IssuerKind = 'jwks' | 'supabase' | 'hs256';
const KINDS: readonly IssuerKind[] = ['jwks', 'supabase', 'hs256'];

/** Claim mapping overrides of an entry: each given field replaces the preset's. */
type ClaimOverrides = { -readonly [K in keyof ClaimMapping]?: ClaimMapping[K] };

/** One AUTH_ISSUERS entry as written, checked for types and values (not yet for the environment). */
export interface IssuerEntry {
  /** `[i] (issuer)`: how problems name the entry. */
  readonly where: string;
  readonly kind: IssuerKind;
  readonly issuer?: string;
  /** Supabase project URL (kind supabase). */
  readonly url?: string;
  readonly audiences?: readonly string[];
  readonly jwksUrl?: string;
  readonly algorithms?: readonly AsymmetricAlgorithm[];
  readonly tokenTypes?: readonly string[];
  readonly preset?: PresetName;
  readonly hmacSecret?: string;
  readonly hmacSecretFile?: string;
  readonly claims: ClaimOverrides;
  /** RFC 7662 introspection settings as written; checked with the environment in issuers.ts (config/introspection.ts). */
  readonly introspection?: unknown;
  /** RFC 9449 DPoP for this issuer's tokens (config/dpop.ts); unset: off. */
  readonly dpop?: DpopPolicy;
  /** Put before the subject in X-User-Id and the quota key ('' stated: shares the subject space). */
  readonly subjectPrefix?: string;
}

/** A subjectPrefix (config/subjects.ts): printable ASCII without space or comma (lists never split it), at most 64. */
export const SUBJECT_PREFIX = /^[\x21-\x2b\x2d-\x7e]{0,64}$/;

const ENTRY_KEYS = [
  'kind',
  'issuer',
  'url',
  'audience',
  'jwksUrl',
  'algorithms',
  'tokenTypes',
  'preset',
  'hmacSecret',
  'hmacSecretFile',
  'claims',
  'introspection',
  'dpop',
  'subjectPrefix',
];
const CLAIM_KEYS: ReadonlyArray<keyof ClaimMapping> = ['subject', 'scopes', 'roles', 'email', 'clientId'];
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The AUTH_ISSUERS value: a JSON array of objects (each entry is read by readEntries). */
export const issuerList: Parser<readonly Record<string, unknown>[]> = (raw, name) => {
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch (e) {
    throw new ConfigError(
      name,
      `is not valid JSON (${(e as Error).message}); write an array of issuer objects: [{"issuer": "https://…", "audience": "my-api"}]`,
    );
  }
  if (!Array.isArray(list) || !list.every(isObject))
    throw new ConfigError(name, 'must be a JSON array of issuer objects: [{"issuer": "https://…", "audience": "my-api"}]');
  if (list.length === 0) throw new ConfigError(name, 'lists no issuer; remove it, or add at least one entry');
  return list;
};

/**
 * RFC 7515 §4.1.9: `typ` is a media type compared case-insensitively, and `application/` may be
 * left out; '' stands for "no typ header".
 */
export function normalizeTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}
/** Accepted `typ` of an issuer that lists none: JWT (Keycloak, Entra, Auth0), at+jwt (RFC 9068), or none (Okta, Cognito). */
export const DEFAULT_TOKEN_TYPES: readonly string[] = Object.freeze(['jwt', 'at+jwt', '']);
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]*(\/[a-z0-9!#$&^_.+-]+)?$/;

/** Reads every entry of AUTH_ISSUERS; each problem goes to `fail` as one line naming entry and field. */
export function readEntries(list: readonly Record<string, unknown>[], fail: (message: string) => void): IssuerEntry[] {
  const out: IssuerEntry[] = [];
  list.forEach((e, i) => {
    const label = typeof e.issuer === 'string' ? e.issuer : typeof e.url === 'string' ? e.url : undefined;
    const where = `[${i}]${label === undefined ? '' : ` (${label.slice(0, 120)})`}`;
    let ok = true;
    const bad = (field: string, why: string) => {
      ok = false;
      fail(`${where} ${field}: ${why}`);
    };
    for (const k of Object.keys(e)) if (!ENTRY_KEYS.includes(k)) bad(k, `is not a known field; use ${ENTRY_KEYS.join(', ')}`);

    const str = (field: string): string | undefined => {
      const v = e[field];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v.trim() === '') return void bad(field, 'must be a non-empty string');
      return v;
    };
    const url = (field: string): string | undefined => {
      const v = str(field);
      if (v === undefined) return undefined;
      let problem: string | undefined;
      try {
        problem = keyUrlProblem(new URL(v), false);
      } catch {
        problem = `must be an absolute URL, got ${JSON.stringify(v)}`;
      }
      return problem ? void bad(field, problem) : v;
    };
    const strings = (field: string, allowEmptyItem = false): string[] | undefined => {
      const v = e[field];
      if (v === undefined) return undefined;
      const items = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(items) || items.length === 0 || !items.every((s) => typeof s === 'string' && (allowEmptyItem || s.trim() !== ''))) {
        return void bad(field, 'must be a non-empty string or a non-empty array of non-empty strings');
      }
      return items as string[];
    };

    const subjectPrefix = (): string | undefined => {
      const v = e.subjectPrefix;
      if (v === undefined || (typeof v === 'string' && SUBJECT_PREFIX.test(v))) return v;
      return void bad(
        'subjectPrefix',
        `must be a string of at most 64 printable ASCII characters without space or comma, e.g. "kc:"; got ${JSON.stringify(v)}`,
      );
    };
    const dpopPolicy = (): DpopPolicy | undefined => {
      if (e.dpop === undefined || (DPOP_POLICIES as readonly unknown[]).includes(e.dpop)) return e.dpop as DpopPolicy | undefined;
      return void bad('dpop', `must be ${DPOP_POLICIES.join(', ')}; got ${JSON.stringify(e.dpop)}`);
    };

    let kind: IssuerKind = e.hmacSecret !== undefined || e.hmacSecretFile !== undefined ? 'hs256' : 'jwks';
    if (e.kind !== undefined) {
      if (KINDS.includes(e.kind as IssuerKind)) kind = e.kind as IssuerKind;
      else bad('kind', `must be ${KINDS.join(', ')}; got ${JSON.stringify(e.kind)}`);
    }
    let preset: PresetName | undefined;
    if (e.preset !== undefined) {
      if (PRESET_NAMES.includes(e.preset as PresetName)) preset = e.preset as PresetName;
      else bad('preset', `unknown preset ${JSON.stringify(e.preset)}; use ${PRESET_NAMES.join(', ')}`);
    }
    if (kind === 'supabase') {
      if (preset !== undefined && preset !== 'supabase') bad('preset', `a Supabase entry uses the supabase preset; ${preset} does not apply`);
      preset = 'supabase';
    } else if (preset === 'supabase') {
      bad('preset', 'use "kind": "supabase" with "url": the project URL (Supabase users need its role, anonymous and e-mail rules, not only its claim names)');
    }

    let algorithms: AsymmetricAlgorithm[] | undefined;
    const algs = strings('algorithms');
    if (algs) {
      const unknown = algs.filter((a) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a));
      if (unknown.length)
        bad('algorithms', `${unknown.map((a) => JSON.stringify(a)).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not allowed: ${algorithmAdvice(unknown)}`);
      else algorithms = algs as AsymmetricAlgorithm[];
    }
    let tokenTypes: string[] | undefined;
    const typs = strings('tokenTypes', true);
    if (typs) {
      tokenTypes = typs.map(normalizeTyp);
      const badTyp = tokenTypes.find((t) => !MEDIA_TYPE.test(t));
      if (badTyp !== undefined) bad('tokenTypes', `${JSON.stringify(badTyp)} is not a media type such as "at+jwt" or "JWT" ("" accepts a token without typ)`);
    }

    const claims: ClaimOverrides = {};
    if (e.claims !== undefined) {
      if (!isObject(e.claims)) bad('claims', `must be an object with any of ${CLAIM_KEYS.join(', ')}`);
      else {
        for (const [k, v] of Object.entries(e.claims)) {
          const key = k as keyof ClaimMapping;
          if (!CLAIM_KEYS.includes(key)) {
            bad(`claims.${k}`, `is not a known field; use ${CLAIM_KEYS.join(', ')}`);
            continue;
          }
          const single = key === 'subject' || key === 'email';
          // a list field takes paths; a single path given alone is accepted as a list of one
          const specs = single ? [v] : Array.isArray(v) && v.every((p) => typeof p === 'string' || Array.isArray(p)) ? v : [v];
          const paths: ClaimPath[] = [];
          for (const spec of specs) {
            const p = parseClaimPath(spec);
            if (typeof p === 'string') bad(`claims.${k}`, p);
            else paths.push(p);
          }
          if (single) (claims as Record<string, unknown>)[key] = paths[0];
          else (claims as Record<string, unknown>)[key] = paths;
        }
      }
    }

    const entry: IssuerEntry = {
      where,
      kind,
      issuer: str('issuer'),
      url: url('url'),
      audiences: strings('audience'),
      jwksUrl: url('jwksUrl'),
      algorithms,
      tokenTypes,
      preset,
      hmacSecret: str('hmacSecret'),
      hmacSecretFile: str('hmacSecretFile'),
      claims,
      introspection: e.introspection,
      dpop: dpopPolicy(),
      subjectPrefix: subjectPrefix(),
    };
    // what each kind needs and forbids
    if (kind === 'supabase') {
      if (entry.url === undefined && !badField(e, 'url')) bad('url', 'is required for a Supabase entry: the project URL, e.g. https://abc.supabase.co');
    } else {
      if (entry.issuer === undefined && !badField(e, 'issuer')) bad('issuer', 'is required: the exact `iss` of the tokens');
      if (entry.audiences === undefined && !badField(e, 'audience'))
        bad('audience', 'is required: the `aud` value(s) your API accepts (see docs/IDENTITY-PROVIDERS.md for where each IdP puts it)');
      if (e.url !== undefined) bad('url', 'is only for "kind": "supabase" entries');
    }
    if (kind === 'jwks' && (e.hmacSecret !== undefined || e.hmacSecretFile !== undefined)) {
      bad('hmacSecret', 'must not be set for a jwks issuer: an HMAC secret is never accepted for an asymmetric issuer');
    }
    if (kind === 'hs256') {
      if (e.jwksUrl !== undefined) bad('jwksUrl', 'must not be set for an hs256 issuer: it has one shared secret');
      if (e.algorithms !== undefined) bad('algorithms', 'must not be set for an hs256 issuer: it accepts HS256 with its secret only');
      if (e.hmacSecret === undefined && e.hmacSecretFile === undefined) bad('hmacSecret', 'is required for an hs256 issuer (or hmacSecretFile)');
    }
    if (e.hmacSecret !== undefined && e.hmacSecretFile !== undefined) bad('hmacSecretFile', 'set hmacSecret or hmacSecretFile, not both');
    if (kind === 'supabase' && e.introspection !== undefined) bad('introspection', 'Supabase Auth has no RFC 7662 introspection endpoint');
    if (kind === 'supabase' && e.dpop !== undefined) bad('dpop', 'Supabase Auth issues no DPoP-bound tokens');
    if (ok) out.push(entry);
  });
  return out;
}

const badField = (e: Record<string, unknown>, field: string) => e[field] !== undefined;

/** Why listed algorithms are refused, and what to write instead. */
export function algorithmAdvice(refused: readonly string[]): string {
  const hmac = refused.some((a) => /^HS\d+$/i.test(a));
  const what = hmac ? 'an HMAC algorithm is never accepted with published keys (use an hs256 issuer with its own secret); ' : '';
  return `${what}use any of ${ASYMMETRIC_ALGORITHMS.join(', ')} (names are case-sensitive)`;
}

/** Everything about an issuer that follows from its preset and overrides (the IssuerConfig fields of the same names). */
export interface IssuerProfile {
  readonly preset?: PresetName;
  readonly claims: ClaimMapping;
  readonly jwksAlgorithms: readonly string[];
  readonly tokenTypes: readonly string[];
  readonly audienceClaim: string;
  readonly accessTokenClaims: Readonly<Record<string, string>>;
  readonly audienceHint?: string;
}

/** The profile of an issuer: preset defaults, then the entry's own values. `{audience}` paths are expanded here. */
export function resolveProfile(o: {
  kind: IssuerKind;
  preset?: PresetName;
  audiences: readonly string[];
  algorithms?: readonly string[];
  tokenTypes?: readonly string[];
  claims?: ClaimOverrides;
}): IssuerProfile {
  const preset = o.preset === undefined ? undefined : PRESETS[o.preset];
  const spec: ClaimSpec = preset?.claims ?? GENERIC_CLAIMS;
  const path = (s: string) => parseClaimPath(s) as ClaimPath; // the preset table's paths are valid (tested)
  const paths = (list: readonly string[]) => list.map(path);
  const expand = (list: readonly ClaimPath[]) => list.flatMap((p) => expandAudience(p, o.audiences));
  const over = o.claims ?? {};
  const claims: ClaimMapping = {
    subject: over.subject ?? path(spec.subject),
    scopes: expand(over.scopes ?? paths(spec.scopes)),
    roles: expand(over.roles ?? paths(spec.roles)),
    email: over.email ?? path(spec.email),
    clientId: expand(over.clientId ?? paths(spec.clientId)),
  };
  return {
    preset: o.preset,
    claims,
    jwksAlgorithms: o.kind === 'hs256' ? [] : (o.algorithms ?? preset?.algorithms ?? DEFAULT_ALGORITHMS),
    tokenTypes: o.tokenTypes ?? DEFAULT_TOKEN_TYPES,
    audienceClaim: preset?.audienceClaim ?? 'aud',
    accessTokenClaims: preset?.accessTokenClaims ?? {},
    audienceHint: preset?.audienceHint,
  };
}
