// Variables under tollgate's prefixes that no part of tollgate reads. Unknown names used to be
// ignored, so a typo such as `AUTH_ALLOWED_CLIENT=gateway` silently allowed every client: now
// production refuses them and other environments warn, each with the closest known name.
import type { RawEnv } from './env';
import { CADDY_VARIABLES, GATEWAY_VARIABLES, TOOL_VARIABLES } from './front-variables';
import { CONFIG_VARIABLES } from './schema';

/**
 * A name is checked when it starts with one of these. Generic names the validator also reads
 * (NODE_ENV, HOST, PORT, LOG_LEVEL) are shared with every other program and are not: only the
 * namespaces that are tollgate's own, plus the prefixes of its non-prefixed variables
 * (MIGRATE_ON_START, SHUTDOWN_GRACE_MS, DATA_DIR). CADDY_ is Caddy's own namespace and is left alone.
 */
export const CHECKED_PREFIXES = ['AUTH_', 'QUOTA_', 'SUPABASE_', 'DATABASE_', 'GATEWAY_', 'TOLLGATE_', 'MIGRATE_', 'SHUTDOWN_', 'DATA_DIR'] as const;

const CONFIG_NAMES: readonly string[] = CONFIG_VARIABLES.map((v) => v.name);
/** Candidates for "did you mean": everything a person sets by hand. */
const SUGGESTIBLE: readonly string[] = [...CONFIG_NAMES, ...GATEWAY_VARIABLES, ...CADDY_VARIABLES];

/** Every name some part of tollgate reads: the validator's table (and each `<NAME>_FILE`), the fronts, the tools. */
export const KNOWN_NAMES: ReadonlySet<string> = new Set([...SUGGESTIBLE, ...CONFIG_NAMES.map((n) => `${n}_FILE`), ...TOOL_VARIABLES]);

/**
 * Kubernetes injects `<SERVICE>_SERVICE_HOST`, `<SERVICE>_SERVICE_PORT[_<NAME>]`, `<SERVICE>_PORT`
 * (`tcp://…`) and `<SERVICE>_PORT_<n>_<PROTO>[_ADDR|_PORT|_PROTO]` for every Service in the
 * namespace unless enableServiceLinks is false; deploy/k8s's Service `tollgate-validator` alone
 * yields TOLLGATE_VALIDATOR_*. Those are the platform's, not typos.
 */
function isServiceLink(name: string, value: string): boolean {
  if (/_SERVICE_HOST$|_SERVICE_PORT(_[A-Z0-9_]+)?$|_PORT_\d+_(TCP|UDP|SCTP)(_(ADDR|PORT|PROTO))?$/.test(name)) return true;
  return /_PORT$/.test(name) && /^(tcp|udp|sctp):\/\//.test(value);
}

/** Optimal string alignment distance: edits, with a swap of two neighbours counted as one. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to `name`, if one is close enough to be a typo of it. */
export function suggest(name: string): string | undefined {
  if (name.endsWith('_FILE')) {
    const base = suggest(name.slice(0, -'_FILE'.length));
    return base && CONFIG_NAMES.includes(base) ? `${base}_FILE` : undefined;
  }
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const known of SUGGESTIBLE) {
    const d = editDistance(name, known);
    if (d < bestD) [best, bestD] = [known, d];
  }
  // a name that extends or cuts a known one (DATA_DIRECTORY, QUOTA_DEFAULT_DAILY) is far in edits, close in intent
  return best ?? SUGGESTIBLE.find((known) => name.length >= 6 && (name.startsWith(known) || known.startsWith(name)));
}

export interface UnknownVariable {
  readonly name: string;
  readonly suggestion?: string;
}

/** Set, non-empty variables under CHECKED_PREFIXES that no part of tollgate reads. */
export function unknownVariables(env: RawEnv): UnknownVariable[] {
  const found: UnknownVariable[] = [];
  for (const name of Object.keys(env).sort()) {
    if (KNOWN_NAMES.has(name) || !CHECKED_PREFIXES.some((p) => name.startsWith(p))) continue;
    const value = env[name];
    // empty means unset, here too: an empty variable changes nothing, whatever its name
    if (value === undefined || value === '' || isServiceLink(name, value)) continue;
    found.push({ name, suggestion: suggest(name) });
  }
  return found;
}

/** The sentence for one unknown variable; `production` says whether it stops the start. */
export function unknownMessage(u: UnknownVariable, production: boolean): string {
  const hint = u.suggestion ? `did you mean ${u.suggestion}? ` : '';
  const what = `no part of tollgate reads this variable; ${hint}`;
  return production
    ? `${what}correct or remove it (production refuses unknown names under ${CHECKED_PREFIXES.join(', ')})`
    : `${what}it has no effect (production refuses to start with it)`;
}
