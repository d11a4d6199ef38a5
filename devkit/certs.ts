// Local TLS for the gateway: a self-signed P-256 pair for localhost, and for certificate-bound
// tokens (RFC 8705) a client CA and client certificates, all made with the openssl CLI at run time
// (no private key is ever committed).
import { execFileSync } from 'node:child_process';
import { hash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface CertPair {
  /** PEM certificate; also the CA file to trust (`curl --cacert`, Node's `ca`). */
  certFile: string;
  /** PEM private key (mode 0600). */
  keyFile: string;
}

export interface CertOptions {
  /** Output directory, created if missing. Default `./.certs` (gitignored). */
  dir?: string;
  /** Replace an existing pair. Default false: an existing pair is reused. */
  force?: boolean;
  /** Validity in days. Default 825 (the longest that Apple's TLS policy accepts). */
  days?: number;
}

/**
 * Make (or reuse) `localhost.crt` / `localhost.key` in `dir`: CN=localhost,
 * subjectAltName DNS:localhost and IP:127.0.0.1. Throws when openssl is missing or fails.
 */
export function ensureDevCerts(opts: CertOptions = {}): CertPair {
  const dir = path.resolve(opts.dir ?? '.certs');
  const certFile = path.join(dir, 'localhost.crt');
  const keyFile = path.join(dir, 'localhost.key');
  if (!opts.force && fs.existsSync(certFile) && fs.existsSync(keyFile)) return { certFile, keyFile };

  // `req -x509` applies the config's v3_ca section (CA:TRUE), so the certificate can be
  // its own trust anchor for curl --cacert and Node's `ca` option.
  return opensslPair(certFile, keyFile, opts.days ?? 825, ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
}

/** `openssl req -x509 -nodes` with a new P-256 key: `args` say the subject, issuer and extensions. */
function opensslPair(certFile: string, keyFile: string, days: number, args: string[]): CertPair {
  fs.mkdirSync(path.dirname(certFile), { recursive: true, mode: 0o700 });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-nodes',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-days',
      String(days),
      ...args,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  fs.chmodSync(keyFile, 0o600);
  return { certFile, keyFile };
}

const safeName = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * A CA for client certificates (tests, and GATEWAY_MTLS=optional's GATEWAY_CLIENT_CA): `<name>.crt`
 * and `.key` in `dir`, CN=`name`, CA:TRUE (the req -x509 default) and keyCertSign. Always new.
 */
export function makeClientCa(dir: string, name = 'tollgate-test-client-ca', days = 2): CertPair {
  const base = path.join(path.resolve(dir), safeName(name));
  return opensslPair(`${base}.crt`, `${base}.key`, days, ['-subj', `/CN=${name}`, '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/**
 * A TLS client certificate for CN=`name` (`<name>.crt`, `.key` in `dir`), issued by `ca`, or
 * self-signed without one (RFC 8705 §2.2's self-signed method). Always new: each call is another
 * certificate with another thumbprint.
 */
export function makeClientCert(dir: string, name: string, ca?: CertPair, days = 2): CertPair {
  const base = path.join(path.resolve(dir), safeName(name));
  const issuer = ca ? ['-CA', ca.certFile, '-CAkey', ca.keyFile] : [];
  return opensslPair(`${base}.crt`, `${base}.key`, days, [
    '-subj',
    `/CN=${name}`,
    ...issuer,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'extendedKeyUsage=clientAuth',
  ]);
}

/**
 * A certificate's RFC 8705 §3.1 thumbprint, the value of `cnf["x5t#S256"]`: base64url (no padding)
 * of SHA-256 over its DER encoding. `pem`: the certificate (a PEM string or file contents).
 */
export function certThumbprintS256(pem: string | Buffer): string {
  return hash('sha256', new X509Certificate(pem).raw, 'base64url');
}

/** A client certificate as a TLS client presents it: certificate and key (PEM) and its x5t#S256 thumbprint. */
export interface ClientIdentity {
  cert: Buffer;
  key: Buffer;
  s256: string;
}

/** Reads `pair` as a TLS client presents it. */
export function clientIdentity(pair: CertPair): ClientIdentity {
  const cert = fs.readFileSync(pair.certFile);
  return { cert, key: fs.readFileSync(pair.keyFile), s256: certThumbprintS256(cert) };
}

// CLI (`npm run certs`): CERTS_DIR (default ./.certs), --force to replace.
if (require.main === module) {
  try {
    const pair = ensureDevCerts({ dir: process.env.CERTS_DIR, force: process.argv.includes('--force') });
    console.log(`certificate: ${pair.certFile}\nprivate key: ${pair.keyFile}`);
    console.log(`trust it with: curl --cacert ${path.relative(process.cwd(), pair.certFile)} https://localhost:8443/healthz`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    console.error(e.code === 'ENOENT' ? 'certs: openssl not found (apt-get install openssl)' : `certs: ${e.stderr?.toString() || e.message}`);
    process.exit(1);
  }
}
