// `tollgate explain` on each refusal reason and on hostile tokens: the stage that refuses, its
// "got" and "expected" lines, the verdict (the pipeline's own, exit 0 / 1), a quota charge that is
// previewed and never made, and output that never carries the token, its signature, or a terminal
// escape sequence from a claim.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestIssuer, b64, makeKey, mint, type MintOptions, type TestKey } from '../../devkit/issuer';
import { distPath } from '../../devkit/root';
import { explain } from '../../validator/cli/explain';
import { parseStoreConfig } from '../../validator/config';
import type { Explanation, StageLine } from '../../validator/explain/stages';
import { openStore } from '../../validator/store';

let key: TestKey;
let stranger: TestKey;
let iss: TestIssuer;
let work: string;
let dataDir: string;
const RULES = JSON.stringify({ 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] });
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-explain-'));
  dataDir = path.join(work, 'data');
  [key, stranger] = await Promise.all([makeKey('RS256', 'k1'), makeKey('RS256', 'k1')]);
  iss = await TestIssuer.start([key], '/realms/wavestack');
  // a migrated embedded store, closed again: explain opens it itself
  await (await openStore({ ...parseStoreConfig({ DATA_DIR: dataDir }).database, migrate: true })).close();
}, 60_000);
afterAll(async () => {
  await iss?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  NODE_ENV: 'test',
  AUTH_MODE: 'jwks',
  AUTH_ISSUER: iss.issuer,
  AUTH_AUDIENCE: 'wavestack',
  AUTH_ROUTE_RULES: RULES,
  QUOTA_ROUTES: 'POST /api/tasks',
  QUOTA_DEFAULT_DAILY_TICKS: '3',
  DATA_DIR: dataDir,
  ...extra,
});
const token = (o: MintOptions = {}) =>
  mint({ iss: iss.issuer, aud: 'wavestack' }, { key, ...o, claims: { scope: 'api:read api:write', azp: 'gateway', ...o.claims } });

/** Runs explain in this process; returns exit code, output text and (with --json) the parsed explanation. */
async function run(tok: string, args: string[] = [], extra: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await explain([tok, ...args], { env: env(extra), out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => '' });
  const text = out.join('\n');
  return { code, text, err: err.join('\n'), x: args.includes('--json') ? (JSON.parse(text) as Explanation) : undefined };
}
const failed = (x: Explanation): StageLine => x.stages.find((s) => s.mark === 'fail')!;
const GET = ['--method', 'GET', '--uri', '/api/things'];

