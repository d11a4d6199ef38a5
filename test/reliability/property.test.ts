// Property-based hostile input (fast-check): arbitrary bytes as Authorization, X-Original-URI and
// X-Original-Method never crash the validator or make it answer 5xx, and nothing that a trusted
// key did not sign is ever accepted (mutated valid tokens, tokens signed by untrusted keys).
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { buildTestApp, type TestApp } from '../helpers/app';
import { TestIssuer, b64, makeKey, mint, type TestKey } from '../../devkit/issuer';

let trustedRsa: TestKey, trustedEc: TestKey;
let strangers: TestKey[];
let idp: TestIssuer;
let t: TestApp;
let server: http.Server;
let port: number;
let validRsa: string, validEc: string;
let sent = 0;

beforeAll(async () => {
  [trustedRsa, trustedEc] = await Promise.all([makeKey('RS256', 'trusted-rsa'), makeKey('ES256', 'trusted-ec')]);
  // untrusted keys that reuse the trusted kids (the confusion an attacker would try), and one of their own
  strangers = await Promise.all([
    makeKey('RS256', 'trusted-rsa'),
    makeKey('ES256', 'trusted-ec'),
    makeKey('RS256', 'attacker'),
    makeKey('PS256', 'trusted-rsa'),
  ]);
  idp = await TestIssuer.start([trustedRsa, trustedEc]);
  t = await buildTestApp(
    {
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_ALGORITHMS: 'RS256,ES256,PS256',
      AUTH_DECISION_CACHE_TTL_S: '0', // every token is verified for real
      AUTH_ROUTE_RULES: JSON.stringify({ 'DELETE /api/admin': ['api:admin'] }),
      QUOTA_ROUTES: ',', // nothing charged: these properties are about parsing and verification
      LOG_LEVEL: 'warn',
    },
    { noStore: true },
  );
  server = http.createServer(t.listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  validRsa = await mint({ iss: idp.issuer, aud: 'api' }, { key: trustedRsa, expiresIn: 3600, claims: { scope: 'api:read' } });
  validEc = await mint({ iss: idp.issuer, aud: 'api' }, { key: trustedEc, expiresIn: 3600 });
  await t.verifier.refresh();
});

afterAll(async () => {
  console.log(`property tests: ${sent} hostile requests/tokens tried`);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await t.close();
  await idp.stop();
});

/** Sends raw bytes, returns the status code of the first response line (0 when none within 3 s, < 0 when closed without one). */
function raw(bytes: Buffer): Promise<number> {
  sent++;
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (code: number) => {
      clearTimeout(timer);
      s.destroy();
      resolve(code);
    };
    const timer = setTimeout(() => done(0), 3000);
    s.on('data', (b) => {
      got += b.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(got);
      if (m) done(Number(m[1]));
    });
    s.on('error', () => done(got ? -1 : -2));
    s.on('close', () => done(/^HTTP\/1\.1 (\d{3}) /.exec(got) ? Number(/^HTTP\/1\.1 (\d{3}) /.exec(got)![1]) : -3));
    // write, not end: Node's server aborts a pending request when the client half-closes
    s.write(bytes);
  });
}

const request = (headers: Array<[string, Buffer | string]>): Buffer =>
  Buffer.concat([
    Buffer.from('GET /api/auth/validate HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'latin1'),
    ...headers.map(([k, v]) => Buffer.concat([Buffer.from(`${k}: `, 'latin1'), typeof v === 'string' ? Buffer.from(v, 'latin1') : v, Buffer.from('\r\n')])),
    Buffer.from('Connection: close\r\n\r\n'),
  ]);

const healthy = async () => (await fetch(`http://127.0.0.1:${port}/api/health`)).status === 200;

// Arbitrary header values: raw bytes (CR, LF, NUL, high bytes), unicode strings, and near-valid shapes.
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8')),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(`Bearer ${s}`, 'latin1')),
  fc
    .tuple(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }))
    .map(([a, b, c]) => Buffer.from(`Bearer ${a}.${b}.${c}`, 'latin1')),
);

