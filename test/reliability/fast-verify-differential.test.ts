// Differential property test: tollgate's synchronous verifyJwt (node:crypto) against jose's jwtVerify,
// its reference. For every generated token — valid, tampered, wrong key, wrong curve, wrong alg for
// the key, truncated or padded base64url, non-canonical JSON, edge exp/nbf/iat, huge and tiny, crit
// and b64 — both give the same verdict, the same reason code when they refuse (jose's error mapped
// by fromJose, as the verifier did) and the same payload when they accept.
// One documented difference: a part in a non-canonical base64url spelling (pad bits set, `=`
// padding, whitespace) is refused by verifyJwt as token_malformed, where jose may accept it.
import { constants, createHmac, createSecretKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type CryptoKey } from 'jose';
import { AuthError } from '../../validator/errors';
import { parseJws, verifyJwt, type JwtVerifyOptions, type VerifyKey } from '../../validator/token/fast-verify';
import { fromJose } from '../../validator/token/jose-errors';

const ISS = 'https://idp.example/realms/main';
const AUD = 'api';
const NOW = 1_800_000_000; // seconds; both sides get this as currentDate
const TOLERANCE = 30;

type Verdict = { ok: true; payload: unknown } | { ok: false; reason: string };

/** What the verifier did before verifyJwt: jose's two decodes (issuer selection), then jwtVerify. */
async function reference(token: string, key: VerifyKey, o: JwtVerifyOptions): Promise<Verdict> {
  try {
    decodeProtectedHeader(token);
    decodeJwt(token);
  } catch {
    return { ok: false, reason: 'token_malformed' };
  }
  try {
    const { payload } = await jwtVerify(token, key as CryptoKey, o as Parameters<typeof jwtVerify>[2]);
    return { ok: true, payload };
  } catch (e) {
    return { ok: false, reason: fromJose(e).code };
  }
}

function fast(token: string, key: VerifyKey, o: JwtVerifyOptions): Verdict {
  try {
    return { ok: true, payload: verifyJwt(parseJws(token), key, o).payload };
  } catch (e) {
    if (!(e instanceof AuthError)) throw e; // anything else is a bug in the fast path
    return { ok: false, reason: e.code };
  }
}

/** Every part in the one spelling RFC 4648 §3.5 allows (what verifyJwt insists on). */
const canonical = (token: string) => token.split('.').every((p) => /^[A-Za-z0-9_-]*$/.test(p) && Buffer.from(p, 'base64url').toString('base64url') === p);

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'];
const CURVE_OF: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

interface Keys {
  rsa: KeyObject[]; // private: [main, stranger, 1024-bit]
  ec: Record<string, KeyObject[]>; // by curve: [main, stranger]
  ed: KeyObject[];
  secrets: Buffer[];
  rsaPem: string;
}
let keys: Keys;
/** Verification keys as the verifier holds them, each with the alg it was imported for. */
let verifiers: Array<{ name: string; alg: string; key: VerifyKey; family: 'rsa' | 'ec' | 'ed' | 'hmac'; index: number; curve?: string }>;

