// One canonical reading of a request path, or a refusal when a common upstream could read it as another path.
//
// The validator judges a path and the upstream serves one; when their readings differ, a rule is
// judged on one path and another path is served. Readings diverge on dot segments (resolved by
// every RFC 3986 §5.2.4 reader, with `;params` cut first by Tomcat and Jetty), on encoded `/`, `\`
// and `.` (decoded before or after routing depending on the server), on `//` (merged by some,
// kept by others), on double encoding (an app that decodes again) and on Unicode that NFKC or case
// folding turns into ASCII (KELVIN SIGN → k). So instead of resolving those the way one upstream
// would, readPath refuses them: what it returns is read the same by every upstream.

/** Why a path was refused: the message of the 400 path_ambiguous. */
export class PathRefusal {
  constructor(readonly why: string) {}
}

// Refusals are preallocated: a refused path costs no allocation either.
const R = {
  notOrigin: new PathRefusal('not an origin-form path (must start with /)'),
  rawByte: new PathRefusal('a raw byte outside printable ASCII (space, control or non-ASCII)'),
  backslash: new PathRefusal('a backslash (WHATWG URL parsers read it as /)'),
  semicolon: new PathRefusal('a ; path parameter (Tomcat and Jetty cut it, others keep it)'),
  fragment: new PathRefusal('a # (a fragment is never sent; upstreams cut the path there)'),
  badEscape: new PathRefusal('a % not followed by two hex digits'),
  encodedSeparator: new PathRefusal('an encoded /, \\ or ; (some upstreams decode it before routing)'),
  encodedDot: new PathRefusal('an encoded dot (%2e is a dot segment to some upstreams)'),
  doubleEncoding: new PathRefusal('an encoded % (double encoding: an app that decodes again reads another path)'),
  control: new PathRefusal('an encoded control character'),
  badUtf8: new PathRefusal('percent-encoded bytes that are not UTF-8 (truncated, overlong or surrogate)'),
  unicode: new PathRefusal('a Unicode character that is invisible or that NFKC or case folding turns into ASCII'),
  dotSegment: new PathRefusal('a dot segment (. or .., which upstreams resolve)'),
  emptySegment: new PathRefusal('an empty segment (//: merged by some upstreams, not by others)'),
  queryControl: new PathRefusal('a control character in the query'),
};

// Raw request-target characters of the path. Anything else (space, controls, DEL, non-ASCII) is refused.
const BAD = 0;
const PLAIN = 1;
const SLASH = 2;
const PCT = 3;
const QUERY = 4;
const SPECIAL = 5; // refused with its own reason: \ ; #
const RAW = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) RAW[c] = PLAIN;
RAW[0x2f] = SLASH;
RAW[0x25] = PCT;
RAW[0x3f] = QUERY;
RAW[0x5c] = RAW[0x3b] = RAW[0x23] = SPECIAL;

const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

/** The refusal for an encoded ASCII byte, or undefined when it decodes to plain data (`%61` → a, `%3F` → ?). */
function encodedAscii(b: number): PathRefusal | undefined {
  if (b < 0x20 || b === 0x7f) return R.control;
  if (b === 0x2f || b === 0x5c || b === 0x3b) return R.encodedSeparator;
  if (b === 0x2e) return R.encodedDot;
  if (b === 0x25) return R.doubleEncoding;
  return undefined;
}

// Invisible or control characters: a log line or console shows another path (RIGHT-TO-LEFT
// OVERRIDE), or a later normalisation removes them (default-ignorables).
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;
const HAS_ASCII = /[\0-\x7f]/;

/**
 * True for a non-ASCII code point that a path must not carry: invisible or control characters,
 * and characters that NFKC (Python's and Java's Unicode normalisation, IDNA-style mapping) or
 * full case mapping (case-insensitive routers, `casefold()`) turn into something containing ASCII:
 * KELVIN SIGN → k, LONG S → S, DOTLESS i → I, DOTTED I → i̇, ß → SS, FULLWIDTH a → a, ONE DOT
 * LEADER → `.`. Such a character would let `/api/%E2%84%AAey` be `/api/key` to one reader only.
 */
export function refusedCodePoint(cp: number): boolean {
  // COMBINING DIACRITICAL MARKS compose with a preceding ASCII letter under NFC/NFKC (`n` + U+0301
  // → ń; `=` + U+0338 → ≠), so a normalising reader would see the ASCII letter vanish.
  if (cp >= 0x300 && cp <= 0x36f) return true;
  const c = String.fromCodePoint(cp);
  if (INVISIBLE.test(c)) return true;
  const nfkc = c.normalize('NFKC');
  const lower = c.toLowerCase();
  const upper = c.toUpperCase();
  for (const v of [nfkc, lower, upper, upper.toLowerCase(), nfkc.toLowerCase(), nfkc.toUpperCase(), lower.normalize('NFKC'), upper.normalize('NFKC')]) {
    if (HAS_ASCII.test(v)) return true;
  }
  return false;
}