type Case = [reason: string, tok: () => Promise<string>, args: string[], extra: Record<string, string>, stage: string, got: RegExp, expected: RegExp];
const cases: Case[] = [
  ['token_malformed', async () => 'not-a-jwt', GET, {}, 'bearer', /1 dot-separated part/, /header\.payload\.signature/],
  [
    'token_too_large',
    async () => `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`,
    GET,
    {},
    'bearer',
    /^10003 bytes$/,
    /at most 8192 bytes \(AUTH_MAX_TOKEN_BYTES\)/,
  ],
  [
    'algorithm_not_allowed',
    async () => `${b64({ alg: 'none' })}.${b64({ iss: iss.issuer, aud: 'wavestack', sub: 'x', exp: now() + 60 })}.x`,
    GET,
    {},
    'header',
    /^alg "none"$/,
    /^one of "RS256", "ES256" \(AUTH_ALGORITHMS\)$/,
  ],
  [
    'algorithm_not_allowed',
    async () => mint({ iss: iss.issuer, aud: 'wavestack' }, { secret: 'x'.repeat(40), header: { kid: 'k1' } }),
    GET,
    {},
    'algorithm',
    /^alg "HS256"$/,
    /^one of "RS256", "ES256" \(AUTH_ALGORITHMS\)$/,
  ],
  [
    'header_not_allowed',
    async () => token({ header: { jku: 'https://evil.example/jwks' } }),
    GET,
    {},
    'header',
    /^header jku$/,
    /none of crit, jku, x5u, jwk, x5c/,
  ],
  [
    'issuer_mismatch',
    async () => mint({ iss: `${iss.issuer}/`, aud: 'wavestack' }, { key }),
    GET,
    {},
    'issuer',
    /^iss ".*\/realms\/wavestack\/"$/,
    /AUTH_ISSUER/,
  ],
  [
    'key_not_found',
    async () => mint({ iss: iss.issuer, aud: 'wavestack' }, { key: await makeKey('RS256', 'k9') }),
    GET,
    {},
    'key',
    /^kid "k9", alg "RS256"$/,
    /^a published key: kid "k1" \(RS256, use sig\)$/,
  ],
  [
    'signature_invalid',
    async () => mint({ iss: iss.issuer, aud: 'wavestack' }, { key: stranger }),
    GET,
    {},
    'signature',
    /kid "k1" does not verify/,
    /the issuer's key/,
  ],
  [
    'audience_mismatch',
    async () => mint({ iss: iss.issuer, aud: 'account' }, { key }),
    GET,
    {},
    'audience',
    /^aud "account"$/,
    /^"wavestack" \(AUTH_AUDIENCE\)$/,
  ],
  ['token_expired', async () => token({ expiresIn: -600 }), GET, {}, 'lifetime', /^exp .* \(10 min ago\)$/, /now minus 30 s \(AUTH_CLOCK_TOLERANCE_S\)/],
  ['token_not_yet_valid', async () => token({ claims: { nbf: now() + 600 } }), GET, {}, 'lifetime', /^nbf .* \(in 10 min\)$/, /now plus 30 s/],
  ['claim_missing', async () => token({ claims: { sub: undefined } }), GET, {}, 'subject', /subject \(sub\)/, /non-empty sub/],
  ['token_type_invalid', async () => token({ claims: { typ: 'ID' } }), GET, {}, 'claims', /^payload typ "ID"$/, /"Bearer"/],
  [
    'client_not_allowed',
    async () => token({ claims: { azp: 'intruder' } }),
    GET,
    { AUTH_ALLOWED_CLIENTS: 'gateway,cli' },
    'claims',
    /"intruder"/,
    /^one of "gateway", "cli" \(AUTH_ALLOWED_CLIENTS\)$/,
  ],
  [
    'email_unverified',
    async () => token({ claims: { email: 'a@example.com', email_verified: false } }),
    GET,
    { AUTH_REQUIRE_EMAIL_VERIFIED: 'true' },
    'email',
    /^email_verified false$/,
    /AUTH_REQUIRE_EMAIL_VERIFIED/,
  ],
  ['scope_missing', async () => token({ claims: { scope: 'api:write' } }), GET, {}, 'rule', /^scopes "api:write"$/, /^scope "api:read"/],
  ['path_ambiguous', async () => token(), ['--method', 'GET', '--uri', '/api/../admin'], {}, 'request', /dot segment|\.\./, /every server reads the same way/],
  ['method_override', async () => token(), ['--method', 'POST', '--uri', '/api/things/1?_method=DELETE'], {}, 'request', /"_method"/, /no method override/],
  [
    'max_ticks_invalid',
    async () => token(),
    ['--method', 'POST', '--uri', '/api/tasks', '--max-ticks', '0'],
    {},
    'quota',
    /positive whole number/,
    /at most the daily limit/,
  ],
];

test.each(cases)('%s: the stage that refuses says what it got and what it expected', async (reason, tok, args, extra, stage, got, expected) => {
  const t = await tok();
  const r = await run(t, [...args, '--json'], extra);
  expect(r.code).toBe(1);
  const x = r.x!;
  expect(failed(x)).toMatchObject({ stage, reason, got: expect.stringMatching(got), expected: expect.stringMatching(expected) });
  // the verdict is the pipeline's own, and agrees with the stage
  expect(x.decision).toMatchObject({ granted: false, reason });
  expect(x.notes).toEqual([]);
  // every stage before the refusing one passed or did not apply; none after it passed
  const i = x.stages.indexOf(failed(x));
  expect(x.stages.slice(0, i).every((s) => s.mark === 'pass' || s.mark === 'n/a')).toBe(true);
  expect(x.stages.slice(i + 1).some((s) => s.mark === 'pass' || s.mark === 'fail')).toBe(false);
  // never the token or its signature
  const sig = t.split('.')[2];
  if (sig && sig.length > 8) expect(r.text).not.toContain(sig);
  expect(r.text).not.toContain(t);
});

