// The configuration's fingerprint: SHA-256 of a canonical reading of the parsed Config, shown in
// /api/ready and the tollgate_config_info metric, so an operator can tell which configuration each
// instance runs (did the reload take? do all replicas agree?). Secrets enter only as their own hash.
import { createHash } from 'node:crypto';
import type { Config } from './index';

/** Config values that are secrets though they are strings (an HS256 secret is a Uint8Array). */
const SECRET_PATHS = new Set(['database.url', 'auth.issuers[].introspection.clientSecret']);

const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A copy with sorted keys, secrets replaced by `sha256:<hex>`, so equal configs read the same. */
function canonical(v: unknown, path: string): unknown {
  if (v instanceof Uint8Array) return `sha256:${sha256(v)}`;
  if (typeof v === 'string' && SECRET_PATHS.has(path)) return `sha256:${sha256(v)}`;
  if (Array.isArray(v)) return v.map((x) => canonical(x, `${path}[]`));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    return out;
  }
  return v;
}

/** The canonical text the hash is taken of (tests; never logged: it still shows every non-secret value). */
export function canonicalConfig(config: Config): string {
  return JSON.stringify(canonical(config, ''));
}

/** SHA-256 (hex, 64 characters) of the canonical configuration. */
export function configHash(config: Config): string {
  return sha256(canonicalConfig(config));
}