// Non-ASCII paths repeat a few characters: verdicts are remembered, in a bounded map so that
// hostile input cannot grow it (the check costs ~1 µs: eight case and NFKC mappings).
const verdicts = new Map<number, boolean>();
function refusedCached(cp: number): boolean {
  let v = verdicts.get(cp);
  if (v === undefined) {
    v = refusedCodePoint(cp);
    if (verdicts.size < 4096) verdicts.set(cp, v);
  }
  return v;
}

/** Reads the escape at `i` (known to be `%`): its byte, or -1 when it is not `%` + two hex digits. */
function escapeAt(uri: string, i: number, end: number): number {
  if (i + 2 >= end) return -1;
  const h = uri.charCodeAt(i + 1);
  const l = uri.charCodeAt(i + 2);
  const hv = h < 128 ? HEX[h]! : -1;
  const lv = l < 128 ? HEX[l]! : -1;
  return hv < 0 || lv < 0 ? -1 : (hv << 4) | lv;
}

/**
 * Decodes the percent-encoded UTF-8 sequence whose lead byte `b` is at `i` (RFC 3629 §4: no
 * overlongs, no surrogates, nothing past U+10FFFF). Returns the code point and the index after
 * the sequence, or a refusal.
 */
function utf8At(uri: string, i: number, end: number, b: number): PathRefusal | [number, number] {
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  let cp: number;
  if (b >= 0xc2 && b <= 0xdf) (need = 1), (cp = b & 0x1f);
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    cp = b & 0x0f;
    if (b === 0xe0) lo = 0xa0; // overlong
    if (b === 0xed) hi = 0x9f; // surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    cp = b & 0x07;
    if (b === 0xf0) lo = 0x90; // overlong
    if (b === 0xf4) hi = 0x8f; // past U+10FFFF
  } else return R.badUtf8; // a continuation byte, C0/C1 (overlong ASCII: %C0%AE is an old `.`) or F5–FF
  let j = i + 3;
  for (let k = 0; k < need; k++, j += 3) {
    if (j >= end || uri.charCodeAt(j) !== 0x25) return R.badUtf8;
    const c = escapeAt(uri, j, end);
    if (c < 0) return R.badEscape;
    if (c < lo || c > hi) return R.badUtf8;
    lo = 0x80;
    hi = 0xbf;
    cp = (cp << 6) | (c & 0x3f);
  }
  return refusedCached(cp) ? R.unicode : [cp, j];
}

/**
 * The canonical path of a request target, or a PathRefusal.
 *
 * Accepts origin-form only (RFC 9112 §3.2.1: starts with `/`). The path is what precedes the
 * first `?`; the query is dropped (it may hold anything but `#` and control characters). The
 * result is percent-decoded (`%61dmin` → `admin`, `caf%C3%A9` → `café`) with letter case kept:
 * route rules compare it case-insensitively. Refused: raw bytes outside printable ASCII, raw `\`,
 * `;` and `#`; `%` without two hex digits; encoded `/`, `\`, `;`, `.`, `%` and controls; encoded
 * bytes that are not strict UTF-8; the Unicode of refusedCodePoint; `.` and `..` segments; empty
 * segments, except one trailing `/`.
 *
 * Plain ASCII paths without `%` are returned as a slice of the input without further work.
 */
export function readPath(uri: string): string | PathRefusal {
  const n = uri.length;
  if (n === 0 || uri.charCodeAt(0) !== 0x2f) return R.notOrigin;
  let out = ''; // decoded text before `copied`; only used once a % was seen
  let copied = 0;
  let seg = 1; // start of the current segment
  let i = 1;
  for (; i <= n; i++) {
    const c = i < n ? uri.charCodeAt(i) : 0x3f; // the end of the input ends the path like a `?`
    const k = c < 128 ? RAW[c]! : BAD;
    if (k === PLAIN) continue;
    if (k === SLASH || k === QUERY) {
      const len = i - seg;
      if (len === 0 && k === SLASH) return R.emptySegment;
      if (len === 1 && uri.charCodeAt(seg) === 0x2e) return R.dotSegment;
      if (len === 2 && uri.charCodeAt(seg) === 0x2e && uri.charCodeAt(seg + 1) === 0x2e) return R.dotSegment;
      if (k === QUERY) break;
      seg = i + 1;
      continue;
    }
    if (k === PCT) {
      const b = escapeAt(uri, i, n);
      if (b < 0) return R.badEscape;
      let next = i + 3;
      let text: string;
      if (b < 0x80) {
        const bad = encodedAscii(b);
        if (bad) return bad;
        text = String.fromCharCode(b);
      } else {
        const u = utf8At(uri, i, n, b);
        if (u instanceof PathRefusal) return u;
        text = String.fromCodePoint(u[0]);
        next = u[1];
      }
      out += uri.slice(copied, i) + text;
      copied = next;
      i = next - 1;
      continue;
    }
    if (k === SPECIAL) return c === 0x5c ? R.backslash : c === 0x3b ? R.semicolon : R.fragment;
    return R.rawByte;
  }
  // i is the index of the `?` that ends the path, or n
  for (let j = i + 1; j < n; j++) {
    const c = uri.charCodeAt(j);
    if (c === 0x23) return R.fragment;
    if (c < 0x20 || c === 0x7f) return R.queryControl;
  }
  if (copied === 0) return i >= n ? uri : uri.slice(0, i);
  return out + uri.slice(copied, i);
}
