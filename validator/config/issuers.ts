// The cross-field rules that turn AUTH_MODE and its variables into the trusted issuers: what each
// mode requires and forbids, and what production refuses. Runs after every value is parsed and
// reports each broken rule to the Reading instead of stopping at the first.
import { keyUrlProblem } from './key-url';
import type { Reading } from './read';
import type { VariableName } from './schema';

export type IssuerKind = 'jwks' | 'supabase' | 'hs256';

export interface IssuerConfig {
  /** jwks: keys from a JWKS; hs256: one shared secret; supabase: JWKS plus the legacy secret, Supabase's user rules. */
  readonly kind: IssuerKind;
  /** Exact `iss` value. */
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Asymmetric algorithms accepted with JWKS keys (empty when the issuer has no JWKS). */
  readonly jwksAlgorithms: readonly string[];
  /** JWKS URL, or undefined to discover it from the issuer's openid-configuration. */
  readonly jwksUrl?: string;
  /** HS256 secret, when the issuer accepts HS256. */
  readonly hmacSecret?: Uint8Array;
}

export interface SupabaseConfig {
  readonly url: string;
  readonly allowAnonymous: boolean;
  readonly allowUnconfirmed: boolean;
}

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
const MIN_SECRET_BYTES = 32;

/** Applies the issuer rules to `r` (problems go to r.errors) and returns what they describe. */
export function buildIssuers(r: Reading): { issuers: IssuerConfig[]; supabase: SupabaseConfig | null } {
  const v = r.values;
  const production = v.NODE_ENV === 'production';
  const issuers: IssuerConfig[] = [];

  /** `name`'s value, or a "required" problem when it is missing (a refused value was reported already). */
  const need = <T>(name: VariableName, value: T | undefined, why: string): T | undefined => {
    const blank = value === undefined || (typeof value === 'string' && value.trim() === '');
    if (blank && !r.refused(name)) r.fail(name, `is required ${why}`);
    return blank ? undefined : value;
  };
  /** Production refuses plain http:// to a non-loopback host for any URL that keys come from. */
  const keyUrl = (name: VariableName, url: string | undefined): string | undefined => {
    const problem = url === undefined ? undefined : keyUrlProblem(new URL(url), production);
    if (problem) r.fail(name, problem);
    return url;
  };
  const secretBytes = (name: VariableName, secret: string): Uint8Array => {
    const bytes = new TextEncoder().encode(secret);
    if (production && bytes.length < MIN_SECRET_BYTES) {
      r.fail(name, `is ${bytes.length} bytes; an HS256 secret must be at least ${MIN_SECRET_BYTES} bytes in production`);
    }
    return bytes;
  };

  const modes = v.AUTH_MODE;
  if (modes === undefined && r.refused('AUTH_MODE')) return { issuers, supabase: null };
  if (!modes?.length) {
    r.fail('AUTH_MODE', 'no issuer is configured: set AUTH_MODE to jwks, supabase and/or hs256 (tollgate never runs without auth)');
    return { issuers, supabase: null };
  }

  if (modes.includes('jwks') && modes.includes('hs256')) {
    r.fail('AUTH_MODE', 'jwks and hs256 both use AUTH_ISSUER; choose one of them (Supabase HS256 tokens go through `supabase` mode)');
  } else if (modes.includes('jwks') || modes.includes('hs256')) {
    const mode = modes.includes('jwks') ? 'jwks' : 'hs256';
    const issuer = keyUrl('AUTH_ISSUER', need('AUTH_ISSUER', v.AUTH_ISSUER, `when AUTH_MODE includes ${mode}`));
    const audiences = need('AUTH_AUDIENCE', v.AUTH_AUDIENCE, `when AUTH_MODE includes ${mode}`);
    if (audiences?.length === 0) r.fail('AUTH_AUDIENCE', 'must list at least one audience (an empty list would refuse every token)');
    if (mode === 'jwks') {
      if (r.isSet('AUTH_JWT_SECRET')) r.fail('AUTH_JWT_SECRET', 'must not be set with AUTH_MODE=jwks: an HMAC secret is never accepted for an asymmetric issuer');
      if (v.AUTH_ALGORITHMS?.length === 0) r.fail('AUTH_ALGORITHMS', 'must list at least one algorithm');
      const jwksUrl = keyUrl('AUTH_JWKS_URL', v.AUTH_JWKS_URL);
      issuers.push({ kind: 'jwks', issuer: issuer!, audiences: audiences!, jwksAlgorithms: v.AUTH_ALGORITHMS!, jwksUrl });
    } else {
      if (r.isSet('AUTH_JWKS_URL')) r.fail('AUTH_JWKS_URL', 'must not be set with AUTH_MODE=hs256; use AUTH_MODE=jwks for asymmetric keys');
      const secret = need('AUTH_JWT_SECRET', v.AUTH_JWT_SECRET, 'when AUTH_MODE includes hs256');
      issuers.push({ kind: 'hs256', issuer: issuer!, audiences: audiences!, jwksAlgorithms: [], hmacSecret: secret === undefined ? undefined : secretBytes('AUTH_JWT_SECRET', secret) });
    }
  }

  let supabase: SupabaseConfig | null = null;
  if (modes.includes('supabase')) {
    const base = keyUrl('SUPABASE_URL', need('SUPABASE_URL', v.SUPABASE_URL, 'when AUTH_MODE includes supabase'))?.replace(/\/+$/, '');
    if (production && v.SUPABASE_ALLOW_UNCONFIRMED) {
      r.fail('SUPABASE_ALLOW_UNCONFIRMED', 'must not be true in production: unconfirmed email addresses may belong to anyone');
    }
    supabase = { url: base!, allowAnonymous: v.SUPABASE_ALLOW_ANONYMOUS!, allowUnconfirmed: v.SUPABASE_ALLOW_UNCONFIRMED! };
    const issuer = `${base}/auth/v1`;
    if (base !== undefined && issuers.some((i) => i.issuer === issuer)) r.fail('AUTH_ISSUER', `duplicates the Supabase issuer ${issuer}`);
    const secret = v.SUPABASE_JWT_SECRET;
    issuers.push({
      kind: 'supabase',
      issuer,
      audiences: ['authenticated'],
      // Supabase's asymmetric signing keys are ES256 (default) or RS256.
      jwksAlgorithms: ['ES256', 'RS256'],
      jwksUrl: `${issuer}/.well-known/jwks.json`,
      hmacSecret: secret === undefined ? undefined : secretBytes('SUPABASE_JWT_SECRET', secret),
    });
  }
  return { issuers, supabase };
}
