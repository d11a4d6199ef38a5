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

export async function makeKey(
  alg: 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA',
  kid = `${alg.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`,
): Promise<TestKey> {
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

/** One answer of the issuer: a status, a body and its type. */
interface Answer {
  status: number;
  body: string;
  json?: boolean;
}

/**
 * Serves, under `issuer = http://127.0.0.1:PORT<path>`, the discovery document (both the OpenID and
 * the RFC 8414 well-known names) and the JWKS at `/jwks`, `/.well-known/jwks.json` (Supabase's
 * name) and `jwksPath`. `TestIssuer.local` answers the same through `fetch` alone, with no socket,
 * for unit tests (TokenVerifier and JwksStore take a `fetch`).
 */
export class TestIssuer {
  keys: PublishedKey[] = [];
  /** Extra raw JWKs published as-is (encryption keys, private parts…). */
  extraJwks: JWK[] = [];
  mode: JwksMode = 'ok';
  jwksHits = 0;
  private server?: Server;
  private path = '';
  private jwksPath = '/jwks';
  issuer = '';
  jwksUrl = '';

  static async start(keys: PublishedKey[], path = '', opts: IssuerOptions = {}): Promise<TestIssuer> {
    const t = TestIssuer.create(keys, path, opts);
    t.server = createServer((req, res) => {
      const a = t.answer(req.url ?? '');
      if (!a) return; // 'hang': never answers
      res.statusCode = a.status;
      if (a.json) res.setHeader('content-type', 'application/json');
      res.end(a.body);
    });
    await new Promise<void>((r) => t.server!.listen(0, '127.0.0.1', r));
    const port = (t.server.address() as AddressInfo).port;
    t.setIssuer(`http://127.0.0.1:${port}${path}`);
    return t;
  }

  /** The same issuer at `https://issuer.test<path>`, reached only through its `fetch` (no socket, nothing to stop). */
  static local(keys: PublishedKey[], path = '', opts: IssuerOptions = {}): TestIssuer {
    const t = TestIssuer.create(keys, path, opts);
    t.setIssuer(`https://issuer.test${path}`);
    return t;
  }

  private static create(keys: PublishedKey[], path: string, opts: IssuerOptions): TestIssuer {
    const t = new TestIssuer();
    t.keys = keys;
    t.path = path;
    t.jwksPath = opts.jwksPath ?? '/jwks';
    return t;
  }

  private setIssuer(issuer: string): void {
    this.issuer = issuer;
    this.jwksUrl = `${issuer}${this.jwksPath}`;
  }

  /**
   * This issuer's answers as a `fetch`: the same routes and modes as its server ('hang' ends only
   * when the caller's signal aborts). Another origin fails as an unreachable host would.
   */
  readonly fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!this.issuer || url.origin !== new URL(this.issuer).origin) throw new TypeError(`fetch failed: nothing answers at ${url.origin}`);
    const a = this.answer(url.pathname + url.search);
    if (!a) {
      const signal = init?.signal;
      return new Promise<Response>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    return new Response(a.body, { status: a.status, headers: a.json ? { 'content-type': 'application/json' } : {} });
  }) as typeof fetch;

  /** What the issuer answers at `url` (path and query); undefined: no answer at all (mode 'hang'). */
  private answer(url: string): Answer | undefined {
    const path = this.path;
    if (url === `${path}/.well-known/openid-configuration` || url === `${path}/.well-known/oauth-authorization-server`) {
      const algs = [...new Set(this.keys.map((k) => k.publicJwk.alg).filter(Boolean))];
      return {
        status: 200,
        json: true,
        body: JSON.stringify({ issuer: this.issuer, jwks_uri: this.jwksUrl, ...(algs.length ? { id_token_signing_alg_values_supported: algs } : {}) }),
      };
    }
    if (url === `${path}/jwks` || url === `${path}/.well-known/jwks.json` || url === `${path}${this.jwksPath}`) {
      this.jwksHits++;
      if (this.mode === 'hang') return undefined;
      if (this.mode === 'error500') return { status: 500, body: 'oops' };
      if (this.mode === 'garbage') return { status: 200, json: true, body: '{"keys": [ not json' };
      return {
        status: 200,
        json: true,
        body: JSON.stringify({ keys: this.mode === 'empty' ? [] : [...this.keys.map((k) => k.publicJwk), ...this.extraJwks] }),
      };
    }
    return { status: 404, body: '' };
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
