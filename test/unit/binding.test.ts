// Token binding, the pieces: what a token's cnf asks for (token/binding.ts), the certificate check
// of mTLS-bound tokens (token/mtls.ts), and njs's thumbprint without a certificate. The thumbprints
// held to openssl's (RFC 8705 §3.1) need openssl: test/integration/cert-thumbprint.test.ts.
import { AuthError } from '../../validator/errors';
import { bindingOf } from '../../validator/token/binding';
import { checkCertificateBinding, readThumbprint } from '../../validator/token/mtls';
import type { VerifiedToken } from '../../validator/token/verified';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const njs = (require('../../nginx/njs/tollgate.js') as { default: { clientCertS256(r: { variables: Record<string, string | undefined> }): string } }).default;

const A = 'nNn25VXfWNWe6NoYEdCbVvv2fylEBj4vxW-ehQ2pjjk';
const B = 'AAAA5VXfWNWe6NoYEdCbVvv2fylEBj4vxW-ehQ2pjjk';

const token = (payload: Record<string, unknown>): VerifiedToken =>
  Object.freeze({ issuer: {} as VerifiedToken['issuer'], payload: Object.freeze({ sub: 's', ...payload }), alg: 'ES256' });

/** The AuthError code `fn` throws, or 'passed'. */
const outcome = (fn: () => unknown): string => {
  try {
    fn();
    return 'passed';
  } catch (e) {
    if (e instanceof AuthError) return `${e.status} ${e.code}`;
    throw e;
  }
};

describe('bindingOf: what cnf asks for', () => {
  test('no cnf: a bearer token (no binding)', () => {
    expect(bindingOf(token({}))).toBeUndefined();
  });

  test('x5t#S256 → mtls, jkt → dpop, both → both (each to be checked)', () => {
    expect(bindingOf(token({ cnf: { 'x5t#S256': A } }))).toEqual({ x5tS256: A, jkt: undefined, kinds: ['mtls'] });
    expect(bindingOf(token({ cnf: { jkt: B } }))).toEqual({ jkt: B, x5tS256: undefined, kinds: ['dpop'] });
    expect(bindingOf(token({ cnf: { jkt: B, 'x5t#S256': A } }))?.kinds).toEqual(['dpop', 'mtls']);
  });

  test('a cnf that cannot be enforced is refused, never read as "unbound"', () => {
    const cases: unknown[] = [
      null,
      'x',
      42,
      [A],
      {},
      { jwk: { kty: 'EC' } },
      { kid: 'k1' },
      { 'x5t#S256': A + '=' },
      { 'x5t#S256': A.slice(1) },
      { 'x5t#S256': 'a'.repeat(64) },
      { 'x5t#S256': 42 },
      { 'x5t#S256': null },
      { jkt: 'not+base64url/chars=====================' },
      { jkt: ['x'] },
    ];
    for (const cnf of cases) expect({ cnf, outcome: outcome(() => bindingOf(token({ cnf }))) }).toEqual({ cnf, outcome: '401 claim_invalid' });
    // an inherited member is not a member
    const proto = Object.create({ 'x5t#S256': A }) as Record<string, unknown>;
    expect(outcome(() => bindingOf(token({ cnf: proto })))).toBe('401 claim_invalid');
  });

  test('the same verified token gives the same frozen answer (derived once)', () => {
    const v = token({ cnf: { 'x5t#S256': A } });
    expect(bindingOf(v)).toBe(bindingOf(v));
    expect(Object.isFrozen(bindingOf(v))).toBe(true);
  });
});

describe('checkCertificateBinding (RFC 8705 §3)', () => {
  test('the same thumbprint passes; another is 401 mtls_binding_mismatch; none, or an untrusted front, 401 client_certificate_missing', () => {
    expect(outcome(() => checkCertificateBinding(A, A, true))).toBe('passed');
    expect(outcome(() => checkCertificateBinding(A, B, true))).toBe('401 mtls_binding_mismatch');
    expect(outcome(() => checkCertificateBinding(A, undefined, true))).toBe('401 client_certificate_missing');
    // not trusted: even the right value proves nothing (the client can read it out of the token)
    expect(outcome(() => checkCertificateBinding(A, A, false))).toBe('401 client_certificate_missing');
  });

  test('the refusal is an RFC 6750 invalid_token challenge', () => {
    try {
      checkCertificateBinding(A, B, true);
      throw new Error('passed');
    } catch (e) {
      expect((e as AuthError).wwwAuthenticate).toMatch(/^Bearer realm="api", error="invalid_token", error_description="/);
    }
  });

  test('readThumbprint takes the two shapes fronts send: base64url (our njs) and hex of the same digest (Caddy)', () => {
    expect(readThumbprint(A)).toBe(A);
    const hex = Buffer.from(A, 'base64url').toString('hex');
    expect(readThumbprint(hex)).toBe(A);
    expect(readThumbprint(hex.toUpperCase())).toBe(A);
    for (const v of [undefined, '', A + '=', `${A}, ${A}`, A.replace('-', '+'), ` ${A}`, hex.slice(2), `${hex}00`, `${hex.slice(1)}g`, ` ${hex}`])
      expect(readThumbprint(v)).toBeUndefined();
  });
});

describe('njs clientCertS256 (the thumbprint NGINX sends; against openssl: test/integration/cert-thumbprint.test.ts)', () => {
  test('no certificate, no thumbprint', () => {
    expect(njs.clientCertS256({ variables: {} })).toBe('');
    expect(njs.clientCertS256({ variables: { ssl_client_raw_cert: '' } })).toBe('');
  });
});
