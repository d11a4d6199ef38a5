// The development IdP: an oidc-provider instance shaped like a Keycloak realm, with in-memory keys.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { calculateJwkThumbprint, EmbeddedJWK, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';

/** Realm name and mount path, as Keycloak lays them out (`/realms/<realm>`). */
export const REALM = 'wavestack';
export const REALM_PATH = `/realms/${REALM}`;
/** Audience of every access token (Keycloak: an audience mapper on the client scope). */
export const AUDIENCE = 'wavestack';
/** Access token lifetime in seconds (the contract caps `exp - iat` at 15 min). */
export const ACCESS_TOKEN_TTL_S = 300;
/** DPoP proof algorithms the token endpoint accepts (Keycloak accepts these and more). */
const DPOP_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'];
/** How far a token request's DPoP proof `iat` may be from now, seconds. */
const DPOP_IAT_WINDOW_S = 60;

// Keycloak has no resource indicators (RFC 8707); oidc-provider needs one to issue a JWT access
// token, so every token request resolves to this one when the client names none.
const RESOURCE = 'urn:wavestack:api';

/** Keycloak's endpoint paths under the realm. */
const ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  end_session: '/protocol/openid-connect/logout',
  jwks: '/protocol/openid-connect/certs',
  pushed_authorization_request: '/protocol/openid-connect/ext/par/request',
  token: '/protocol/openid-connect/token',
  userinfo: '/protocol/openid-connect/userinfo',
};

export interface DevIdpOptions {
  /** Public base URL without a trailing slash, e.g. `http://127.0.0.1:8180`; the issuer is `${base}/realms/wavestack`. */
  base: string;
  /** Secret of the confidential client `gateway`. Default `gateway-dev-secret`. */
  gatewaySecret?: string;
}

export interface DevIdp {
  readonly issuer: string;
  /** Server-relative paths of the realm's endpoints (their URLs follow the request's Host, as Keycloak's backchannel ones do). */
  readonly paths: { readonly discovery: string; readonly token: string; readonly jwks: string };
  /** Serves a request under `/realms/wavestack`; returns false (and writes nothing) for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Publishes a new signing key first; `drop: true` also removes every older key. Returns the published kids, signing key first. */
  rotate(opts?: { drop?: boolean }): Promise<string[]>;
  /** Published kids, signing key first. */
  kids(): string[];
}

interface ClientDef {
  client_id: string;
  client_secret: string;
  scope: string;
}

/** Builds the realm. Keys are generated here, kept in memory only, and lost when the process ends. */
export async function createDevIdp(opts: DevIdpOptions): Promise<DevIdp> {
  const issuer = `${opts.base.replace(/\/+$/, '')}${REALM_PATH}`;
  const clients: ClientDef[] = [
    { client_id: 'gateway', client_secret: opts.gatewaySecret ?? 'gateway-dev-secret', scope: 'api:read api:write' },
    { client_id: 'reader', client_secret: 'reader-dev-secret', scope: 'api:read' },
  ];
  const cookieKeys = [randomBytes(32).toString('base64url')];
  let keys: JWK[] = [await newSigningKey()];
  let callback = buildProvider(issuer, clients, keys, cookieKeys).callback();

  return {
    issuer,
    paths: {
      discovery: `${REALM_PATH}/.well-known/openid-configuration`,
      token: `${REALM_PATH}${ROUTES.token}`,
      jwks: `${REALM_PATH}${ROUTES.jwks}`,
    },
    handle(req, res) {
      const url = req.url ?? '/';
      if (url !== REALM_PATH && !url.startsWith(`${REALM_PATH}/`) && !url.startsWith(`${REALM_PATH}?`)) return false;
      // oidc-provider derives its mount path from originalUrl minus url (the way Express mounts it).
      Object.assign(req, { originalUrl: url });
      req.url = url.slice(REALM_PATH.length) || '/';
      if (req.url.startsWith('?')) req.url = `/${req.url}`;
      void callback(req, res);
      return true;
    },
    async rotate({ drop = false } = {}) {
      const key = await newSigningKey();
      keys = drop ? [key] : [key, ...keys];
      // The keystore of an oidc-provider instance is fixed at construction, so a rotation builds a
      // new instance; tokens are self-contained JWTs, so nothing is lost by swapping it.
      callback = buildProvider(issuer, clients, keys, cookieKeys).callback();
      return keys.map((k) => k.kid as string);
    },
    kids: () => keys.map((k) => k.kid as string),
  };
}

/**
 * The RFC 7638 thumbprint of a token request's DPoP proof key, after the checks of RFC 9449 §4.3 a
 * token endpoint makes (no access token, so no `ath`; no nonces, no replay cache in this dev realm).
 */
async function dpopThumbprint(proof: string, tokenUrl: string, errors: OidcProviderModule['errors']): Promise<string> {
  let jwt;
  try {
    jwt = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGS });
  } catch (e) {
    throw new errors.InvalidDpopProof(`invalid DPoP proof: ${(e as Error).message}`);
  }
  const { payload, protectedHeader } = jwt;
  const fresh = typeof payload.iat === 'number' && Math.abs(Date.now() / 1000 - payload.iat) <= DPOP_IAT_WINDOW_S;
  if (typeof payload.jti !== 'string' || payload.htm !== 'POST' || payload.htu !== tokenUrl || !fresh) {
    throw new errors.InvalidDpopProof('DPoP proof jti, htm, htu or iat do not fit this token request');
  }
  return calculateJwkThumbprint(protectedHeader.jwk!);
}

/** Keycloak's name for a client's service-account user. */
function serviceAccount(clientId: string | undefined): string {
  return `service-account-${clientId}`;
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg: 'RS256' };
}

