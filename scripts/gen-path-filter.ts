// Generates the edge path filter from validator/lib/paths.ts, so a front refuses what the validator
// refuses: NGINX's `$api_uri_ambiguous` map in nginx/templates/tollgate.conf.template (test/perimeter/
// paths-nginx.test.ts compares the template with this output and runs the shared corpus through real
// NGINX), and the two patterns any other front can use (refusePattern, canonicalPattern(false) for RE2).
//   node dist/scripts/gen-path-filter.js           print the map
//   node dist/scripts/gen-path-filter.js --write   write it into the template
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT as ROOT } from '../devkit/root';
import { refusedCodePoint } from '../validator/lib/paths';

export const TEMPLATE = path.join(ROOT, 'nginx', 'templates', 'tollgate.conf.template');

// Two regexes, written so that PCRE (NGINX) and RE2 (Go: Caddy, Traefik) read them alike: no
// lookaround, no backreference. A path is ambiguous when REFUSE matches or CANONICAL does not.
// Both are matched case-insensitively on the raw request target, so hex digits are written
// lower-case only; \xNN escapes throughout, as NGINX's config parser would eat `\\`, `\t`, `\n`,
// `\r` and `\"` inside a quoted string.
const HEX = '[0-9a-f]';
const CONT = `%[89ab]${HEX}`; // a UTF-8 continuation byte, 80–BF
/** Printable ASCII that may stand raw in a path: all of 21–7E but # % / ; ? \. */
const RAW = '[\\x21\\x22\\x24\\x26-\\x2e\\x30-\\x3a\\x3c-\\x3e\\x40-\\x5b\\x5d-\\x7e]';
/** Escapes of ASCII that decodes to data: 20–7E but % . / ; \ (and no controls). */
const ASCII_ESCAPE = `%(?:2[0-46-9a-d]|3[0-9ac-f]|[46]${HEX}|5[0-9abd-f]|7[0-9a-e])`;
/** Well-formed UTF-8 (RFC 3629 §4: no overlongs, no surrogates, nothing past U+10FFFF). */
const UTF8 = [
  `%(?:c[2-9a-f]|d${HEX})${CONT}`,
  `%e0%[ab]${HEX}${CONT}`,
  `%e[1-9a-cef]${CONT}${CONT}`,
  `%ed%[89]${HEX}${CONT}`,
  `%f0%[9ab]${HEX}${CONT}${CONT}`,
  `%f[1-3]${CONT}${CONT}${CONT}`,
  `%f48${HEX}${CONT}${CONT}`,
].join('|');
const CHAR = `(?:${RAW}|${ASCII_ESCAPE}|${UTF8})`;

/**
 * The canonical shape: `/`, then `/`-separated non-empty segments (one trailing `/` at most) of
 * allowed characters, then a query without `#` or controls. `possessive` (PCRE only) marks the
 * repeats possessive: no character class here overlaps `/` or `?`, so that changes no match and
 * keeps a long path linear (RE2 is linear by construction).
 */
export function canonicalPattern(possessive: boolean): string {
  const p = possessive ? '+' : '';
  return `^/(?:${CHAR}+${p}/)*${p}${CHAR}*${p}(?:\\?[^#\\x00-\\x1f\\x7f]*${p})?$`;
}

/** Refused even in the canonical shape: a `.` or `..` segment, or a refused code point, before the query. */
export function refusePattern(): string {
  return `^[^?]*(?:/\\.\\.?(?:/|\\?|$)|${refusedUnicodePattern()})`;
}

/** UTF-8 byte sequences of a code point range, each a list of [lo, hi] byte ranges (the utf8-ranges method). */
function utf8Sequences(lo: number, hi: number, out: Array<Array<[number, number]>>): void {
  const MAX = [0x7f, 0x7ff, 0xffff];
  for (const m of MAX) {
    if (lo <= m && hi > m) {
      utf8Sequences(lo, m, out);
      utf8Sequences(m + 1, hi, out);
      return;
    }
  }
  const enc = (cp: number) => [...Buffer.from(String.fromCodePoint(cp), 'utf8')];
  const n = enc(lo).length;
  for (let i = 1; i < n; i++) {
    const mask = (1 << (6 * i)) - 1;
    if ((lo & ~mask) !== (hi & ~mask)) {
      if ((lo & mask) !== 0) {
        utf8Sequences(lo, lo | mask, out);
        utf8Sequences((lo | mask) + 1, hi, out);
        return;
      }
      if ((hi & mask) !== mask) {
        utf8Sequences(lo, (hi & ~mask) - 1, out);
        utf8Sequences(hi & ~mask, hi, out);
        return;
      }
    }
  }
  const a = enc(lo);
  const b = enc(hi);
  out.push(a.map((x, i) => [x, b[i]!] as [number, number]));
}

