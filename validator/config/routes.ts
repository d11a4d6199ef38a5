// Parsing of the route configuration (AUTH_ROUTE_RULES, QUOTA_ROUTES) with lib's pure readers; matching lives in lib/routes.
import { ConfigError } from '../errors';
import { readPath } from '../lib/paths';
import { asciiLower, type RouteMatch, type RouteRule } from '../lib/routes';
import type { Reading } from './read';
import { RequirementParser } from './requirements';

const METHOD = /^(\*|[A-Z]+)$/;

function checkMatch(variable: string, method: string, path: string): RouteMatch {
  const m = method.trim().toUpperCase();
  if (!METHOD.test(m)) throw new ConfigError(variable, `bad method ${JSON.stringify(method)} (use GET, POST, … or *)`);
  if (!path.startsWith('/')) throw new ConfigError(variable, `path ${JSON.stringify(path)} must start with /`);
  // Request paths are matched as readPath reads them: a rule path it never returns would never
  // match (or, refused, never be requested at all). Stored lower-cased: matching ignores ASCII case.
  const read = readPath(path);
  if (typeof read !== 'string') {
    throw new ConfigError(variable, `path ${JSON.stringify(path)} is not in normal form: requests with ${read.why} are refused, so it could never match`);
  }
  if (read !== path) {
    const hint = readPath(read) === read ? `; write ${JSON.stringify(read)}` : ' (write printable ASCII without %-escapes, ? or #)';
    throw new ConfigError(variable, `path ${JSON.stringify(path)} is not in normal form${hint}`);
  }
  return { method: m, path: asciiLower(path) };
}

/** Parses `POST /api/tasks, PUT /api/jobs` (QUOTA_ROUTES). */
export function parseRouteList(variable: string, raw: string): RouteMatch[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const parts = entry.split(/\s+/);
      if (parts.length !== 2) throw new ConfigError(variable, `entry ${JSON.stringify(entry)} must be "METHOD /path", e.g. "POST /api/tasks"`);
      return checkMatch(variable, parts[0]!, parts[1]!);
    });
}

/**
 * Parses AUTH_ROUTE_RULES: either `{"POST /api/": ["api:write"]}` or `[{"method": "POST", "path":
 * "/api/", "scopes": ["api:write"]}]`. A rule's value is scopes (array, or space/comma string) or
 * an object `{"scopes", "roles", "claims", "any"}` (config/requirements.ts).
 */
export function parseRouteRules(variable: string, raw: string): RouteRule[] {
  const rules = parseRouteRuleShapes(variable, raw);
  // two rules for the same route (letter case aside) would make one of them silently dead
  const seen = new Set<string>();
  for (const r of rules) {
    const k = `${r.method} ${r.path}`;
    if (seen.has(k)) throw new ConfigError(variable, `two rules for ${JSON.stringify(k)}; merge their requirements into one rule (use "any" for alternatives)`);
    seen.add(k);
  }
  return rules;
}

function parseRouteRuleShapes(variable: string, raw: string): RouteRule[] {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new ConfigError(variable, `is not valid JSON: ${(e as Error).message}`);
  }
  const p = new RequirementParser(variable);
  if (Array.isArray(json)) {
    return json.map((r, i) => {
      if (!r || typeof r !== 'object' || typeof r.method !== 'string' || typeof r.path !== 'string') {
        throw new ConfigError(variable, `rule #${i} must be {"method": "...", "path": "/...", "scopes": [...]}`);
      }
      return { ...checkMatch(variable, r.method, r.path), ...p.requirement(r, `rule #${i}`, ['method', 'path']) };
    });
  }
  if (json && typeof json === 'object') {
    return Object.entries(json).map(([key, value]) => {
      const [method, path, extra] = key.trim().split(/\s+/);
      if (!method || !path || extra) throw new ConfigError(variable, `key ${JSON.stringify(key)} must be "METHOD /path"`);
      return { ...checkMatch(variable, method, path), ...p.requirement(value, key) };
    });
  }
  throw new ConfigError(variable, 'must be a JSON object or array of rules');
}

/**
 * AUTH_DEFAULT_POLICY=deny without a single rule refuses every request: certainly not what was
 * meant, so start-up says so instead of serving 403s.
 */
export function checkDefaultPolicy(r: Reading): void {
  const { AUTH_DEFAULT_POLICY: policy, AUTH_ROUTE_RULES: rules } = r.values;
  if (policy === 'deny' && rules?.length === 0 && !r.refused('AUTH_ROUTE_RULES')) {
    r.fail(
      'AUTH_DEFAULT_POLICY',
      'is deny but AUTH_ROUTE_RULES has no rule, so every request would be refused; add rules (`{"GET /api/": []}` lets any valid token through)',
    );
  }
}
