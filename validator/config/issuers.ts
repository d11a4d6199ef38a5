// The cross-field rules that turn AUTH_ISSUERS and the single-issuer shorthand (AUTH_MODE and its
// variables) into the trusted issuers: what each kind requires and forbids, what production refuses,
// and that one `iss` is configured once. Runs after every value is parsed and reports each broken
// rule to the Reading instead of stopping at the first.
import { readFileSync } from 'node:fs';
import type { PresetName } from '../lib/presets';
import type { DpopPolicy } from './dpop';
import { readEntries, resolveProfile, type IssuerEntry, type IssuerKind, type IssuerProfile } from './issuer-entries';
import { parseIntrospection, type IntrospectionConfig } from './introspection';
import { keyUrlProblem } from './key-url';
import type { Reading } from './read';
import type { VariableName } from './schema';

/** One trusted issuer: chosen by a token's `iss`; its keys, algorithms and claim rules apply to that token only. */
export interface IssuerConfig extends IssuerProfile {
  /** jwks: keys from a JWKS; hs256: one shared secret; supabase: JWKS plus the legacy secret, Supabase's user rules. */
  readonly kind: IssuerKind;
  /** Exact `iss` value. */
  readonly issuer: string;
  /** Accepted values of the audience claim (`aud`, or the preset's audienceClaim). */
  readonly audiences: readonly string[];
  /** JWKS URL, or undefined to discover it from the issuer's openid-configuration. */
  readonly jwksUrl?: string;
  /** HS256 secret, when the issuer accepts HS256. */
  readonly hmacSecret?: Uint8Array;
  /** RFC 7662 introspection of this issuer's tokens (config/introspection.ts), when configured. */
  readonly introspection?: IntrospectionConfig;
  /** RFC 9449 DPoP for this issuer's tokens (config/dpop.ts); undefined: off. */
  readonly dpop?: DpopPolicy;
  /**
   * Put before the subject in X-User-Id and the quota key, so that two issuers' equal subjects are
   * two users (config/subjects.ts). Undefined: not stated (no prefix); '': stated, none.
   */
  readonly subjectPrefix?: string;
}

/** Supabase's user rules; they apply to every Supabase issuer (SUPABASE_URL and `kind: "supabase"` entries). */
export interface SupabaseConfig {
  /** The first Supabase project's URL. */
  readonly url: string;
  readonly allowAnonymous: boolean;
  readonly allowUnconfirmed: boolean;
}

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
const MIN_SECRET_BYTES = 32;
/** Shorthand variables that only an AUTH_MODE of jwks or hs256 reads. */
const SHORTHAND: readonly VariableName[] = ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_JWKS_URL', 'AUTH_JWT_SECRET', 'AUTH_PRESET', 'AUTH_SUBJECT_PREFIX'];

/** A Supabase project's `iss`, from its URL (SUPABASE_URL or an entry's `url`). */
export function supabaseIssuerOf(url: string): string {
  return `${url.replace(/\/+$/, '')}/auth/v1`;
}

