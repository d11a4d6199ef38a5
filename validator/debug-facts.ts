// At LOG_LEVEL=debug the decision line says what the token carried and what the route asked for,
// so that "why was my token refused?" is answered by the log: the token's iss, aud, alg, kid and
// typ, and the matching rule's requirements next to the scopes (and roles) the token holds.
// Never the token or its signature. Built only at debug: nothing is decoded otherwise.
import type { Config } from './config';
import { readPath } from './lib/paths';
import { matchRoute } from './lib/routes';
import type { Principal } from './token/claims';
import { tokenFacts } from './token/facts';

export interface DebugFacts {
  /** The token's header and registered claims as sent (unverified on a refusal). */
  jwt?: { iss?: string; aud?: string | string[]; alg?: string; kid?: string; typ?: string; sub?: string; client?: string };
  /** The rule that matched the original request (`METHOD /prefix`), or null when none did. */
  rule?: string | null;
  /** What that rule requires (its scopes, and any other requirement it lists). */
  required?: Record<string, unknown>;
  /** What the token holds: the verified principal's scopes (and roles), else the decoded token's scopes. */
  present?: { scopes?: readonly string[]; roles?: readonly string[] };
}

/** What debugFacts reads of a decision's input (pipeline.ts's DecisionInput has these fields). */
export interface DebugInput {
  authorization?: string;
  method?: string;
  uri?: string;
}

/** The debug fields of one decision (see DebugFacts). `principal`: the verified one, when verification passed. */
export function debugFacts(input: DebugInput, config: Config, principal?: Principal): DebugFacts {
  const t = tokenFacts(input.authorization);
  const facts: DebugFacts = {};
  if (t) {
    const typ = [t.typ, t.payloadTyp && `payload ${t.payloadTyp}`].filter(Boolean).join(', ') || undefined;
    facts.jwt = { iss: t.iss, aud: t.aud, alg: t.alg, kid: t.kid, typ, sub: t.sub, client: t.client };
  }
  const path = input.uri === undefined ? undefined : readPath(input.uri);
  if (input.method !== undefined && typeof path === 'string') {
    const rule = matchRoute(config.auth.routeRules, input.method.toUpperCase(), path);
    facts.rule = rule ? `${rule.method} ${rule.path}` : null;
    if (rule) {
      const { method: _m, path: _p, ...required } = rule;
      facts.required = required;
    }
  }
  const roles = (principal as { roles?: readonly string[] } | undefined)?.roles;
  facts.present = principal ? { scopes: principal.scopes, ...(roles ? { roles } : {}) } : { scopes: t?.scopes };
  return facts;
}