describe('arbitrary bytes in the forwarded headers', () => {
  test('as Authorization: never 5xx, never 200, always an answer', async () => {
    await fc.assert(
      fc.asyncProperty(anyBytes, async (auth) => {
        const code = await raw(
          request([
            ['Authorization', auth],
            ['X-Original-Method', 'GET'],
            ['X-Original-URI', '/api/things'],
          ]),
        );
        return code >= 400 && code < 500;
      }),
      { numRuns: 600 },
    );
    expect(await healthy()).toBe(true);
  });

  test('as X-Original-URI and X-Original-Method with a valid token: never 5xx, always an answer', async () => {
    await fc.assert(
      fc.asyncProperty(anyBytes, anyBytes, fc.constantFrom(validRsa, validEc), async (uri, method, token) => {
        const code = await raw(
          request([
            ['Authorization', `Bearer ${token}`],
            ['X-Original-Method', method],
            ['X-Original-URI', uri],
          ]),
        );
        return code > 0 && code < 500;
      }),
      { numRuns: 600 },
    );
    expect(await healthy()).toBe(true);
  });

  test('printable URIs and methods with a valid token: a decision, 200/400/403 only', async () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          printable,
          printable.map((s) => `/api/${s}`),
        ),
        fc.oneof(printable, fc.constantFrom('GET', 'POST', 'DELETE', 'get', 'PATCH')),
        async (uri, method) => {
          const code = await raw(
            request([
              ['Authorization', `Bearer ${validRsa}`],
              ['X-Original-Method', method.trim()],
              ['X-Original-URI', uri.trim()],
            ]),
          );
          return [200, 400, 403].includes(code);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** Verdict of the real verifier: true = accepted. */
async function accepted(token: string): Promise<boolean> {
  sent++;
  try {
    await t.verifier.verify(token);
    return true;
  } catch (e) {
    // every refusal is a typed 401/503 AuthError, never a crash
    expect((e as { status?: number }).status).toBeDefined();
    return false;
  }
}

const parts = (tok: string) => tok.split('.') as [string, string, string];
const sameSignedContent = (a: string, b: string): boolean => {
  const [ha, pa, sa] = parts(a);
  const [hb, pb, sb] = b.split('.');
  return ha === hb && pa === pb && sb !== undefined && Buffer.from(sa, 'base64url').equals(Buffer.from(sb, 'base64url'));
};

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('nothing not signed by a trusted key is accepted', () => {
  test('the unmodified tokens are accepted (control)', async () => {
    expect(await accepted(validRsa)).toBe(true);
    expect(await accepted(validEc)).toBe(true);
  });

  test('character edits anywhere in a valid token never pass (unless they decode to the same signed bytes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(validRsa, validEc),
        fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...B64URL.split('')), fc.constantFrom('.', '=', '+', '/', ' ', '\u0000', ''))), {
          minLength: 1,
          maxLength: 4,
        }),
        async (tok, edits) => {
          let m = tok;
          for (const [pos, ch] of edits) {
            const i = pos % m.length;
            m = m.slice(0, i) + ch + m.slice(i + 1);
          }
          if (m === tok) return true;
          return !(await accepted(m)) || sameSignedContent(tok, m);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('payload rewrites keeping the original header and signature never pass', async () => {
    const claimPatch = fc.record(
      {
        sub: fc.oneof(fc.string(), fc.constant('admin')),
        scope: fc.oneof(fc.string(), fc.constant('api:admin api:read api:write')),
        aud: fc.oneof(fc.constant('api'), fc.array(fc.string()), fc.string()),
        iss: fc.oneof(fc.constant(idp?.issuer ?? ''), fc.webUrl()),
        exp: fc.oneof(fc.integer(), fc.constant(Math.floor(Date.now() / 1000) + 86400 * 365)),
        extra: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(validRsa, validEc), claimPatch, async (tok, patch) => {
        const [h, p, s] = parts(tok);
        const payload = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), ...patch };
        const m = [h, b64(payload), s].join('.');
        return m === tok || !(await accepted(m));
      }),
      { numRuns: 500 },
    );
  });

  test('header rewrites (alg, kid, typ, jku/jwk/x5u, crit) keeping payload and signature never pass', async () => {
    const headerPatch = fc.record(
      {
        alg: fc.constantFrom('none', 'None', 'HS256', 'HS512', 'RS256', 'RS384', 'ES256', 'ES384', 'PS256', 'EdDSA', ''),
        kid: fc.oneof(fc.constantFrom('trusted-rsa', 'trusted-ec', '../../etc/passwd', "' OR 1=1 --"), fc.string()),
        typ: fc.constantFrom('JWT', 'at+jwt', 'JWE', ''),
        jku: fc.webUrl(),
        jwk: fc.constant(trustedRsa?.publicJwk ?? {}),
        x5u: fc.webUrl(),
        crit: fc.constant(['exp']),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(validRsa, validEc), headerPatch, async (tok, patch) => {
        const [h, p, s] = parts(tok);
        const header = { ...JSON.parse(Buffer.from(h, 'base64url').toString()), ...patch };
        const m = [b64(header), p, s].join('.');
        return m === tok || !(await accepted(m));
      }),
      { numRuns: 500 },
    );
  });

  test('arbitrary claims signed by untrusted keys (same kids, HMAC with the public key, alg none) never pass', async () => {
    // the classic confusion: the trusted RSA public key (PEM) used as an HMAC secret
    const pem = createPublicKey({ key: trustedRsa.publicJwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const now = Math.floor(Date.now() / 1000);
    const claims = fc.record({
      iss: fc.oneof(fc.constant(idp.issuer), fc.webUrl()),
      aud: fc.oneof(fc.constant('api'), fc.string()),
      sub: fc.string({ minLength: 1 }),
      exp: fc.integer({ min: now + 60, max: now + 86400 }),
      scope: fc.constantFrom('api:read', 'api:admin'),
    });
    const signer = fc.oneof(
      fc.constantFrom(...strangers.map((k) => ({ kind: 'key' as const, k }))),
      fc.constantFrom({ kind: 'hmac-pem' as const }, { kind: 'hmac-random' as const }, { kind: 'none' as const }),
    );
    await fc.assert(
      fc.asyncProperty(claims, signer, fc.option(fc.constantFrom('trusted-rsa', 'trusted-ec', 'other')), async (c, sig, kid) => {
        let tok: string;
        if (sig.kind === 'key') {
          tok = await new SignJWT(c).setProtectedHeader({ alg: sig.k.alg, kid: kid ?? sig.k.kid }).sign(sig.k.privateKey);
        } else if (sig.kind === 'none') {
          tok = `${b64({ alg: 'none', kid: kid ?? undefined })}.${b64(c)}.`;
        } else {
          const secret = sig.kind === 'hmac-pem' ? new TextEncoder().encode(String(pem)) : crypto.getRandomValues(new Uint8Array(32));
          tok = await new SignJWT(c).setProtectedHeader({ alg: 'HS256', ...(kid ? { kid } : {}) }).sign(secret);
        }
        return !(await accepted(tok));
      }),
      { numRuns: 400 },
    );
  });
});
