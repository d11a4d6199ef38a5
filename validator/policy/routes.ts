// Route matching shared by scope rules and quota routes: METHOD + path prefix on a normalised path.
import { ConfigError } from '../errors';

export interface RouteMatch {
  /** Upper-case method, or '*' for any. */
  readonly method: string;
  /** Path prefix, matched on segment boundaries: `/api/tasks` matches `/api/tasks` and `/api/tasks/1`, not `/api/tasksx`. */
  readonly path: string;
}

export interface RouteRule extends RouteMatch {
  readonly scopes: readonly string[];
}

const METHOD = /^(\*|[A-Z]+)$/;

function checkMatch(variable: string, method: string, path: string): RouteMatch {
  const m = method.trim().toUpperCase();
  if (!METHOD.test(m)) throw new ConfigError(variable, `bad method ${JSON.stringify(method)} (use GET, POST, … or *)`);
  if (!path.startsWith('/')) throw new ConfigError(variable, `path ${JSON.stringify(path)} must start with /`);
  // Request paths are matched after normalisePath; a rule path it never produces would never match.
  const normal = normalisePath(path);
  if (normal !== path) {
    throw new ConfigError(variable, `path ${JSON.stringify(path)} is not in normal form${normal === undefined ? '' : `; write ${JSON.stringify(normal)}`}`);
  }
  return { method: m, path };
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
  // two rules for the same route would make one of them silently dead
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
    if (typeof v === 'string') return splitScopes(v);
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v.flatMap(splitScopes);
    throw new ConfigError(variable, `scopes of ${where} must be a string or an array of strings`);
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

/** Splits a scope claim or rule: space- or comma-separated. */
export function splitScopes(s: string): string[] {
  return s.split(/[\s,]+/).filter(Boolean);
}

/**
 * Normalises the path of an original request URI the way an upstream would see it: query and
 * fragment dropped, percent-decoding of everything but `/`, dot-segments resolved (RFC 3986 §5.2.4)
 * and repeated slashes collapsed. Without this `/api/%61dmin` or `/api/x/../admin` would slip past a
 * rule on `/api/admin`. Returns undefined for a URI that cannot be decoded: the caller refuses it.
 */
export function normalisePath(uri: string): string | undefined {
  let path = uri;
  const q = path.search(/[?#]/);
  if (q >= 0) path = path.slice(0, q);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    // absolute-form request target: keep the path only
    path = path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '') || '/';
  }
  if (!path.startsWith('/')) return undefined;
  let decoded: string;
  try {
    // keep an encoded slash encoded: it is data inside a segment, not a separator
    decoded = path.split(/%2f/i).map(decodeURIComponent).join('%2F');
  } catch {
    return undefined;
  }
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return undefined;
  const out: string[] = [];
  for (const raw of decoded.split('/').slice(1)) {
    // `;` path parameters (RFC 3986 §3.3): Tomcat and Spring route `/api/admin;x=1` to `/api/admin`,
    // so rules must see it that way too.
    const seg = raw.split(';', 1)[0]!;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const trailing = decoded.endsWith('/') && out.length > 0 ? '/' : '';
  return '/' + out.join('/') + trailing;
}

function pathMatches(prefix: string, path: string): boolean {
  if (prefix === '/' || path === prefix) return true;
  if (prefix.endsWith('/')) return path.startsWith(prefix) || path === prefix.slice(0, -1);
  return path.startsWith(prefix + '/');
}

/** The most specific entry matching method + normalised path: longest prefix, exact method before `*`. */
export function matchRoute<T extends RouteMatch>(routes: readonly T[], method: string, path: string): T | undefined {
  let best: T | undefined;
  for (const r of routes) {
    if (r.method !== '*' && r.method !== method) continue;
    if (!pathMatches(r.path, path)) continue;
    if (!best || r.path.length > best.path.length || (r.path.length === best.path.length && best.method === '*' && r.method !== '*')) best = r;
  }
  return best;
}