beforeAll(async () => {
  const rsa = [2048, 2048, 1024].map((modulusLength) => generateKeyPairSync('rsa', { modulusLength }));
  const ec = Object.fromEntries(['P-256', 'P-384', 'P-521'].map((crv) => [crv, [0, 1].map(() => generateKeyPairSync('ec', { namedCurve: crv }))]));
  const ed = [0, 1].map(() => generateKeyPairSync('ed25519'));
  const secrets = [Buffer.alloc(32, 7), Buffer.from('another-secret-that-is-32-bytes-long!!')];
  keys = {
    rsa: rsa.map((k) => k.privateKey),
    ec: Object.fromEntries(Object.entries(ec).map(([c, ks]) => [c, ks.map((k) => k.privateKey)])),
    ed: ed.map((k) => k.privateKey),
    secrets,
    rsaPem: rsa[0]!.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
  // as the JWKS store imports them: the published JWK, for one alg
  const imported = (pub: KeyObject, alg: string) => importJWK({ ...pub.export({ format: 'jwk' }), alg }, alg) as Promise<CryptoKey>;
  verifiers = [
    { name: 'RSA as RS256', alg: 'RS256', key: await imported(rsa[0]!.publicKey, 'RS256'), family: 'rsa', index: 0 },
    { name: 'RSA as PS256', alg: 'PS256', key: await imported(rsa[0]!.publicKey, 'PS256'), family: 'rsa', index: 0 },
    { name: 'RSA as RS512', alg: 'RS512', key: await imported(rsa[0]!.publicKey, 'RS512'), family: 'rsa', index: 0 },
    { name: 'RSA as PS384', alg: 'PS384', key: await imported(rsa[0]!.publicKey, 'PS384'), family: 'rsa', index: 0 },
    { name: 'RSA KeyObject', alg: 'RS256', key: rsa[0]!.publicKey, family: 'rsa', index: 0 },
    { name: 'RSA-1024 as RS256', alg: 'RS256', key: await imported(rsa[2]!.publicKey, 'RS256'), family: 'rsa', index: 2 },
    { name: 'P-256 as ES256', alg: 'ES256', key: await imported(ec['P-256']![0]!.publicKey, 'ES256'), family: 'ec', index: 0, curve: 'P-256' },
    { name: 'P-384 as ES384', alg: 'ES384', key: await imported(ec['P-384']![0]!.publicKey, 'ES384'), family: 'ec', index: 0, curve: 'P-384' },
    { name: 'P-521 as ES512', alg: 'ES512', key: await imported(ec['P-521']![0]!.publicKey, 'ES512'), family: 'ec', index: 0, curve: 'P-521' },
    { name: 'P-256 KeyObject', alg: 'ES256', key: ec['P-256']![0]!.publicKey, family: 'ec', index: 0, curve: 'P-256' },
    { name: 'Ed25519 as EdDSA', alg: 'EdDSA', key: await imported(ed[0]!.publicKey, 'EdDSA'), family: 'ed', index: 0 },
    { name: 'Ed25519 as Ed25519', alg: 'Ed25519', key: await imported(ed[0]!.publicKey, 'Ed25519'), family: 'ed', index: 0 },
    { name: 'Ed25519 KeyObject', alg: 'EdDSA', key: ed[0]!.publicKey, family: 'ed', index: 0 },
    { name: 'HMAC secret for HS256', alg: 'HS256', key: new Uint8Array(secrets[0]!), family: 'hmac', index: 0 },
    { name: 'HMAC secret for HS512', alg: 'HS512', key: new Uint8Array(secrets[0]!), family: 'hmac', index: 0 },
    { name: 'HMAC secret KeyObject', alg: 'HS256', key: createSecretKey(secrets[0]!), family: 'hmac', index: 0 },
    { name: 'empty HMAC secret', alg: 'HS256', key: new Uint8Array(0), family: 'hmac', index: 0 },
  ];
});

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The signature of `input` under `alg` with a key of the right kind; which one is `signer`'s choice. */
function signWith(alg: string, input: Buffer, signer: string, v: (typeof verifiers)[number], pssSalt: 'hash' | 'zero' | 'max'): Buffer {
  const bits = alg.slice(2);
  const other = signer === 'stranger' ? 1 : 0;
  if (alg.startsWith('HS')) {
    // the classic confusion: an HMAC keyed with the issuer's public key
    const secret = signer === 'publicKeyAsSecret' ? keys.rsaPem : keys.secrets[v.family === 'hmac' && signer !== 'stranger' ? v.index : other]!;
    return createHmac(HASH[bits]!, secret).update(input).digest();
  }
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    const key = keys.rsa[v.family === 'rsa' && signer !== 'stranger' ? v.index : other]!;
    if (alg.startsWith('RS')) return sign(HASH[bits]!, input, key);
    const saltLength = pssSalt === 'hash' ? Number(bits) / 8 : pssSalt === 'zero' ? 0 : constants.RSA_PSS_SALTLEN_MAX_SIGN;
    // a 1024-bit key has no room for PS512's 64-byte salt: sign it without salt then
    const pss = (salt: number) => sign(HASH[bits]!, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt });
    try {
      return pss(saltLength);
    } catch {
      return pss(0);
    }
  }
  if (alg.startsWith('ES')) {
    // wrongCurve: an ES256 header signed with P-384 (and so on round)
    const curves = ['P-256', 'P-384', 'P-521'];
    const curve = signer === 'wrongCurve' ? curves[(curves.indexOf(CURVE_OF[alg]!) + 1) % 3]! : CURVE_OF[alg]!;
    return sign(HASH[bits]!, input, { key: keys.ec[curve]![other]!, dsaEncoding: 'ieee-p1363' });
  }
  return sign(null, input, keys.ed[other]!);
}

