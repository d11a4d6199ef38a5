// The client certificate's thumbprint (RFC 8705 §3.1 x5t#S256) as NGINX's njs and the devkit compute
// it, held to openssl's `x509 -outform der | dgst -sha256 -binary | base64url`; and the test CA and
// client certificates devkit/certs.ts makes (openssl runs here, so not in the unit tier).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { certThumbprintS256, makeClientCa, makeClientCert } from '../../devkit/certs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const njs = (require('../../nginx/njs/tollgate.js') as { default: { clientCertS256(r: { variables: Record<string, string | undefined> }): string } }).default;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-thumbprint-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** openssl x509 -outform der | openssl dgst -sha256 -binary | base64url */
const openssl = (certFile: string): string => {
  const der = execFileSync('openssl', ['x509', '-in', certFile, '-outform', 'der']);
  const digest = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der });
  return digest.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

test('njs clientCertS256 (from $ssl_client_raw_cert) and devkit certThumbprintS256 equal openssl, for CA-issued and self-signed certificates', () => {
  const ca = makeClientCa(dir);
  const certs = [makeClientCert(dir, 'alice', ca), makeClientCert(dir, 'bob', ca), makeClientCert(dir, 'self-signed')];
  const seen = new Set<string>();
  for (const c of certs) {
    const pem = fs.readFileSync(c.certFile, 'utf8');
    const expected = openssl(c.certFile);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(njs.clientCertS256({ variables: { ssl_client_raw_cert: pem } })).toBe(expected);
    expect(certThumbprintS256(pem)).toBe(expected);
    seen.add(expected);
  }
  expect(seen.size).toBe(3);
  // CA-issued ones chain to the CA and are client certificates; the self-signed one has no issuer but itself
  expect(execFileSync('openssl', ['verify', '-CAfile', ca.certFile, certs[0]!.certFile]).toString()).toContain('OK');
  expect(execFileSync('openssl', ['x509', '-in', certs[0]!.certFile, '-noout', '-ext', 'extendedKeyUsage']).toString()).toContain(
    'TLS Web Client Authentication',
  );
  expect(() => execFileSync('openssl', ['verify', '-CAfile', ca.certFile, certs[2]!.certFile], { stdio: 'pipe' })).toThrow();
});

test('the private keys stay in the temporary directory, readable by the owner only', () => {
  const c = makeClientCert(dir, 'carol');
  expect(fs.statSync(c.keyFile).mode & 0o077).toBe(0);
  expect(c.keyFile.startsWith(dir)).toBe(true);
});
