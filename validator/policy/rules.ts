// Stage 5: route rules (AUTH_ROUTE_RULES): what the most specific rule requires, and AUTH_DEFAULT_POLICY.
import { forbidden, insufficientScope, type AuthError } from '../errors';
import { matchRoute, type RouteRule } from '../lib/routes';
import { unmet, type Unmet } from '../lib/requirements';
import type { Principal } from '../token/claims';

export type DefaultPolicy = 'allow' | 'deny';

function refuse(method: string, rule: RouteRule, u: Unmet): AuthError {
  const message = `${method} ${rule.path} requires ${u.detail}`;
  switch (u.kind) {
    // RFC 6750 §3: `scope` names the scopes that would do; only meaningful for a scope refusal.
    case 'scope':
      return insufficientScope([...u.scopes!], message);
    case 'role':
      return forbidden('role_missing', message);
    case 'claim':
      return forbidden('claim_mismatch', message);
  }
}

/**
 * Throws a 403 when the most specific rule matching method + path does not hold for the principal
 * (scope_missing with RFC 6750 insufficient_scope and `scope`; role_missing; claim_mismatch), or,
 * with the `deny` policy, when no rule matches (route_not_allowed).
 * A HEAD must also pass the GET rule: upstreams answer HEAD with their GET handler (RFC 9110 §9.3.2);
 * under `deny` either rule makes the route known.
 */
export function authorizeRoute(rules: readonly RouteRule[], method: string, path: string, principal: Principal, policy: DefaultPolicy = 'allow'): void {
  const asked = method === 'HEAD' ? ['GET', 'HEAD'] : [method];
  const matched = asked.map((m) => [m, matchRoute(rules, m, path)] as const);
  if (!matched.some(([, rule]) => rule)) {
    if (policy === 'deny') throw forbidden('route_not_allowed', `no rule allows ${method} on this path`);
    return;
  }
  for (const [m, rule] of matched) {
    const u = rule && unmet(rule, principal);
    if (u) throw refuse(m, rule, u);
  }
}
