// The transport rule for every URL that signing keys come from: a configured AUTH_ISSUER,
// AUTH_JWKS_URL or SUPABASE_URL (checked at start-up) and a `jwks_uri` found by discovery (checked
// at fetch time), so that discovery cannot lead to a weaker channel than configuration allows.

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why `u` may not be used to fetch keys, or undefined when it may: http(s) only, and in production
 * https:// unless the host is the loopback (plain http:// lets anyone on the path swap the keys).
 */
export function keyUrlProblem(u: URL, production: boolean): string | undefined {
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an http(s) URL';
  if (production && u.protocol === 'http:' && !LOOPBACK.has(u.hostname)) {
    return `plain http:// to ${u.hostname} is refused in production (keys could be swapped in transit); use https://`;
  }
  return undefined;
}