test('text output: ✗ with got / expected / hint lines (Keycloak audience), verdict, exit 1', async () => {
  const r = await run(await token({ claims: { aud: 'account' } }), GET);
  expect(r.code).toBe(1);
  const lines = r.text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('✗ audience'));
  expect(lines.slice(at, at + 4)).toEqual([
    expect.stringMatching(/^✗ audience {3}aud "account", accepted "wavestack"$/),
    expect.stringMatching(/^ +got {6}aud "account"$/),
    expect.stringMatching(/^ +expected "wavestack" \(AUTH_AUDIENCE\)$/),
    expect.stringMatching(/^ +hint {5}Keycloak needs an audience mapper, see docs\/KEYCLOAK\.md$/),
  ]);
  expect(lines.filter((l) => l.startsWith('✓ ')).map((l) => l.split(/\s+/)[1])).toEqual([
    'request',
    'bearer',
    'header',
    'issuer',
    'algorithm',
    'key',
    'signature',
  ]);
  expect(lines.find((l) => l.startsWith('· rule'))).toMatch(
    /GET \/api\/ requires scope api:read; the token carries scopes "api:read api:write" \(not reached\)$/,
  );
  expect(lines.at(-1)).toMatch(/^verdict: refused, 401 audience_mismatch: /);
});

test('a charged route is previewed, never charged: the same answer twice, nothing written', async () => {
  const t = await token({ claims: { sub: 'preview-user' } });
  const args = ['--method', 'POST', '--uri', '/api/tasks', '--max-ticks', '2', '--json'];
  const first = await run(t, args);
  expect(first.code).toBe(0);
  const quota = first.x!.stages.find((s) => s.stage === 'quota')!;
  expect(quota).toMatchObject({
    mark: 'pass',
    text: expect.stringMatching(/is charged \(QUOTA_ROUTES\): would charge 2 tick\(s\), 1 of 3 left after it \(dry run: nothing charged\)/),
  });
  expect(first.x!.decision).toMatchObject({
    granted: true,
    status: 200,
    headers: expect.objectContaining({ 'X-User-Id': 'preview-user', 'X-Ticks-Charged': '2', 'X-Ticks-Remaining': '1' }),
  });
  const second = await run(t, args);
  expect(second.x!.decision!.headers['X-Ticks-Remaining']).toBe('1');
  const text = await run(t, args.slice(0, -1));
  expect(text.text.split('\n').at(-1)).toMatch(/^verdict: granted, 200 with X-User-Id: preview-user, .*X-Ticks-Charged: 2.* \(dry run: nothing was charged\)$/);

  const store = await openStore({ ...parseStoreConfig({ DATA_DIR: dataDir }).database });
  try {
    expect(await store.usage('preview-user', new Date().toISOString().slice(0, 10))).toBeUndefined(); // no profile: nothing was written
    // spent: the preview says quota_exhausted, with the numbers
    await store.setLimit('spent-user', 1, { create: true });
    await store.charge('spent-user', 1, new Date().toISOString().slice(0, 10));
  } finally {
    await store.close();
  }
  const spent = await run(await token({ claims: { sub: 'spent-user' } }), ['--method', 'POST', '--uri', '/api/tasks', '--json']);
  expect(spent.code).toBe(1);
  expect(failed(spent.x!)).toMatchObject({
    stage: 'quota',
    reason: 'quota_exhausted',
    got: expect.stringMatching(/0 of 1 ticks left, 1 requested/),
    hint: expect.stringMatching(/tollgate quota set-limit/),
  });
});