/** A hex-digit class for nibbles lo..hi (lower-case: the map is case-insensitive). */
function nibbles(lo: number, hi: number): string {
  if (lo === 0 && hi === 15) return HEX;
  if (lo === hi) return lo.toString(16);
  const parts: string[] = [];
  if (lo <= 9) parts.push(Math.min(hi, 9) === lo ? `${lo}` : `${lo}-${Math.min(hi, 9)}`);
  if (hi >= 10) {
    const a = Math.max(lo, 10).toString(16);
    parts.push(a === hi.toString(16) ? a : `${a}-${hi.toString(16)}`);
  }
  return `[${parts.join('')}]`;
}

/** `%XX` for bytes lo..hi. */
function byteRange(lo: number, hi: number): string {
  const hl = lo >> 4;
  const hh = hi >> 4;
  if (hl === hh) return `%${nibbles(hl, hl)}${nibbles(lo & 15, hi & 15)}`;
  const alts: string[] = [];
  let from = hl;
  let to = hh;
  if ((lo & 15) !== 0) alts.push(`${nibbles(hl, hl)}${nibbles(lo & 15, 15)}`), (from = hl + 1);
  const last = (hi & 15) !== 15 ? `${nibbles(hh, hh)}${nibbles(0, hi & 15)}` : undefined;
  if (last) to = hh - 1;
  if (from <= to) alts.push(`${nibbles(from, to)}${HEX}`);
  if (last) alts.push(last);
  return alts.length === 1 ? `%${alts[0]}` : `%(?:${alts.join('|')})`;
}

interface Trie extends Map<string, Trie> {}

/** A regex matching the percent-encoded UTF-8 of every code point that refusedCodePoint refuses. */
export function refusedUnicodePattern(): string {
  const trie: Trie = new Map();
  let start = -1;
  const flush = (end: number) => {
    if (start < 0) return;
    const seqs: Array<Array<[number, number]>> = [];
    utf8Sequences(start, end, seqs);
    for (const seq of seqs) {
      let node = trie;
      for (const [lo, hi] of seq) {
        const k = byteRange(lo, hi);
        if (!node.has(k)) node.set(k, new Map());
        node = node.get(k)!;
      }
    }
    start = -1;
  };
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) {
      flush(cp - 1);
      continue;
    }
    if (refusedCodePoint(cp)) {
      if (start < 0) start = cp;
    } else flush(cp - 1);
  }
  flush(0x10ffff);
  const emit = (node: Trie): string => {
    const alts = [...node].map(([k, next]) => (next.size ? k + emit(next) : k));
    return alts.length === 1 ? alts[0]! : `(?:${alts.join('|')})`;
  };
  return emit(trie);
}

/** The map block, from `map` to its closing brace. */
export function pathFilterMap(): string {
  return [
    'map $request_uri $api_uri_ambiguous {',
    '    default 1;',
    '    # A . or .. segment, or Unicode that NFKC or case folding turns into ASCII, or invisible.',
    `    "~*${refusePattern()}" 1;`,
    '    # The canonical shape: origin-form, no //, escapes of data only, strict UTF-8, no # or controls.',
    `    "~*${canonicalPattern(true)}" 0;`,
    '}',
  ].join('\n');
}

const MAP_BLOCK = /^map \$request_uri \$api_uri_ambiguous \{\n[\s\S]*?\n\}$/m;

/** The template's current map block (undefined when it has none). */
export function templateMap(text = fs.readFileSync(TEMPLATE, 'utf8')): string | undefined {
  return MAP_BLOCK.exec(text)?.[0];
}

if (require.main === module) {
  const map = pathFilterMap();
  if (process.argv.includes('--write')) {
    const text = fs.readFileSync(TEMPLATE, 'utf8');
    if (!MAP_BLOCK.test(text)) throw new Error(`${TEMPLATE}: no "map $request_uri $api_uri_ambiguous" block`);
    fs.writeFileSync(
      TEMPLATE,
      text.replace(MAP_BLOCK, () => map),
    );
    console.log(`wrote the map into ${TEMPLATE}`);
  } else console.log(map);
}