/** `arb` in about one case of `oneIn`, else absent (so that most tokens get as far as the signature). */
const sometimes = <T>(arb: fc.Arbitrary<T>, oneIn = 5) => fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
/** A record without its absent (undefined) members. */
const present = <T extends Record<string, unknown>>(arb: fc.Arbitrary<T>) =>
  arb.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Partial<T>);

const edgeTime = fc.oneof(
  fc.integer({ min: -40, max: 40 }).map((d) => NOW + d),
  fc.constantFrom(NOW - TOLERANCE - 1, NOW - TOLERANCE, NOW - TOLERANCE + 1, NOW + TOLERANCE - 1, NOW + TOLERANCE, NOW + TOLERANCE + 1, NOW + 0.5, NOW - 0.5),
  fc.constantFrom(NOW + 3600, NOW - 3600, 0, -1, Number.MAX_SAFE_INTEGER, 1e300),
  fc.constantFrom<unknown>(String(NOW + 60), null, true, [NOW + 60], {}),
);

const claims = present(
  fc.record({
    iss: fc.oneof(
      { weight: 8, arbitrary: fc.constant<unknown>(ISS) },
      { weight: 2, arbitrary: fc.constantFrom<unknown>(undefined, `${ISS}/`, 'https://evil.example', 42, null) },
    ),
    aud: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom<unknown>(AUD, ['other', AUD]) },
      { weight: 2, arbitrary: fc.constantFrom<unknown>(undefined, [AUD], ['other'], 'other', [], 7, [7, AUD], null) },
    ),
    sub: fc.constantFrom<unknown>('user-1', 'user-1', 'user-1', '', 5),
    exp: fc.oneof(
      { weight: 6, arbitrary: fc.constant<unknown>(NOW + 3600) },
      { weight: 4, arbitrary: edgeTime },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    nbf: sometimes(edgeTime, 3),
    iat: sometimes(edgeTime, 2),
    scope: fc.constantFrom('api:read', 'a b c'),
    blob: sometimes(fc.constantFrom('x'.repeat(100_000), 'ü€😀'), 3), // huge, and non-ASCII (UTF-8 in the payload)
  }),
);

const header = present(
  fc.record({
    kid: sometimes(fc.constantFrom<unknown>('k1', 5), 2),
    typ: sometimes(fc.constantFrom<unknown>('JWT', 'at+jwt', 'application/at+jwt', 'id_token+jwt', 5), 2),
    crit: sometimes(fc.constantFrom<unknown>(['b64'], ['exp'], [], 'b64', [''], ['b64', 'b64'], null), 8),
    b64: sometimes(fc.constantFrom<unknown>(true, false, 'false'), 4),
  }),
);

