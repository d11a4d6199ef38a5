// Route matching shared by route rules and quota routes: METHOD + path prefix, case-insensitive, on a canonical path (lib/paths).
import type { Requirement } from './requirements';

export interface RouteMatch {
  /** Upper-case method, or '*' for any. */
  readonly method: string;
  /**
   * Path prefix in canonical form (readPath), ASCII lower-cased when parsed: matched on segment
   * boundaries (`/api/tasks` matches `/api/tasks` and `/api/tasks/1`, not `/api/tasksx`) and
   * without regard to ASCII letter case.
   */
  readonly path: string;
}

/** An AUTH_ROUTE_RULES rule: where it applies and what it requires (lib/requirements). */
export interface RouteRule extends RouteMatch, Requirement {
  readonly scopes: readonly string[];
}

const UPPER = /[A-Z]/;
const UPPER_RUNS = /[A-Z]+/g;
const NON_ASCII = /[^\0-\x7f]/;

/**
 * ASCII lower case (A–Z only; other letters untouched). Rules are compared without letter case
 * because Express and ASP.NET Core route case-insensitively by default: `/api/ADMIN` reaches
 * the `/api/admin` handler, so it must meet the `/api/admin` rule. ASCII only, because paths that
 * Unicode case mapping would turn into ASCII are refused by readPath, and rule paths are ASCII.
 */
export function asciiLower(s: string): string {
  if (!UPPER.test(s)) return s;
  // toLowerCase is several times faster than a replace with a callback, and the same on ASCII
  return NON_ASCII.test(s) ? s.replace(UPPER_RUNS, (m) => m.toLowerCase()) : s.toLowerCase();
}

/**
 * Whether `path` is under `prefix`, on a segment boundary. With `formatSuffix`, a "." after the
 * prefix in the last segment is a boundary too: Rails routes `/api/admin.json` to the `/api/admin`
 * action (its optional `(.:format)`), as Spring MVC's suffix pattern matching did (on by default
 * before 5.3). Both only ever read a suffix on the last segment.
 */
function pathMatches(prefix: string, path: string, formatSuffix: boolean): boolean {
  if (prefix === '/' || path === prefix) return true;
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (!path.startsWith(bare)) return false;
  const next = path.charCodeAt(bare.length);
  return path.length === bare.length || next === SLASH || (formatSuffix && next === DOT && path.indexOf('/', bare.length) < 0);
}
const SLASH = 0x2f;
const DOT = 0x2e;

/** Whether the last segment of `path` has a "." that a format-suffix router could cut at. */
export function mayHaveFormatSuffix(path: string): boolean {
  return path.indexOf('.', path.lastIndexOf('/') + 1) > 0;
}

/**
 * The most specific entry matching method + canonical path: longest prefix, exact method before `*`.
 * `formatSuffix` false reads the path as written only (`/api/admin.json` is not under `/api/admin`).
 * `method` is compared as given (the pipeline upper-cases it); `path` is compared ASCII
 * case-insensitively with the entries' lower-case paths.
 */
export function matchRoute<T extends RouteMatch>(routes: readonly T[], method: string, path: string, formatSuffix = true): T | undefined {
  if (routes.length === 0) return undefined;
  const key = asciiLower(path);
  let best: T | undefined;
  for (const r of routes) {
    if (r.method !== '*' && r.method !== method) continue;
    if (!pathMatches(r.path, key, formatSuffix)) continue;
    if (!best || r.path.length > best.path.length || (r.path.length === best.path.length && best.method === '*' && r.method !== '*')) best = r;
  }
  return best;
}
