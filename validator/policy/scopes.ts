// Stage 5: per-route scope rules (AUTH_ROUTE_RULES).
import { insufficientScope } from '../errors';
import type { Principal } from '../token/claims';
import { matchRoute, type RouteRule } from '../lib/routes';

/**
 * Throws 403 insufficient_scope when the most specific matching rule needs a scope the token lacks.
 * A HEAD must also pass the GET rule: upstreams answer HEAD with their GET handler (RFC 9110 §9.3.2).
 */
export function authorizeRoute(rules: readonly RouteRule[], method: string, path: string, principal: Principal): void {
  if (method === 'HEAD') authorizeRoute(rules, 'GET', path, principal);
  const rule = matchRoute(rules, method, path);
  if (!rule || rule.scopes.length === 0) return;
  const missing = rule.scopes.filter((s) => !principal.scopes.includes(s));
  if (missing.length) throw insufficientScope([...rule.scopes], `${method} ${rule.path} requires scope ${missing.join(' ')}`);
}
