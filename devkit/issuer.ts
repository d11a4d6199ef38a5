// A throw-away token issuer for tests, the bench and the soak: real keys, discovery and a JWKS over
// HTTP on 127.0.0.1, and a minter. The hostile-token suite needs to forge tokens, which a real IdP
// will not do; the happy path is also covered against the development IdP (oidc-provider).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA', kid = `${alg.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/** What the JWKS publishes of a key (a TestKey, or the bench's PEM-backed keys). */
export interface PublishedKey {
  publicJwk: JWK;
}

export type JwksMode = 'ok' | 'error500' | 'garbage' | 'hang' | 'empty';

export interface IssuerOptions {
  /** Where the JWKS is also served, under the issuer path; Keycloak's is `/protocol/openid-connect/certs`. Default `/jwks`. */
  jwksPath?: string;
}

/**
 * Serves, under `issuer = http://127.0.0.1:PORT<path>`, the discovery document (both the OpenID and
 * the RFC 8414 well-known names) and the JWKS at `/jwks`, `/.well-known/jwks.json` (Supabase's
 * name) and `jwksPath`.
 */
export class TestIssuer {
  keys: PublishedKey[] = [];
  /** Extra raw JWKs published as-is (encryption keys, private parts…). */
  extraJwks: JWK[] = [];
  mode: JwksMode = 'ok';
  jwksHits = 0;
  private server?: Server;
  issuer = '';
  jwksUrl = '';

  static async start(keys: PublishedKey[], path = '', opts: IssuerOptions = {}): Promise<TestIssuer> {
    const t = new TestIssuer();
    t.keys = keys;
    const jwksPath = opts.jwksPath ?? '/jwks';
    t.server = createServer((req, res) => {
      const url = req.url ?? '';
      if (url === `${path}/.well-known/openid-configuration` || url === `${path}/.well-known/oauth-authorization-server`) {
        const algs = [...new Set(t.keys.map((k) => k.publicJwk.alg).filter(Boolean))];
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: t.issuer, jwks_uri: t.jwksUrl, ...(algs.length ? { id_token_signing_alg_values_supported: algs } : {}) }));
        return;
      }
      if (url === `${path}/jwks` || url === `${path}/.well-known/jwks.json` || url === `${path}${jwksPath}`) {
        t.jwksHits++;
        if (t.mode === 'hang') return; // never answers
        if (t.mode === 'error500') {
          res.statusCode = 500;
          res.end('oops');
          return;
        }
        res.setHeader('content-type', 'application/json');
        if (t.mode === 'garbage') {
          res.end('{"keys": [ not json');
          return;
        }
        res.end(JSON.stringify({ keys: t.mode === 'empty' ? [] : [...t.keys.map((k) => k.publicJwk), ...t.extraJwks] }));
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((r) => t.server!.listen(0, '127.0.0.1', r));
    const port = (t.server.address() as AddressInfo).port;
    t.issuer = `http://127.0.0.1:${port}${path}`;
    t.jwksUrl = `${t.issuer}${jwksPath}`;
    return t;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export interface MintOptions {
  key?: TestKey;
  /** HS256 secret instead of a key. */
  secret?: string | Uint8Array;
  header?: Record<string, unknown>;
  /** Claims; `undefined` values are dropped. Defaults: iss, aud, sub, iat, exp (+5 min). */
  claims?: Record<string, unknown>;
  /** Seconds from now; default 300. */
  expiresIn?: number;
  /** Omit the default exp/iat. */
  noExp?: boolean;
}

/** Signs a JWT the way an IdP would, with every default overridable. */
export async function mint(defaults: { iss: string; aud: string | string[] }, o: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload & Record<string, unknown> = {
    iss: defaults.iss,
    aud: defaults.aud,
    sub: 'user-123',
    iat: now,
    ...(o.noExp ? {} : { exp: now + (o.expiresIn ?? 300) }),
    ...o.claims,
  };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  if (o.secret !== undefined) {
    const secret = typeof o.secret === 'string' ? new TextEncoder().encode(o.secret) : o.secret;
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...o.header } as { alg: string }).sign(secret);
  }
  const key = o.key!;
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...o.header } as { alg: string }).sign(key.privateKey);
}

/** base64url of a JSON value, for hand-built tokens. */
export const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