test('no route given: the token alone is explained; route and quota do not apply', async () => {
  const r = await run(await token(), ['--json']);
  expect(r.code).toBe(0);
  expect(r.x!.stages.filter((s) => s.mark === 'n/a').map((s) => s.stage)).toEqual(['request', 'rule', 'quota']);
  expect(r.x!.decision).toBeUndefined();
  expect(r.x!.notes).toEqual([expect.stringMatching(/give --method and --uri/)]);
});

test('keys unavailable: the JWKS fetch error, with its URL and cause', async () => {
  const r = await run(await token(), [...GET, '--json'], { AUTH_JWKS_URL: 'http://127.0.0.1:9/certs', AUTH_JWKS_TIMEOUT_MS: '500' });
  expect(r.code).toBe(1);
  expect(failed(r.x!)).toMatchObject({ stage: 'key', reason: 'keys_unavailable', hint: expect.stringMatching(/tollgate check/) });
});

describe('hostile tokens', () => {
  test('claims carrying terminal escapes, bidi overrides and megabytes print as escapes, cut short', async () => {
    const t = await token({ claims: { sub: 'evil\u001b[2J\u001b]0;pwned\u0007', aud: ['\u202ewavestack', 'x'.repeat(5000)], scope: '\u009b31m' } });
    for (const args of [GET, [...GET, '--json']]) {
      const r = await run(t, args);
      expect(r.code).toBe(1); // audience: "\u202ewavestack" is not "wavestack"
      expect(r.text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
      expect(r.text).toContain('\\u001b');
      expect(r.text).toContain('\\u202e');
      expect(r.text).not.toContain(t.split('.')[2]);
    }
  });

  test('an unsigned token claiming to be an admin: refused at the header, its claims shown as claims', async () => {
    const t = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: iss.issuer, aud: 'wavestack', sub: 'admin', scope: 'api:read', exp: now() + 600 })}.`;
    const r = await run(t, [...GET, '--json']);
    expect(r.code).toBe(1);
    expect(failed(r.x!)).toMatchObject({ stage: 'bearer', reason: 'token_malformed' }); // empty signature: not even a JWS
    const r2 = await run(`${t}x`, [...GET, '--json']);
    expect(failed(r2.x!)).toMatchObject({ stage: 'header', reason: 'algorithm_not_allowed', hint: 'unsigned tokens are never accepted' });
  });
});

describe('the command', () => {
  const TOLLGATE = distPath('validator', 'cli', 'tollgate.js');
  const spawn = (args: string[], stdin: string, extra: Record<string, string> = {}) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      const c = execFile(
        process.execPath,
        [TOLLGATE, 'explain', ...args],
        { cwd: work, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '', ...env(), ...extra } },
        (e, out, err) => resolve({ code: e ? Number((e as { code?: unknown }).code) : 0, out, err }),
      );
      c.stdin!.end(stdin);
    });

  test('the token from stdin ("-"), "Bearer " accepted; exit 0 granted, 1 refused, 2 bad usage or configuration', async () => {
    const ok = await spawn(['-', ...GET], `Bearer ${await token()}\n`);
    expect(ok).toMatchObject({ code: 0, err: '' });
    expect(ok.out.trim().split('\n').at(-1)).toMatch(/^verdict: granted, 200 with X-User-Id: user-123/);
    expect((await spawn(['-', ...GET], await mint({ iss: iss.issuer, aud: 'account' }, { key }))).code).toBe(1);
    expect(await spawn(['-', '--method', 'GET'], 'x')).toMatchObject({ code: 2, err: expect.stringMatching(/--method and --uri go together/) });
    expect(await spawn(['-'], await token(), { AUTH_AUDIENCE: '', PORT: 'x' })).toMatchObject({
      code: 2,
      err: expect.stringMatching(/configuration error: PORT:[^]*configuration error: AUTH_AUDIENCE:/),
    });
  });
});
