// Parses what an AUTH_ROUTE_RULES rule requires: scopes (array or space/comma string), or the object
// form {"scopes", "roles", "claims", "any"}. Every mistake is a ConfigError: a misspelt key that
// were silently ignored would open the route it was meant to guard.
import { ConfigError } from '../errors';
import { parseClaimPath } from '../lib/claim-mapping';
import type { ClaimRequirement, ClaimValue, Requirement } from '../lib/requirements';
import { SCOPE_TOKEN } from '../lib/scopes';

/** Keys of the object form. */
const REQUIREMENT_KEYS = ['scopes', 'roles', 'claims', 'any'] as const;
/** `any` inside `any` inside …: deeper than this is a mistake, not a policy. */
const MAX_DEPTH = 4;
// Control characters or surrounding spaces in a role or claim name can never match what an IdP sends.
const BAD_NAME = /[\u0000-\u001f\u007f]|^\s|\s$/;

/**
 * Splits the scopes of an AUTH_ROUTE_RULES rule: space- or comma-separated, so a rule scope never
 * contains a comma. Token scopes are not read here: they split on spaces only and a token scope
 * containing a comma is dropped (scopesOf in token/claims.ts), so `"x,admin"` never meets `admin`.
 */
export function splitScopes(s: string): string[] {
  return s.split(/[\s,]+/).filter(Boolean);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export class RequirementParser {
  constructor(private readonly variable: string) {}

  private fail(message: string): never {
    throw new ConfigError(this.variable, message);
  }

  scopes(v: unknown, where: string): string[] {
    let scopes: string[];
    if (typeof v === 'string') scopes = splitScopes(v);
    else if (Array.isArray(v) && v.every((s) => typeof s === 'string')) scopes = v.flatMap(splitScopes);
    else this.fail(`scopes of ${where} must be a string or an array of strings`);
    // A scope no token can carry would refuse everyone on that route, silently.
    const bad = scopes.find((s) => !SCOPE_TOKEN.test(s));
    if (bad !== undefined) {
      const what = 'an RFC 6749 scope-token (printable ASCII without space, ", \\ or comma)';
      this.fail(`scope ${JSON.stringify(bad)} of ${where} is not ${what}: no token could satisfy it`);
    }
    return scopes;
  }

  /** A rule's value: scopes (string or array), or the object form. `extra`: keys the caller reads itself (method, path). */
  requirement(v: unknown, where: string, extra: readonly string[] = [], depth = 0): Requirement & { scopes: string[] } {
    if (!isObject(v)) return { scopes: this.scopes(v, where) };
    const unknown = Object.keys(v).find((k) => !(REQUIREMENT_KEYS as readonly string[]).includes(k) && !extra.includes(k));
    if (unknown !== undefined) this.fail(`${where}: unknown key ${JSON.stringify(unknown)}; a rule may require ${REQUIREMENT_KEYS.join(', ')}`);
    const out: { scopes: string[]; roles?: string[]; claims?: ClaimRequirement[]; any?: Requirement[] } = { scopes: this.scopes(v.scopes ?? [], where) };
    if (v.roles !== undefined) {
      const roles = this.roles(v.roles, where);
      if (roles.length) out.roles = roles;
    }
    if (v.claims !== undefined) {
      const claims = this.claims(v.claims, where);
      if (claims.length) out.claims = claims;
    }
    if (v.any !== undefined) {
      if (!Array.isArray(v.any) || v.any.length === 0) this.fail(`"any" of ${where} must be a non-empty array of requirements (one of them must hold)`);
      if (depth + 1 >= MAX_DEPTH) this.fail(`${where}: "any" is nested more than ${MAX_DEPTH - 1} levels deep`);
      out.any = v.any.map((alt, i) => this.requirement(alt, `${where} any[${i}]`, [], depth + 1));
    }
    return out;
  }

  /** One role (a string, taken whole: role names may contain spaces) or an array of roles, all required. */
  private roles(v: unknown, where: string): string[] {
    const roles = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) this.fail(`roles of ${where} must be a string or an array of strings`);
    const bad = roles.find((r) => r === '' || BAD_NAME.test(r));
    if (bad !== undefined) {
      this.fail(`role ${JSON.stringify(bad)} of ${where} is empty, has surrounding spaces or control characters: no token could satisfy it`);
    }
    return roles;
  }

  /** {"aal": "aal2", "app_metadata.plan": ["pro", "team"], "email_verified": true} */
  private claims(v: unknown, where: string): ClaimRequirement[] {
    if (!isObject(v)) this.fail(`claims of ${where} must be an object of claim name → value or array of values`);
    return Object.entries(v).map(([claim, value]) => {
      // Dotted: `app_metadata.plan` is the key `plan` of the object claim `app_metadata` (a claim
      // whose own name holds a dot is reached through the issuer's claim mapping, as roles).
      const path = BAD_NAME.test(claim) ? 'has surrounding spaces or control characters' : parseClaimPath(claim);
      if (typeof path === 'string') {
        this.fail(`claim name ${JSON.stringify(claim)} of ${where} ${path} (write a name or dotted path, e.g. "app_metadata.plan")`);
      }
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0) this.fail(`claim ${claim} of ${where}: an empty list of values could never match`);
      for (const x of values) {
        const ok = typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
        if (!ok) this.fail(`claim ${claim} of ${where}: values must be strings, numbers or booleans (or an array of them), got ${JSON.stringify(x)}`);
      }
      return { claim, path, values: values as ClaimValue[] };
    });
  }
}