/** How the JSON text is written: canonical, or a spelling jose reads the same or refuses. */
const encodings = [
  'json',
  'spaces',
  'bom',
  'dupFirst',
  'dupLast',
  'array',
  'string',
  'null',
  'number',
  'badUtf8',
  'notJson',
  'expInfinity',
  'twoBoms',
] as const;
function encode(value: Record<string, unknown>, how: (typeof encodings)[number], dupKey: string): Buffer {
  const json = JSON.stringify(value);
  switch (how) {
    case 'spaces':
      return Buffer.from(JSON.stringify(value, null, 2).replace(/:/g, ' : ') + '\n\t ');
    case 'bom':
      return Buffer.from('\ufeff' + json);
    case 'twoBoms':
      return Buffer.from('\ufeff\ufeff' + json);
    case 'dupFirst':
      return Buffer.from(`{"${dupKey}":"evil"${json === '{}' ? '' : ','}${json.slice(1)}`); // the later, real one wins
    case 'dupLast':
      return Buffer.from(`${json.slice(0, -1)}${json === '{}' ? '' : ','}"${dupKey}":"evil"}`);
    case 'array':
      return Buffer.from(`[${json}]`);
    case 'string':
      return Buffer.from(JSON.stringify(json));
    case 'null':
      return Buffer.from('null');
    case 'number':
      return Buffer.from('42');
    case 'badUtf8':
      return Buffer.concat([Buffer.from(`${json.slice(0, -1)}${json === '{}' ? '' : ','}"x":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    case 'notJson':
      return Buffer.from(json.slice(0, -1));
    case 'expInfinity':
      return Buffer.from(json.replace(/"exp":[^,}]*/, '"exp":1e999'));
    default:
      return Buffer.from(json);
  }
}

const B64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const mutation = fc.oneof(
  { weight: 20, arbitrary: fc.constant({ kind: 'none' as const, part: 0, at: 0, n: 0 }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constantFrom('flip', 'truncate', 'pad', 'padBits', 'space', 'bang', 'extraPart', 'dropSignature', 'emptyPart', 'tiny'),
      part: fc.integer({ min: 0, max: 2 }),
      at: fc.nat(),
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

function mutate(token: string, m: { kind: string; part: number; at: number; n: number }): string {
  const parts = token.split('.');
  const p = parts[m.part]!;
  const at = p.length ? m.at % p.length : 0;
  switch (m.kind) {
    case 'flip': {
      // tamper one character (a byte or two of the decoded part)
      const c = p[at] ?? 'A';
      parts[m.part] = p.slice(0, at) + B64_CHARS[(B64_CHARS.indexOf(c) + m.n) % 64] + p.slice(at + 1);
      break;
    }
    case 'truncate':
      parts[m.part] = p.slice(0, Math.max(0, p.length - m.n));
      break;
    case 'pad':
      parts[m.part] = p + '='.repeat(m.n);
      break;
    case 'padBits': {
      // same bytes, another spelling: set the unused low bits of the last character
      const tail = p.length & 3;
      if (tail === 2 || tail === 3) parts[m.part] = p.slice(0, -1) + B64_CHARS[B64_CHARS.indexOf(p[p.length - 1]!) | (tail === 2 ? m.n & 0x0f : m.n & 0x03)];
      break;
    }
    case 'space':
      parts[m.part] = p.slice(0, at) + ' ' + p.slice(at);
      break;
    case 'bang':
      parts[m.part] = p.slice(0, at) + '!' + p.slice(at);
      break;
    case 'extraPart':
      parts.push('e30');
      break;
    case 'dropSignature':
      parts.pop();
      break;
    case 'emptyPart':
      parts[m.part] = '';
      break;
    case 'tiny':
      return ['', '.', '..', 'a.b.c', 'e30.e30.', 'e30.e30.e30', '...'][m.at % 7]!;
  }
  return parts.join('.');
}

const stats = new Map<string, number>();
let runs = 0;
afterAll(() => {
  console.log(`differential: ${runs} tokens, verdicts ${JSON.stringify(Object.fromEntries([...stats].sort((a, b) => b[1] - a[1])))}`);
});

describe('verifyJwt against jose jwtVerify', () => {
  test('same verdict, reason and payload on every generated token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          verifier: fc.nat(),
          alg: fc.oneof(
            { weight: 10, arbitrary: fc.constant('verifier') },
            { weight: 3, arbitrary: fc.constantFrom(...ALGS) },
            { weight: 1, arbitrary: fc.constantFrom<unknown>('none', 'NONE', '', 'rs256', '__proto__', 'constructor', 42, undefined) },
          ),
          signer: fc.constantFrom(
            'matching',
            'matching',
            'matching',
            'matching',
            'matching',
            'stranger',
            'wrongCurve',
            'publicKeyAsSecret',
            'garbage',
            'empty',
          ),
          pssSalt: fc.constantFrom('hash', 'hash', 'zero', 'max'),
          header,
          claims,
          // mostly canonical JSON, so that most tokens get as far as the signature and the claims
          headerEncoding: fc.oneof({ weight: 9, arbitrary: fc.constant('json' as const) }, { weight: 1, arbitrary: fc.constantFrom(...encodings) }),
          payloadEncoding: fc.oneof({ weight: 8, arbitrary: fc.constant('json' as const) }, { weight: 2, arbitrary: fc.constantFrom(...encodings) }),
          mutation,
          allow: fc.constantFrom('verifier', 'header', 'none', 'both'),
          options: present(
            fc.record({
              typ: sometimes(fc.constantFrom('at+jwt', 'JWT'), 6),
              subject: sometimes(fc.constant('user-1'), 6),
              maxTokenAge: sometimes(fc.constantFrom(0, 60, 3600), 6),
            }),
          ),
        }),
        async (c) => {
          const v = verifiers[c.verifier % verifiers.length]!;
          const alg = c.alg === 'verifier' ? v.alg : c.alg;
          const h = { ...c.header, ...(alg === undefined ? {} : { alg }) };
          const input = `${b64(encode(h, c.headerEncoding, 'alg'))}.${b64(encode(c.claims, c.payloadEncoding, 'iss'))}`;
          let sig: Buffer;
          if (c.signer === 'garbage') sig = Buffer.from('not a signature at all, but long enough to look like one');
          else if (c.signer === 'empty' || typeof alg !== 'string' || !ALGS.includes(alg)) sig = Buffer.alloc(0);
          else sig = signWith(alg, Buffer.from(input), c.signer, v, c.pssSalt as 'hash');
          const token = mutate(`${input}.${b64(sig)}`, c.mutation);
          const algorithms = {
            verifier: [v.alg],
            header: typeof alg === 'string' ? [alg] : [v.alg],
            none: undefined,
            both: [v.alg, ...(typeof alg === 'string' ? [alg] : [])],
          }[c.allow];
          const o: JwtVerifyOptions = {
            issuer: ISS,
            audience: [AUD],
            algorithms,
            clockTolerance: TOLERANCE,
            requiredClaims: ['exp'],
            currentDate: new Date(NOW * 1000),
            ...c.options,
          };

          const [want, got] = [await reference(token, v.key, o), fast(token, v.key, o)];
          runs++;
          const label = got.ok ? 'accepted' : got.reason;
          stats.set(label, (stats.get(label) ?? 0) + 1);
          if (!canonical(token) && token.split('.').length === 3) {
            // the one difference: refused, as malformed whenever jose accepted
            expect(got.ok).toBe(false);
            if (want.ok) expect(got).toEqual({ ok: false, reason: 'token_malformed' });
            return;
          }
          expect({ token: token.slice(0, 200), verifier: v.name, got }).toEqual({ token: token.slice(0, 200), verifier: v.name, got: want });
        },
      ),
      { numRuns: 4000 },
    );
    // the generator must reach every stage: acceptance and each kind of refusal
    expect(stats.get('accepted') ?? 0).toBeGreaterThan(150);
    for (const reason of [
      'token_malformed',
      'signature_invalid',
      'algorithm_not_allowed',
      'token_expired',
      'token_not_yet_valid',
      'issuer_mismatch',
      'audience_mismatch',
      'claim_missing',
      'claim_invalid',
      'token_type_invalid',
    ]) {
      expect(stats.get(reason) ?? 0).toBeGreaterThan(0);
    }
  }, 300_000);
});