/** Applies the issuer rules to `r` (problems go to r.errors) and returns what they describe. */
export function buildIssuers(r: Reading): { issuers: IssuerConfig[]; supabase: SupabaseConfig | null } {
  const v = r.values;
  const production = v.NODE_ENV === 'production';
  const issuers: IssuerConfig[] = [];
  const supabaseUrls: string[] = [];
  /** Where each `iss` was configured, to refuse a second configuration of it. */
  const configuredBy = new Map<string, string>();

  /** `name`'s value, or a "required" problem when it is missing (a refused value was reported already). */
  const need = <T>(name: VariableName, value: T | undefined, why: string): T | undefined => {
    const blank = value === undefined || (typeof value === 'string' && value.trim() === '');
    if (blank && !r.refused(name)) r.fail(name, `is required ${why}`);
    return blank ? undefined : value;
  };
  /** Production refuses plain http:// to a non-loopback host for any URL that keys come from. */
  const keyUrl = (name: string, url: string | undefined, field = ''): string | undefined => {
    const problem = url === undefined ? undefined : keyUrlProblem(new URL(url), production);
    if (problem) r.fail(name, `${field}${problem}`);
    return url;
  };
  const secretBytes = (name: string, secret: string, field = ''): Uint8Array => {
    const bytes = new TextEncoder().encode(secret);
    if (production && bytes.length < MIN_SECRET_BYTES) {
      r.fail(name, `${field}is ${bytes.length} bytes; an HS256 secret must be at least ${MIN_SECRET_BYTES} bytes in production`);
    }
    return bytes;
  };
  /** Adds an issuer; `label` names where it is configured, `prefix` starts a problem about it. */
  const add = (variable: string, label: string, prefix: string, issuer: IssuerConfig) => {
    const first = configuredBy.get(issuer.issuer);
    if (first !== undefined) r.fail(variable, `${prefix}duplicates the issuer ${issuer.issuer} of ${first}: a token's iss must choose one issuer`);
    else configuredBy.set(issuer.issuer, label);
    issuers.push(issuer);
  };
  const supabaseIssuer = (
    variable: string,
    label: string,
    prefix: string,
    url: string,
    o: {
      audiences?: readonly string[];
      jwksUrl?: string;
      algorithms?: readonly string[];
      tokenTypes?: readonly string[];
      claims?: IssuerEntry['claims'];
      secret?: Uint8Array;
      issuer?: string;
      subjectPrefix?: string;
    },
  ) => {
    const base = url.replace(/\/+$/, '');
    const issuer = supabaseIssuerOf(url);
    if (o.issuer !== undefined && o.issuer !== issuer)
      r.fail(variable, `${prefix}issuer: a Supabase project's issuer is ${issuer}; leave issuer out or write that`);
    supabaseUrls.push(base);
    const audiences = o.audiences ?? ['authenticated'];
    const profile = resolveProfile({ kind: 'supabase', preset: 'supabase', audiences, algorithms: o.algorithms, tokenTypes: o.tokenTypes, claims: o.claims });
    add(variable, label, prefix, {
      kind: 'supabase',
      issuer,
      audiences,
      jwksUrl: o.jwksUrl ?? `${issuer}/.well-known/jwks.json`,
      hmacSecret: o.secret,
      ...profile,
      ...(o.subjectPrefix !== undefined ? { subjectPrefix: o.subjectPrefix } : {}),
    });
  };

  // --- AUTH_ISSUERS: any number of issuers
  const entries = v.AUTH_ISSUERS === undefined ? [] : readEntries(v.AUTH_ISSUERS, (m) => r.fail('AUTH_ISSUERS', m));
  for (const e of entries) fromEntry(e);

  function fromEntry(e: IssuerEntry): void {
    const name = 'AUTH_ISSUERS';
    // keys come from the JWKS URL when it is set, else from discovery under the issuer
    if (e.jwksUrl !== undefined) keyUrl(name, e.jwksUrl, `${e.where} jwksUrl: `);
    else if (e.kind === 'jwks') {
      let discoverable = false;
      try {
        discoverable = /^https?:$/.test(new URL(e.issuer!).protocol);
      } catch {
        // not a URL: fine for iss, but discovery needs one
      }
      if (!discoverable)
        return r.fail(
          name,
          `${e.where} jwksUrl: is required when the issuer is not an http(s) URL (keys are discovered from <issuer>/.well-known/openid-configuration)`,
        );
      keyUrl(name, e.issuer, `${e.where} issuer: `);
    }
    if (e.url !== undefined) keyUrl(name, e.url, `${e.where} url: `);
    let secret: Uint8Array | undefined;
    let raw = e.hmacSecret;
    if (e.hmacSecretFile !== undefined) {
      try {
        raw = readFileSync(e.hmacSecretFile, 'utf8').replace(/\r?\n$/, '');
        if (raw === '') r.fail(name, `${e.where} hmacSecretFile: ${e.hmacSecretFile} is empty`);
      } catch (err) {
        r.fail(name, `${e.where} hmacSecretFile: cannot read ${e.hmacSecretFile}: ${(err as Error).message}`);
      }
    }
    if (raw) secret = secretBytes(name, raw, `${e.where} hmacSecret: `);
    if (e.kind === 'supabase') {
      return supabaseIssuer(name, `AUTH_ISSUERS${e.where}`, `${e.where} `, e.url!, {
        audiences: e.audiences,
        jwksUrl: e.jwksUrl,
        algorithms: e.algorithms,
        tokenTypes: e.tokenTypes,
        claims: e.claims,
        secret,
        issuer: e.issuer,
        subjectPrefix: e.subjectPrefix,
      });
    }
    const profile = resolveProfile({
      kind: e.kind,
      preset: e.preset,
      audiences: e.audiences!,
      algorithms: e.algorithms,
      tokenTypes: e.tokenTypes,
      claims: e.claims,
    });
    const introspection =
      e.introspection === undefined
        ? undefined
        : parseIntrospection(e.introspection, production, (field, m) => r.fail(name, `${e.where} introspection${field ? `.${field}` : ''}: ${m}`));
    add(name, `AUTH_ISSUERS${e.where}`, `${e.where} `, {
      kind: e.kind,
      issuer: e.issuer!,
      audiences: e.audiences!,
      jwksUrl: e.jwksUrl,
      hmacSecret: secret,
      ...profile,
      ...(introspection ? { introspection } : {}),
      ...(e.dpop ? { dpop: e.dpop } : {}),
      ...(e.subjectPrefix !== undefined ? { subjectPrefix: e.subjectPrefix } : {}),
    });
  }

  // --- the shorthand: one issuer per AUTH_MODE value
  const modes = v.AUTH_MODE;
  if (modes === undefined && r.refused('AUTH_MODE')) return { issuers, supabase: null };
  if (!modes?.length) {
    if (v.AUTH_ISSUERS !== undefined) {
      // AUTH_ISSUERS alone: the shorthand is not read; say so rather than ignore what was meant
      for (const name of SHORTHAND)
        if (r.isSet(name)) r.fail(name, 'has no effect without AUTH_MODE=jwks or hs256; put it in an AUTH_ISSUERS entry, or set AUTH_MODE');
    } else if (!r.refused('AUTH_ISSUERS')) {
      r.fail(
        'AUTH_MODE',
        'no issuer is configured: set AUTH_ISSUERS (a JSON list of issuers), or AUTH_MODE to jwks, supabase and/or hs256 (tollgate never runs without auth)',
      );
    }
    return { issuers, supabase: supabaseSettings() };
  }

  if (modes.includes('jwks') && modes.includes('hs256')) {
    r.fail(
      'AUTH_MODE',
      'jwks and hs256 both use AUTH_ISSUER; choose one of them (Supabase HS256 tokens go through `supabase` mode), or list both in AUTH_ISSUERS',
    );
  } else if (modes.includes('jwks') || modes.includes('hs256')) {
    const mode = modes.includes('jwks') ? 'jwks' : 'hs256';
    const issuer = keyUrl('AUTH_ISSUER', need('AUTH_ISSUER', v.AUTH_ISSUER, `when AUTH_MODE includes ${mode}`));
    const audiences = need('AUTH_AUDIENCE', v.AUTH_AUDIENCE, `when AUTH_MODE includes ${mode}`);
    if (audiences?.length === 0) r.fail('AUTH_AUDIENCE', 'must list at least one audience (an empty list would refuse every token)');
    const preset: PresetName | undefined = v.AUTH_PRESET;
    const prefix = v.AUTH_SUBJECT_PREFIX === undefined ? {} : { subjectPrefix: v.AUTH_SUBJECT_PREFIX };
    if (preset === 'supabase') r.fail('AUTH_PRESET', 'supabase is not a preset for AUTH_ISSUER: use AUTH_MODE=supabase with SUPABASE_URL');
    if (mode === 'jwks') {
      if (r.isSet('AUTH_JWT_SECRET'))
        r.fail('AUTH_JWT_SECRET', 'must not be set with AUTH_MODE=jwks: an HMAC secret is never accepted for an asymmetric issuer');
      if (v.AUTH_ALGORITHMS?.length === 0) r.fail('AUTH_ALGORITHMS', 'must list at least one algorithm');
      const jwksUrl = keyUrl('AUTH_JWKS_URL', v.AUTH_JWKS_URL);
      // AUTH_ALGORITHMS has a default: the preset's algorithms apply unless it is set
      const algorithms = r.isSet('AUTH_ALGORITHMS') || preset === undefined ? v.AUTH_ALGORITHMS : undefined;
      const profile = resolveProfile({ kind: 'jwks', preset, audiences: audiences ?? [], algorithms });
      if (issuer !== undefined && audiences !== undefined)
        add('AUTH_ISSUER', 'AUTH_ISSUER', '', { kind: 'jwks', issuer, audiences, jwksUrl, ...profile, ...prefix });
    } else {
      if (r.isSet('AUTH_JWKS_URL')) r.fail('AUTH_JWKS_URL', 'must not be set with AUTH_MODE=hs256; use AUTH_MODE=jwks for asymmetric keys');
      const secret = need('AUTH_JWT_SECRET', v.AUTH_JWT_SECRET, 'when AUTH_MODE includes hs256');
      const profile = resolveProfile({ kind: 'hs256', preset, audiences: audiences ?? [] });
      const hmacSecret = secret === undefined ? undefined : secretBytes('AUTH_JWT_SECRET', secret);
      if (issuer !== undefined && audiences !== undefined)
        add('AUTH_ISSUER', 'AUTH_ISSUER', '', { kind: 'hs256', issuer, audiences, hmacSecret, ...profile, ...prefix });
    }
  }

  if (modes.includes('supabase')) {
    const base = keyUrl('SUPABASE_URL', need('SUPABASE_URL', v.SUPABASE_URL, 'when AUTH_MODE includes supabase'));
    const secret = v.SUPABASE_JWT_SECRET;
    if (base !== undefined) {
      supabaseIssuer('AUTH_ISSUER', 'SUPABASE_URL', 'SUPABASE_URL ', base, {
        secret: secret === undefined ? undefined : secretBytes('SUPABASE_JWT_SECRET', secret),
        subjectPrefix: v.SUPABASE_SUBJECT_PREFIX,
      });
    }
  }
  return { issuers, supabase: supabaseSettings() };

  /** Supabase's user rules, when any Supabase issuer is configured. */
  function supabaseSettings(): SupabaseConfig | null {
    if (supabaseUrls.length === 0 && !modes?.includes('supabase')) return null;
    if (production && v.SUPABASE_ALLOW_UNCONFIRMED) {
      r.fail('SUPABASE_ALLOW_UNCONFIRMED', 'must not be true in production: unconfirmed email addresses may belong to anyone');
    }
    return { url: supabaseUrls[0]!, allowAnonymous: v.SUPABASE_ALLOW_ANONYMOUS!, allowUnconfirmed: v.SUPABASE_ALLOW_UNCONFIRMED! };
  }
}
