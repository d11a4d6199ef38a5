// What a route rule requires of a token (scopes, roles, claim values, any-of alternatives), and the
// pure check of one requirement against what a token holds. The policy stage turns "unmet" into a refusal.
import { claimAt, type ClaimPath } from './claim-mapping';

/** A value a claim rule accepts: compared with ===, so `true` never matches `"true"`, nor `1` `"1"`. */
export type ClaimValue = string | number | boolean;

export interface ClaimRequirement {
  /** The claim's name as written in the rule (`aal`, `app_metadata.plan`), for messages. */
  readonly claim: string;
  /** Its keys from the payload's top level down (parseClaimPath of `claim`). */
  readonly path: ClaimPath;
  /** Accepted values: the claim equals one of them, or (an array claim) contains one of them. */
  readonly values: readonly ClaimValue[];
}

/**
 * Everything listed must hold (all-of); `any` holds when one of its alternatives does. A missing or
 * empty list requires nothing, so `{}` lets any valid token pass.
 */
export interface Requirement {
  readonly scopes?: readonly string[];
  readonly roles?: readonly string[];
  readonly claims?: readonly ClaimRequirement[];
  readonly any?: readonly Requirement[];
}

/** What a token holds, as the Principal carries it. */
export interface Holder {
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Why a requirement does not hold: the kind decides the reason code, `detail` the message. */
export interface Unmet {
  readonly kind: 'scope' | 'role' | 'claim';
  /** With kind `scope`: the scopes that would do (RFC 6750 §3 `scope` attribute). */
  readonly scopes?: readonly string[];
  readonly detail: string;
}

const show = (values: readonly ClaimValue[]): string => values.map((v) => JSON.stringify(v)).join(' or ');

function claimHolds(c: ClaimRequirement, claims: Readonly<Record<string, unknown>>): boolean {
  const v = claimAt(claims, c.path);
  // An array claim (groups, roles, amr) holds when it contains an accepted value.
  if (Array.isArray(v)) return v.some((x) => c.values.includes(x as ClaimValue));
  return c.values.includes(v as ClaimValue);
}

/** undefined when `r` holds for `h`; otherwise the first thing missing (scopes, roles, claims, then any). */
export function unmet(r: Requirement, h: Holder): Unmet | undefined {
  const scopes = r.scopes?.filter((s) => !h.scopes.includes(s));
  if (scopes?.length) return { kind: 'scope', scopes: r.scopes, detail: `scope ${scopes.join(' ')}` };
  const roles = r.roles?.filter((s) => !h.roles.includes(s));
  if (roles?.length) return { kind: 'role', detail: `role ${roles.join(' ')}` };
  for (const c of r.claims ?? []) {
    if (!claimHolds(c, h.claims)) return { kind: 'claim', detail: `claim ${c.claim} = ${show(c.values)}` };
  }
  if (r.any?.length) {
    const missed: Unmet[] = [];
    for (const alt of r.any) {
      const u = unmet(alt, h);
      if (u === undefined) return undefined;
      missed.push(u);
    }
    // The code of the first alternative (they usually share one); the message lists them all.
    return { ...missed[0]!, detail: `one of (${missed.map((m) => m.detail).join(' | ')})` };
  }
  return undefined;
}
