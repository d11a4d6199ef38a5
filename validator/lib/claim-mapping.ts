// Where the Principal's parts come from in a token payload: claim paths (`realm_access.roles`, or
// a key list for a claim name with a dot), how config writes them and how a verified payload is read
// through them. Pure: config parses paths at start-up, the token stage reads claims per request.

/** The keys from the payload's top level down: `resource_access.api.roles` → ['resource_access', 'api', 'roles']. */
export type ClaimPath = readonly string[];

/** Where each part of the Principal comes from, per issuer (resolved from a preset and overrides). */
export interface ClaimMapping {
  /** The subject: a non-empty string (quota key, X-User-Id). */
  readonly subject: ClaimPath;
  /** Scopes: a string is split on spaces (RFC 6749 §3.3), an array is taken item by item. */
  readonly scopes: readonly ClaimPath[];
  /** Roles, groups, permissions named as roles: a string is one role, an array one role per item. */
  readonly roles: readonly ClaimPath[];
  /** The e-mail address. */
  readonly email: ClaimPath;
  /** The machine client: the first of these that holds a string. */
  readonly clientId: readonly ClaimPath[];
}

/** Keys that would reach the prototype chain rather than the payload's own data. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);
/** Stands for each configured audience of the issuer in a path (Keycloak's `resource_access.<client>.roles`). */
const AUDIENCE_PLACEHOLDER = '{audience}';

/**
 * A path as configured: a dotted string (`realm_access.roles`), or an array of keys for a claim whose
 * name holds a dot (Auth0's namespaced `["https://example.com/roles"]`). Returns the path, or why it
 * is refused (a sentence for a ConfigError).
 */
export function parseClaimPath(spec: unknown): ClaimPath | string {
  let keys: unknown[];
  if (typeof spec === 'string') keys = spec.split('.');
  else if (Array.isArray(spec)) keys = spec;
  else return 'must be a dotted string such as "realm_access.roles", or an array of keys';
  if (keys.length === 0 || keys.length > 8) return 'must have from 1 to 8 keys';
  for (const k of keys) {
    if (typeof k !== 'string' || k === '') return `has an empty or non-string key in ${JSON.stringify(spec)}`;
    if (FORBIDDEN_KEYS.has(k)) return `may not use the key ${JSON.stringify(k)}`;
  }
  return Object.freeze(keys as string[]);
}

/** `path` with AUDIENCE_PLACEHOLDER keys replaced by each audience: one path per audience, or `path` itself. */
export function expandAudience(path: ClaimPath, audiences: readonly string[]): ClaimPath[] {
  if (!path.includes(AUDIENCE_PLACEHOLDER)) return [path];
  return audiences.map((a) => Object.freeze(path.map((k) => (k === AUDIENCE_PLACEHOLDER ? a : k))));
}

/** The value at `path`, through own properties of plain objects only (never arrays or the prototype). */
export function claimAt(payload: Readonly<Record<string, unknown>>, path: ClaimPath): unknown {
  let cur: unknown = payload;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The path as written in docs and messages: dotted, or as a JSON array when a key holds a dot. */
export function formatClaimPath(path: ClaimPath): string {
  return path.some((k) => k.includes('.')) ? JSON.stringify(path) : path.join('.');
}
