// Parsing of the route configuration (AUTH_ROUTE_RULES, QUOTA_ROUTES) with lib's pure readers; matching lives in lib/routes.
import { ConfigError } from '../errors';
import { readPath } from '../lib/paths';
import { asciiLower, type RouteMatch, type RouteRule } from '../lib/routes';
import { SCOPE_TOKEN } from '../lib/scopes';

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
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
    const parts = entry.split(/\s+/);
    if (parts.length !== 2) throw new ConfigError(variable, `entry ${JSON.stringify(entry)} must be "METHOD /path", e.g. "POST /api/tasks"`);
    return checkMatch(variable, parts[0]!, parts[1]!);
  });
}

/**
 * Parses AUTH_ROUTE_RULES: either `{"POST /api/": ["api:write"]}` (scopes as array or
 * space/comma string) or `[{"method": "POST", "path": "/api/", "scopes": ["api:write"]}]`.
 */
export function parseRouteRules(variable: string, raw: string): RouteRule[] {
  const rules = parseRouteRuleShapes(variable, raw);
  // two rules for the same route (letter case aside) would make one of them silently dead
  const seen = new Set<string>();
  for (const r of rules) {
    const k = `${r.method} ${r.path}`;
    if (seen.has(k)) throw new ConfigError(variable, `two rules for ${JSON.stringify(k)}; merge their scopes into one rule`);
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
  const scopesOf = (v: unknown, where: string): string[] => {
    let scopes: string[];
    if (typeof v === 'string') scopes = splitScopes(v);
    else if (Array.isArray(v) && v.every((s) => typeof s === 'string')) scopes = v.flatMap(splitScopes);
    else throw new ConfigError(variable, `scopes of ${where} must be a string or an array of strings`);
    // A scope no token can carry would refuse everyone on that route, silently.
    const bad = scopes.find((s) => !SCOPE_TOKEN.test(s));
    if (bad !== undefined) throw new ConfigError(variable, `scope ${JSON.stringify(bad)} of ${where} is not an RFC 6749 scope-token (printable ASCII without space, ", \\ or comma): no token could satisfy it`);
    return scopes;
  };
  if (Array.isArray(json)) {
    return json.map((r, i) => {
      if (!r || typeof r !== 'object' || typeof r.method !== 'string' || typeof r.path !== 'string') {
        throw new ConfigError(variable, `rule #${i} must be {"method": "...", "path": "/...", "scopes": [...]}`);
      }
      return { ...checkMatch(variable, r.method, r.path), scopes: scopesOf(r.scopes ?? [], `rule #${i}`) };
    });
  }
  if (json && typeof json === 'object') {
    return Object.entries(json).map(([key, scopes]) => {
      const [method, path, extra] = key.trim().split(/\s+/);
      if (!method || !path || extra) throw new ConfigError(variable, `key ${JSON.stringify(key)} must be "METHOD /path"`);
      return { ...checkMatch(variable, method, path), scopes: scopesOf(scopes, key) };
    });
  }
  throw new ConfigError(variable, 'must be a JSON object or array of rules');
}

/**
 * Splits the scopes of an AUTH_ROUTE_RULES rule: space- or comma-separated, so a rule scope never
 * contains a comma. Token scopes are not read here: they split on spaces only and a token scope
 * containing a comma is dropped (scopesOf in token/claims.ts), so `"x,admin"` never meets `admin`.
 */
export function splitScopes(s: string): string[] {
  return s.split(/[\s,]+/).filter(Boolean);
}
