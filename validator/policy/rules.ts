// Stage 5: route rules (AUTH_ROUTE_RULES): what the most specific rule requires, and AUTH_DEFAULT_POLICY.
import { forbidden, insufficientScope, type AuthError } from '../errors';
import { matchRoute, mayHaveFormatSuffix, type RouteRule } from '../lib/routes';
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
 *
 * A path whose last segment has a "." is read twice: as written (Express, Tomcat: `/api/admin.json`
 * is a path of its own) and with a format suffix (Rails: the `/api/admin` action). The rule of each
 * reading must hold, so neither reading's rule is skipped because the other's prefix is longer;
 * under `deny` only the path as written makes a route known.
 */
export function authorizeRoute(rules: readonly RouteRule[], method: string, path: string, principal: Principal, policy: DefaultPolicy = 'allow'): void {
  const asked = method === 'HEAD' ? ['GET', 'HEAD'] : [method];
  const suffixed = mayHaveFormatSuffix(path);
  const matched = asked.map((m) => [m, matchRoute(rules, m, path, false)] as const);
  if (!matched.some(([, rule]) => rule)) {
    if (policy === 'deny') throw forbidden('route_not_allowed', `no rule allows ${method} on this path`);
    if (!suffixed) return;
  }
  if (suffixed) {
    for (const m of asked) {
      const rule = matchRoute(rules, m, path);
      if (rule && !matched.some(([, r]) => r === rule)) matched.push([m, rule]);
    }
  }
  for (const [m, rule] of matched) {
    const u = rule && unmet(rule, principal);
    if (u) throw refuse(m, rule, u);
  }
}
