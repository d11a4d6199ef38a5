// The reason table is the only list of codes: every code the validator, the NGINX template (and its
// njs), the Caddyfile, the docs, the dashboard and the alerts name is in it, with the same status;
// every entry is emitted by whom the table says and documented in the generated docs/REASONS.md.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT as ROOT } from '../../devkit/root';
import { renderReasonsMd, REASONS_MD } from '../../scripts/gen-reasons-doc';
import { GRANTED, isReasonCode, REASON_CODES, REASONS, type ReasonCode } from '../../validator/reasons';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const filesUnder = (dir: string, ext: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => relative(ROOT, join(ROOT, dir, f)))
    .sort();

/** A code named somewhere, with the status it is answered with there when the text says. */
interface Mention {
  file: string;
  code: string;
  status?: number;
}

/** Names that read as reason codes (a table code's ending), so a stale or misspelt one is caught. */
const REASON_ENDINGS = [
  'unavailable',
  'missing',
  'invalid',
  'mismatch',
  'refused',
  'not_allowed',
  'exhausted',
  'ambiguous',
  'forbidden',
  'duplicate',
  'unconfirmed',
  'unverified',
  'expired',
  'malformed',
  'not_found',
  'too_large',
  'not_yet_valid',
  'in_uri',
  'limited',
];
const REASON_LIKE = new RegExp(`(?<![$@\\w-])([a-z]+(?:_[a-z0-9]+)*_(?:${REASON_ENDINGS.join('|')}))\\b`, 'g');

const unknown = (mentions: Mention[]) => mentions.filter((m) => !isReasonCode(m.code));
const wrongStatus = (mentions: Mention[]) =>
  mentions
    .filter((m) => isReasonCode(m.code) && m.status !== undefined && m.status !== REASONS[m.code].status)
    .map((m) => ({ ...m, table: REASONS[m.code as ReasonCode].status }));

// --- scanners: text → the codes it names (each tested below on text with a made-up code) ---

const all = (text: string, re: RegExp) => [...text.matchAll(re)];