function buildProvider(issuer: string, clients: ClientDef[], keys: JWK[], cookieKeys: string[]): OidcProvider {
  const { Provider, errors } = loadOidcProvider();
  const resourceServer = {
    accessTokenFormat: 'jwt',
    accessTokenTTL: ACCESS_TOKEN_TTL_S,
    audience: AUDIENCE,
    scope: 'api:read api:write',
    jwt: { sign: { alg: 'RS256' } },
  };

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      ...c,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      // Both client_secret_basic and client_secret_post are accepted whichever is registered.
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    adapter: StatelessAdapter,
    jwks: { keys: keys.map((k) => ({ ...k })) },
    cookies: { keys: cookieKeys },
    routes: ROUTES,
    scopes: ['api:read', 'api:write'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return resourceServer;
        },
      },
    },
    // Keycloak puts `typ: Bearer` (`DPoP` for a DPoP-bound token, keycloak/keycloak#21919) and
    // `azp` in the payload; the validator checks both.
    extraTokenClaims: async (_ctx: unknown, token: OidcToken) => ({
      azp: token.clientId,
      typ: token.jkt ? 'DPoP' : 'Bearer',
      preferred_username: serviceAccount(token.clientId),
    }),
    formats: {
      customizers: {
        // The JWT format writes `sub = client_id` after the extra claims, so the service-account
        // subject (Keycloak: `service-account-<client>`) can only be set here.
        jwt: async (_ctx: unknown, token: OidcToken, jwt: { payload: Record<string, unknown> }) => {
          // (Real Keycloak uses the service-account user's UUID as `sub`; this stays readable in logs.)
          jwt.payload.sub = serviceAccount(token.clientId);
        },
      },
    },
  });

  // Keycloak's client_credentials grant needs no `resource` and, without `scope`, grants every
  // scope the client may have; oidc-provider's built-in grant issues no scope in that case, so
  // this replaces it (public API: provider.registerGrantType).
  provider.registerGrantType(
    'client_credentials',
    async (ctx) => {
      const { client, params } = ctx.oidc;
      const allowed = (client.scope ?? '').split(' ').filter(Boolean);
      const asked = typeof params.scope === 'string' && params.scope !== '' ? params.scope.split(' ') : allowed;
      const refused = asked.find((s) => !allowed.includes(s));
      if (refused !== undefined) throw new errors.InvalidScope('requested scope is not allowed', refused);
      if (params.resource !== undefined && params.resource !== RESOURCE) throw new errors.InvalidTarget();

      const token = new provider.ClientCredentials({ client, scope: asked.join(' ') || undefined });
      token.resourceServer = new provider.ResourceServer(RESOURCE, resourceServer);
      // DPoP (RFC 9449 §5): a token request with a proof gets a token bound to the proof's key
      // (cnf.jkt), as Keycloak does when the client sends one (the built-in grant that oidc-provider
      // would check it in is replaced here, so the proof is checked here).
      const proof = ctx.get('dpop');
      if (proof) token.setThumbprint('jkt', await dpopThumbprint(proof, `${issuer}${ROUTES.token}`, errors));
      ctx.oidc.entity('ClientCredentials', token);
      const value = await token.save();
      ctx.body = {
        access_token: value,
        expires_in: token.expiration,
        refresh_expires_in: 0,
        token_type: token.jkt ? 'DPoP' : 'Bearer',
        'not-before-policy': 0,
        scope: token.scope ?? '',
      };
    },
    ['scope', 'resource'],
    ['resource'],
  );

  provider.on('server_error', (_ctx, err) => {
    process.stderr.write(`dev-idp: server_error: ${(err as Error)?.stack ?? String(err)}\n`);
  });
  return provider;
}

/**
 * Storage for oidc-provider's stateful models. Every token this realm issues is a self-contained
 * JWT from the client_credentials grant, which stores nothing, so there is nothing to keep; it also
 * spares the "in-memory adapter" warning that the default adapter prints on every (re)build.
 */
class StatelessAdapter {
  async upsert(): Promise<void> {}
  async find(): Promise<undefined> {
    return undefined;
  }
  async findByUid(): Promise<undefined> {
    return undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async consume(): Promise<void> {}
  async destroy(): Promise<void> {}
  async revokeByGrantId(): Promise<void> {}
}

// oidc-provider ships no type declarations (and @types/oidc-provider is not installed), so the
// few parts used here are typed locally. It is ESM-only; Node >= 20.19 require()s it.
interface OidcClient {
  clientId: string;
  scope?: string;
}
interface OidcToken {
  clientId?: string;
  /** cnf.jkt of a DPoP-bound token. */
  jkt?: string;
  setThumbprint(kind: 'jkt', thumbprint: string): void;
  scope?: string;
  expiration: number;
  resourceServer?: unknown;
  save(): Promise<string>;
}
interface GrantContext {
  oidc: { client: OidcClient; params: Record<string, unknown>; entity(name: string, value: unknown): void };
  get(header: string): string;
  body: unknown;
}
interface OidcProvider {
  ClientCredentials: new (init: { client: OidcClient; scope?: string }) => OidcToken;
  ResourceServer: new (identifier: string, info: object) => unknown;
  registerGrantType(name: string, handler: (ctx: GrantContext) => Promise<void>, params: string[], dupes: string[]): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  on(event: string, listener: (ctx: unknown, err: unknown) => void): void;
}
interface OidcProviderModule {
  Provider: new (issuer: string, configuration: object) => OidcProvider;
  errors: {
    InvalidScope: new (description: string, scope?: string) => Error;
    InvalidTarget: new (description?: string) => Error;
    InvalidDpopProof: new (description: string) => Error;
  };
}

function loadOidcProvider(): OidcProviderModule {
  return require('oidc-provider') as OidcProviderModule;
}
