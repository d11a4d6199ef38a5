// Local TLS for the gateway: a self-signed P-256 pair for localhost, made with the openssl CLI.
import { execFileSync } from 'node:child_process';
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

  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // `req -x509` applies the config's v3_ca section (CA:TRUE), so the certificate can be
  // its own trust anchor for curl --cacert and Node's `ca` option.
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-nodes',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-days', String(opts.days ?? 825),
      '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyFile,
      '-out', certFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  fs.chmodSync(keyFile, 0o600);
  return { certFile, keyFile };
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