/** validator/: `new AuthError('x'…)`, the factories that take a code, and `reason: 'x'` (a decision rewritten in place). */
function validatorMentions(file: string, text: string): Mention[] {
  return [
    ...all(text, /\b(?:new AuthError|invalidToken|invalidRequest|forbidden|unavailable|missingToken|proofRefused)\(\s*'([a-z0-9_]+)'/g),
    ...all(text, /\breason: '([a-z0-9_]+)'/g),
  ].map((m) => ({ file, code: m[1]! }));
}

/** An NGINX template. `badRequest`: the status of @bad_request, where the njs refusals go. */
function nginxMentions(file: string, text: string): Mention[] {
  return [
    // `set $auth_reason code; return NNN;`
    ...all(text, /set \$auth_reason ([a-z][a-z0-9_]*);\s*return (\d{3});/g).map((m) => ({ file, code: m[1]!, status: Number(m[2]) })),
    // `return NNN '{"error":"code"}\n';`
    ...all(text, /return (\d{3}) '\{"error":"([a-z][a-z0-9_]*)"\}/g).map((m) => ({ file, code: m[2]!, status: Number(m[1]) })),
    // X-Auth-Reason for a status the validator answered (`"~(?:^|\s)431$" headers_too_large;`)
    ...all(text, /"~\(\?:\^\|\\s\)(\d{3})\$"\s+([a-z][a-z0-9_]*);/g).map((m) => ({ file, code: m[2]!, status: Number(m[1]) })),
    // keys of the map over the njs refusal (`header_forbidden $tollgate_forbidden_header;`)
    ...all(/map \$tollgate_edge_refusal \S+ \{([^}]*)\}/.exec(text)?.[1] ?? '', /^\s*([a-z][a-z0-9_]*)\s/gm)
      .filter((m) => m[1] !== 'default')
      .map((m) => ({ file, code: m[1]! })),
  ];
}

/** njs: edgeRefusal's return values, answered with `status` (through @bad_request). */
function njsMentions(file: string, text: string, status: number): Mention[] {
  return all(text, /return '([a-z][a-z0-9_]*)';/g).map((m) => ({ file, code: m[1]!, status }));
}

/** Caddyfile: `header @m X-Auth-Reason code` and ``respond @m `{"error":"code"}` NNN``. */
function caddyMentions(file: string, text: string): Mention[] {
  return [
    ...all(text, /X-Auth-Reason ([a-z][a-z0-9_]*)/g).map((m) => ({ file, code: m[1]! })),
    ...all(text, /respond @\w+ `\{"error":"([a-z][a-z0-9_]*)"\}` (\d{3})/g).map((m) => ({ file, code: m[1]!, status: Number(m[2]) })),
  ];
}

/** Code-like names in the comments of a config (`#`, `//`, `/* … *\/`). */
function commentMentions(file: string, text: string): Mention[] {
  return text.split('\n').flatMap((line) => {
    const at = line.search(/#|\/\/|\/\*|^\s*\*/);
    return at < 0 ? [] : all(line.slice(at), REASON_LIKE).map((m) => ({ file, code: m[1]! }));
  });
}

/** Markdown: "401 `a`, `b`" (with their status), `X-Auth-Reason: x`, `X-Auth-Reason` (`a`, `b`), `{"error":"x"}`, code-like `names`. */
function docMentions(file: string, text: string): Mention[] {
  return [
    ...all(text, /\b([1-5]\d\d)(?: [A-Za-z]+)? ((?:`[a-z][a-z0-9_]*`(?:,? (?:or |and )?)?)+)/g).flatMap((m) =>
      all(m[2]!, /`([a-z][a-z0-9_]*)`/g)
        .filter((c) => c[1]!.includes('_'))
        .map((c) => ({ file, code: c[1]!, status: Number(m[1]) })),
    ),
    ...all(text, /X-Auth-Reason: ([a-z][a-z0-9_]*)/g).map((m) => ({ file, code: m[1]! })),
    ...all(text, /X-Auth-Reason` \(([^)]*)\)/g).flatMap((m) => all(m[1]!, /`([a-z][a-z0-9_]*)`/g).map((c) => ({ file, code: c[1]! }))),
    ...all(text, /\{"error":"([a-z][a-z0-9_]*)"\}/g).map((m) => ({ file, code: m[1]! })),
    ...all(text, /`([a-z][a-z0-9_]*)`/g).flatMap((m) => all(m[1]!, REASON_LIKE).map((c) => ({ file, code: c[1]! }))),
  ];
}

/** Dashboard and alert files: `reason="x"`, `reason=~"a|b"` (JSON-escaped too), and code-like names anywhere. */
function metricsMentions(file: string, text: string): Mention[] {
  return [
    ...all(text, /reason=~?\\?"([^"\\]*)\\?"/g).flatMap((m) => m[1]!.split('|').map((code) => ({ file, code }))),
    ...all(text, REASON_LIKE).map((m) => ({ file, code: m[1]! })),
  ].filter((m) => m.code !== GRANTED);
}

describe('the scanners catch a made-up code and a wrong status', () => {
  test.each<[string, Mention[], number]>([
    ['validator', validatorMentions('v.ts', "throw invalidToken('token_bogus', 'x');\nthrow new AuthError('made_up', 'y');"), 2],
    ['nginx set + return', nginxMentions('t', 'set $auth_reason bogus_refused;\n        return 400;'), 1],
    ['nginx JSON body', nginxMentions('t', `return 502 '{"error":"validator_gone"}\\n';`), 1],
    ['nginx map', nginxMentions('t', '"~(?:^|\\s)413$" body_too_large;'), 1],
    ['nginx edge map', nginxMentions('t', 'map $tollgate_edge_refusal $x {\n    default "";\n    header_bogus $y;\n}'), 1],
    ['njs', njsMentions('n.js', "if (x) return 'header_weird';", 400), 1],
    ['caddy', caddyMentions('C', 'header @m X-Auth-Reason path_odd\nrespond @m `{"error":"path_weird"}` 400'), 2],
    ['comments', commentMentions('t', '    "~(?:^|\\s)503$"  503;   # keys_unavailable, store_unavailable'), 1],
    ['docs', docMentions('d.md', '503 `store_unavailable`; `X-Auth-Reason: token_gone`; `{"error":"quota_gone"}`'), 3],
    ['dashboard', metricsMentions('g.json', '"expr": "rate(x{reason=~\\"quota_exhausted|store_unavailable\\"}[5m])"'), 1],
  ])('%s', (_what, mentions, unknownCodes) => {
    expect(new Set(unknown(mentions).map((m) => m.code)).size).toBe(unknownCodes);
  });

  test("a known code with another status than the table's", () => {
    const nginx = nginxMentions('t', 'set $auth_reason path_ambiguous;\n return 403;');
    expect(wrongStatus(nginx)).toEqual([{ file: 't', code: 'path_ambiguous', status: 403, table: 400 }]);
    const docs = docMentions('d.md', '401 `token_expired`, `quota_exhausted`');
    expect(wrongStatus(docs)).toEqual([{ file: 'd.md', code: 'quota_exhausted', status: 401, table: 429 }]);
  });
});

describe('the table', () => {
  test.each(REASON_CODES)('%s: a code, a refusal status, an RFC 6750 error that fits it, a doc line', (code) => {
    const r: { status: number; bearerError?: string; emitter: string; doc: string } = REASONS[code];
    expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)+$/);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(600);
    // RFC 6750 §3.1: invalid_request is a 400, invalid_token a 401, insufficient_scope a 403
    const statusOf = { invalid_request: 400, invalid_token: 401, insufficient_scope: 403 } as Record<string, number>;
    if (r.bearerError !== undefined) expect(statusOf[r.bearerError]).toBe(r.status);
    // the gateways build no challenge of their own
    if (r.emitter === 'gateway') expect(r.bearerError).toBeUndefined();
    expect(r.doc).toMatch(/^\S.{20,}[.)]$/);
  });

  test('the granted reason is not a refusal code', () => {
    expect(isReasonCode(GRANTED)).toBe(false);
  });
});

describe('the validator', () => {
  const mentions = filesUnder('validator', '.ts').flatMap((file) => validatorMentions(file, read(file)));

  test('scanning finds the refusals', () => {
    expect(mentions.length).toBeGreaterThan(40);
  });

  test('every code the validator answers with is in the table, as a validator code', () => {
    expect(unknown(mentions)).toEqual([]);
    expect(mentions.filter((m) => isReasonCode(m.code) && REASONS[m.code].emitter === 'gateway')).toEqual([]);
  });

  test('every validator code of the table is answered somewhere in validator/', () => {
    const emitted = new Set(mentions.map((m) => m.code));
    // the factory with a fixed code
    emitted.add('scope_missing');
    expect(REASON_CODES.filter((c) => REASONS[c].emitter !== 'gateway' && !emitted.has(c))).toEqual([]);
  });
});

describe('the gateways (NGINX template, its njs, the Caddyfile)', () => {
  const templates = filesUnder('nginx/templates', '.template');
  const template = read('nginx/templates/tollgate.conf.template');
  const NJS = 'nginx/njs/tollgate.js';
  const CADDY = 'deploy/caddy/Caddyfile';
  /** The status a named location answers with: `location @name { … return NNN`. */
  const statusOf = (location: string) => Number(new RegExp(`location ${location} \\{[^}]*?return (\\d{3})`).exec(template)?.[1]);

  const mentions: Mention[] = [
    ...templates.flatMap((file) => nginxMentions(file, read(file))),
    ...njsMentions(NJS, read(NJS), statusOf('@bad_request')),
    ...caddyMentions(CADDY, read(CADDY)),
  ];

  test('the njs refusals reach the client through @bad_request', () => {
    expect(template).toMatch(/error_page 418 = @bad_request;/);
    expect(template).toMatch(/if \(\$tollgate_edge_refusal\) \{\s*set \$auth_reason \$tollgate_edge_refusal;\s*return 418;/);
    expect(statusOf('@bad_request')).toBe(400);
  });

  test('scanning finds the refusals', () => {
    for (const code of ['path_ambiguous', 'token_in_uri', 'header_forbidden', 'header_duplicate', 'rate_limited', 'validator_timeout', 'headers_too_large']) {
      expect(mentions.map((m) => m.code)).toContain(code);
    }
    expect(mentions.filter((m) => m.file === CADDY).map((m) => m.code)).toEqual(expect.arrayContaining(['token_in_uri', 'path_ambiguous']));
  });

  test('every code a gateway answers with is in the table, as a gateway code, with its status', () => {
    expect(unknown(mentions)).toEqual([]);
    expect(mentions.filter((m) => isReasonCode(m.code) && REASONS[m.code].emitter === 'validator')).toEqual([]);
    expect(wrongStatus(mentions)).toEqual([]);
  });

  test('every gateway code of the table is answered by a gateway', () => {
    const emitted = new Set(mentions.map((m) => m.code));
    expect(REASON_CODES.filter((c) => REASONS[c].emitter !== 'validator' && !emitted.has(c))).toEqual([]);
  });

  test('their comments name existing codes only', () => {
    const comments = [...templates, NJS, CADDY].flatMap((file) => commentMentions(file, read(file)));
    expect(comments.length).toBeGreaterThan(3);
    expect(unknown(comments)).toEqual([]);
  });
});

describe('docs', () => {
  test(`${REASONS_MD} is the generator's output (run \`npm run build && node dist/scripts/gen-reasons-doc.js --write\`)`, () => {
    expect(read(REASONS_MD)).toBe(renderReasonsMd());
  });

  test(`every code has its row in ${REASONS_MD}`, () => {
    const md = read(REASONS_MD);
    for (const code of REASON_CODES) expect(md).toContain(`| \`${code}\` | ${REASONS[code].status} |`);
  });

  test('the README and the operations runbook link the list', () => {
    expect(read('README.md')).toContain('(docs/REASONS.md)');
    expect(read('docs/OPERATIONS.md')).toContain('(REASONS.md)');
  });

  const mentions = ['README.md', ...filesUnder('docs', '.md').filter((f) => f !== REASONS_MD)].flatMap((file) => docMentions(file, read(file)));

  test('scanning finds the codes the docs name', () => {
    expect(mentions.filter((m) => m.status !== undefined).length).toBeGreaterThan(20);
  });

  test('every code the docs name is in the table, with the status the table gives it', () => {
    expect(unknown(mentions)).toEqual([]);
    expect(wrongStatus(mentions)).toEqual([]);
  });
});

describe('dashboard and alerts', () => {
  const files = ['docs/grafana-dashboard.json', 'deploy/prometheus/alerts.yml', 'deploy/prometheus/alerts.test.yml'];
  const mentions = files.flatMap((file) => metricsMentions(file, read(file)));

  test('the files parse and the scan finds their reasons', () => {
    expect(() => JSON.parse(read('docs/grafana-dashboard.json'))).not.toThrow();
    expect(() => parse(read('deploy/prometheus/alerts.yml'))).not.toThrow();
    expect(mentions.length).toBeGreaterThan(3);
  });

  test("every reason they name is in the table, and one the validator answers (the metrics are the validator's)", () => {
    expect(unknown(mentions)).toEqual([]);
    expect(mentions.filter((m) => isReasonCode(m.code) && REASONS[m.code].emitter === 'gateway')).toEqual([]);
  });
});
