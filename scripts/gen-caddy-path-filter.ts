// Generates the Caddy front's edge path filter (the `@ambiguous` matcher in deploy/caddy/Caddyfile)
// from NGINX's `$api_uri_ambiguous` map (itself generated from the validator's rules by
// gen-path-filter.ts), so both edges refuse the same request targets. NGINX's regexes are PCRE;
// Caddy's are Go's RE2, which has no lookaround and no possessive quantifiers: possessive
// quantifiers are dropped (the same matches here: what follows a segment can never start one), a
// leading `(?=/)` becomes startsWith("/"), and the per-segment dot-segment lookahead becomes one
// "no dot segment before the query" test. Anything else RE2 cannot do is an error, not a guess.
//   node dist/scripts/gen-caddy-path-filter.js           print the matcher line
//   node dist/scripts/gen-caddy-path-filter.js --write   write it into deploy/caddy/Caddyfile
import fs from 'node:fs';
import { CADDYFILE } from '../devkit/caddy';
import { templateMap } from './gen-path-filter';

/** One map entry, in map order: when `regex` matches the raw request target, `ambiguous` decides. */
export interface MapEntry {
  regex: string;
  caseInsensitive: boolean;
  ambiguous: boolean;
}

export interface PathMap {
  entries: MapEntry[];
  /** The map's `default`. */
  fallback: boolean;
}

/** An entry as RE2 conditions, all of which must hold for the entry to match. */
export interface Re2Entry {
  /** RE2 syntax, `(?i)` leading when case-insensitive. */
  re2: string;
  /** A literal prefix the target must have (was a leading lookahead). */
  startsWith?: string;
  /** The target must have no `.` or `..` segment before its query (was a per-segment lookahead). */
  noDotSegment: boolean;
  ambiguous: boolean;
}

/** The per-segment lookahead gen-path-filter.ts writes, and the RE2 test that replaces it. */
const DOT_SEGMENT_LOOKAHEAD = '(?!\\.\\.?(?:/|\\?|$))';
export const DOT_SEGMENT = '^[^?]*/\\.\\.?(?:/|\\?|$)';

/** Parses the `map $request_uri $api_uri_ambiguous { … }` block. */
export function parseMap(block: string): PathMap {
  const fallback = /^\s*default\s+([01]);/m.exec(block)?.[1];
  if (fallback === undefined) throw new Error('the $api_uri_ambiguous map has no default');
  // NGINX unescapes \" and \\ inside a quoted string (gen-path-filter.ts writes neither).
  const entries = [...block.matchAll(/^\s*"~(\*?)((?:[^"\\]|\\.)*)"\s+([01]);/gm)].map((m) => ({
    regex: m[2]!.replace(/\\(["\\])/g, '$1'),
    caseInsensitive: m[1] === '*',
    ambiguous: m[3] === '1',
  }));
  return { entries, fallback: fallback === '1' };
}

/** `re` without PCRE's possessive marks (`*+`, `++`, `?+`, `}+`); classes and escapes are left alone. */
export function withoutPossessive(re: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    out += c;
    if (c === '\\') {
      out += re[++i] ?? '';
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (re[i + 1] === '^') out += re[++i];
      if (re[i + 1] === ']') out += re[++i]; // a leading ] is a literal
      continue;
    }
    const quantifier = c === '*' || c === '+' || c === '}' || (c === '?' && re[i - 1] !== '(');
    if (quantifier && re[i + 1] === '+') i++;
  }
  return out;
}

/** One PCRE map entry as RE2 conditions; throws on a construct it does not know how to translate. */
export function toRe2(e: MapEntry): Re2Entry {
  let re = withoutPossessive(e.regex);
  let startsWith: string | undefined;
  const lead = /^\^\(\?=([A-Za-z0-9/_-]+)\)/.exec(re);
  if (lead) {
    startsWith = lead[1];
    re = '^' + re.slice(lead[0].length);
  }
  const noDotSegment = re.includes(DOT_SEGMENT_LOOKAHEAD);
  re = re.split(DOT_SEGMENT_LOOKAHEAD).join('');
  if (/\(\?[=!<>]|\\[1-9gkK]/.test(re)) throw new Error(`cannot translate to RE2 (lookaround or back-reference): ${re.slice(0, 200)}`);
  // A CEL raw string ends at ", a Caddyfile token at `, and Caddy reads {name} as a placeholder.
  if (/["`{]/.test(re)) throw new Error(`cannot place in a Caddy CEL raw string (", \` or {): ${re.slice(0, 200)}`);
  return { re2: (e.caseInsensitive ? '(?i)' : '') + re, startsWith, noDotSegment, ambiguous: e.ambiguous };
}

const URI = '{http.request.orig_uri}';

function condition(t: Re2Entry): string {
  const parts = [
    ...(t.startsWith !== undefined ? [`${URI}.startsWith("${t.startsWith}")`] : []),
    `${URI}.matches(r"${t.re2}")`,
    ...(t.noDotSegment ? [`!${URI}.matches(r"${DOT_SEGMENT}")`] : []),
  ];
  return parts.length === 1 ? parts[0]! : `(${parts.join(' && ')})`;
}

/** The CEL expression: true when the map would say 1 (first matching entry wins, else the default). */
export function celExpression(map: PathMap): string {
  let expr = map.fallback ? 'true' : 'false';
  for (const e of [...map.entries].reverse()) {
    const c = condition(toRe2(e));
    if (e.ambiguous) expr = expr === 'false' ? c : `${c} || ${expr}`;
    else expr = expr === 'true' ? `!${c}` : `!${c} && (${expr})`;
  }
  return expr;
}

/** The Caddyfile line, tab-indented as inside the edge_refusals snippet. */
export function matcherLine(map: PathMap): string {
  return `\t@ambiguous expression \`${celExpression(map)}\``;
}

const MATCHER_LINE = /^\t@ambiguous expression `.*`$/m;

/** The Caddyfile's current matcher line (undefined when it has none). */
export function caddyfileMatcher(text = fs.readFileSync(CADDYFILE, 'utf8')): string | undefined {
  return MATCHER_LINE.exec(text)?.[0];
}

/** The matcher line for the NGINX template as it is now. */
export function currentMatcherLine(): string {
  const block = templateMap();
  if (!block) throw new Error('nginx/templates/tollgate.conf.template has no $api_uri_ambiguous map');
  return matcherLine(parseMap(block));
}

if (require.main === module) {
  const line = currentMatcherLine();
  if (process.argv.includes('--write')) {
    const text = fs.readFileSync(CADDYFILE, 'utf8');
    if (!MATCHER_LINE.test(text)) throw new Error(`${CADDYFILE}: no "@ambiguous expression" line`);
    fs.writeFileSync(
      CADDYFILE,
      text.replace(MATCHER_LINE, () => line),
    );
    console.log(`wrote the path filter into ${CADDYFILE}`);
  } else console.log(line);
}
