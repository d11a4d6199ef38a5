// Text for an operator's terminal from values a client controls: a hostile token's claims may carry
// escape sequences that rewrite the screen (CSI, OSC), bidi overrides that reorder it, or megabytes.

/** C0/C1 controls, DEL, zero-width and bidi formatting characters, BOM. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** `s` with every unsafe character as a visible `\uXXXX` escape, cut at `max` characters. */
export function printable(s: string, max = 2000): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One output channel: a line at a time (tests capture it). */
export type Out = (line: string) => void;

/** Characters JSON.stringify leaves raw that a terminal acts on (DEL, C1, zero-width, bidi, BOM). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** JSON text (C0 controls already escaped by JSON.stringify) with the rest escaped as `\uXXXX`: still valid JSON. */
export function printableJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
