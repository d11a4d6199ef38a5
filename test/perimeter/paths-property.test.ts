// Property: for any request target (path-ish strings and arbitrary bytes), readPath either refuses
// it or returns a path on which every model reading agrees, letter case aside: WHATWG URL, a
// Tomcat-like reader, Python's wsgiref, the raw path decoded, and Unicode-normalising readers.
import fc from 'fast-check';
import { PathRefusal, readPath } from '../../validator/lib/paths';

const lower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
const pathPart = (uri: string) => uri.split('?')[0]!;

/** WHATWG URL (browsers, Node's fetch/undici, Deno, Bun): the pathname, then decoded. */
function whatwg(uri: string): string | undefined {
  try {
    return decodeURIComponent(new URL(uri, 'http://h').pathname);
  } catch {
    return undefined;
  }
}

/**
 * Tomcat-like (Tomcat, Jetty, Spring on them): `;params` cut from each segment, the rest decoded,
 * dot segments resolved, `//` merged (a trailing `/` kept).
 */
function tomcat(uri: string): string | undefined {
  const noParams = pathPart(uri)
    .split('/')
    .map((s) => s.split(';')[0]!)
    .join('/');
  let decoded: string;
  try {
    decoded = decodeURIComponent(noParams);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/')) return undefined;
  const segs = decoded.split('/').slice(1);
  const out: string[] = [];
  segs.forEach((seg, i) => {
    if (seg === '..') out.pop();
    else if (seg !== '.' && seg !== '') out.push(seg);
    if (i === segs.length - 1 && (seg === '' || seg === '.' || seg === '..') && out.length) out[out.length - 1] += '/';
  });
  return '/' + out.join('/');
}

/** Python's wsgiref (PEP 3333): PATH_INFO = unquote(path, 'latin-1'), re-read by the app as UTF-8. */
function wsgiref(uri: string): string | undefined {
  const bytes: number[] = [];
  const p = pathPart(uri);
  for (let i = 0; i < p.length; i++) {
    const m = /^%([0-9a-fA-F]{2})/.exec(p.slice(i, i + 3));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += 2;
    } else bytes.push(p.charCodeAt(i) & 0xff); // unquote keeps a stray % as is
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** The raw path, decoded once (Express's req.path as most apps decode it). */
function rawDecoded(uri: string): string | undefined {
  try {
    return decodeURIComponent(pathPart(uri));
  } catch {
    return undefined;
  }
}

const MODELS: Record<string, (uri: string) => string | undefined> = { whatwg, tomcat, wsgiref, rawDecoded };

/** The ASCII characters of a string, in order: what a rule (ASCII, case-insensitive) can see. */
const asciiSkeleton = (s: string) => lower(s.replace(/[^\x00-\x7f]/g, ''));

type Reader = (uri: string) => string | PathRefusal | undefined;

function check(uri: string, reader: Reader = readPath): void {
  const r = reader(uri);
  if (r === undefined || r instanceof PathRefusal) return;
  for (const [name, model] of Object.entries(MODELS)) {
    const m = model(uri);
    if (m === undefined || lower(m) !== lower(r))
      throw new Error(`${name} reads ${JSON.stringify(uri)} as ${JSON.stringify(m)}, readPath as ${JSON.stringify(r)}`);
  }
  // Unicode-normalising and case-folding readers (Python's unicodedata, Java's Normalizer, ICU
  // caseless matching) may change non-ASCII letters, but never add, drop or move an ASCII one.
  for (const [name, read] of Object.entries({
    nfc: (s: string) => s.normalize('NFC'),
    nfkc: (s: string) => s.normalize('NFKC'),
    fold: (s: string) => s.toUpperCase().toLowerCase(),
    nfkcFold: (s: string) => s.normalize('NFKC').toUpperCase().toLowerCase(),
  })) {
    if (asciiSkeleton(read(r)) !== asciiSkeleton(r)) throw new Error(`${name} reads ${JSON.stringify(r)} as ${JSON.stringify(read(r))}`);
  }
}

const PIECES = [
  '/',
  '/',
  '/',
  '.',
  '..',
  ';',
  '%',
  '?',
  '#',
  '\\',
  '&',
  '=',
  ' ',
  '\t',
  '0',
  '1',
  '2',
  '5',
  '9',
  'a',
  'b',
  'c',
  'e',
  'f',
  'A',
  'B',
  'C',
  'E',
  'F',
  'x',
  'X',
  'k',
  'K',
  's',
  'S',
  'i',
  'I',
  'api',
  'ADMIN',
  'admin',
  'tasks',
  '%2e',
  '%2E',
  '%2f',
  '%2F',
  '%5c',
  '%3b',
  '%25',
  '%00',
  '%20',
  '%3f',
  '%23',
  '%61',
  '%41',
  '%c3%a9',
  '%C3%A9',
  '%c3',
  '%a9',
  '%e2%84%aa',
  '%c4%b1',
  '%c5%bf',
  '%cc%81',
  '%ef%bd%81',
  '%c0%ae',
  '%f0%9f%98%80',
  '%e2%80%ae',
  'é',
  'ß',
  '\u212a',
  '\u0131',
  '\u017f',
  '\u00ff',
  '\u0085',
  '\u00a0',
  '\u00c3',
];
const pathish = fc
  .tuple(fc.constantFrom('/', '/', '/', '//', ''), fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }))
  .map(([start, rest]) => start + rest.join(''));
/** Arbitrary bytes, one character each (how a request target reaches Node in a header). */
const bytes = fc.tuple(fc.constantFrom('/', ''), fc.uint8Array({ maxLength: 48 })).map(([start, b]) => start + Buffer.from(b).toString('latin1'));

describe('readPath refuses, or returns what every model reads (letter case aside)', () => {
  test('path-ish strings', () => {
    fc.assert(
      fc.property(pathish, (uri) => check(uri)),
      { numRuns: 20_000 },
    );
  });

  test('arbitrary bytes', () => {
    fc.assert(
      fc.property(bytes, (uri) => check(uri)),
      { numRuns: 20_000 },
    );
  });

  test('any accepted single code point, percent-encoded, after an ASCII letter and before a slash', () => {
    const cp = fc.integer({ min: 0x80, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff);
    fc.assert(
      fc.property(cp, fc.constantFrom('a', 'n', 'K', '=', '.'), (c, before) => {
        const enc = encodeURIComponent(String.fromCodePoint(c));
        check(`/api/${before}${enc}/x`);
        check(`/api/${before}${enc.toLowerCase()}`);
      }),
      { numRuns: 20_000 },
    );
  });

  test('the models are not vacuous: they do read the ambiguous spellings differently', () => {
    expect(tomcat('/api/..;/admin')).toBe('/admin');
    expect(whatwg('/api/..;/admin')).toBe('/api/..;/admin');
    expect(whatwg('/api/x\\..\\admin')).toBe('/api/admin');
    expect(wsgiref('/api/x%2F..%2Fadmin')).toBe('/api/x/../admin');
    expect(whatwg('/api/%2e%2e/admin')).toBe('/admin');
    expect(asciiSkeleton('/api/\u212aey'.normalize('NFKC'))).toBe('/api/key');
  });

  test('the property catches the reading it replaced (decode, cut ;params, resolve dot segments, merge //)', () => {
    // the path reading tollgate used before readPath, for comparison
    const resolving: Reader = (uri) => {
      const path = uri.split(/[?#]/)[0]!;
      if (!path.startsWith('/')) return undefined;
      let decoded: string;
      try {
        decoded = path.split(/%2f/i).map(decodeURIComponent).join('%2F');
      } catch {
        return undefined;
      }
      const out: string[] = [];
      for (const raw of decoded.split('/').slice(1)) {
        const seg = raw.split(';', 1)[0]!;
        if (seg === '..') out.pop();
        else if (seg !== '' && seg !== '.') out.push(seg);
      }
      return '/' + out.join('/') + (decoded.endsWith('/') && out.length ? '/' : '');
    };
    expect(() =>
      fc.assert(
        fc.property(pathish, (uri) => check(uri, resolving)),
        { numRuns: 20_000 },
      ),
    ).toThrow(/Property failed/);
  });
});
