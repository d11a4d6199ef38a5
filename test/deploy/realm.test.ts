// keycloak/wavestack-realm.json against the development IdP: same realm path, client, scopes,
// audience, token lifetime and endpoint paths, so what passes against the dev IdP passes against Keycloak.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { startDevIdp, type DevIdp } from '../helpers/dev-idp';

const ROOT = path.resolve(__dirname, '..', '..');
const DEV_IDP_BUILT = existsSync(path.join(ROOT, 'dist/keycloak/dev-idp/main.js'));
// Needs `npm run build`; skipped (loudly) when not built, never in CI (`npm test` builds first).
const COMPARE = DEV_IDP_BUILT || Boolean(process.env.CI);
if (!COMPARE) console.warn('realm.test: dist/keycloak/dev-idp/main.js missing (run `npm run build`); realm-vs-dev-IdP comparison SKIPPED');

interface Mapper {
  name: string;
  protocol: string;
  protocolMapper: string;
  config: Record<string, string>;
}
interface ClientScope {
  name: string;
  protocol: string;
  attributes: Record<string, string>;
  protocolMappers?: Mapper[];
}
interface Client {
  clientId: string;
  publicClient: boolean;
  bearerOnly: boolean;
  clientAuthenticatorType: string;
  secret: string;
  serviceAccountsEnabled: boolean;
  standardFlowEnabled: boolean;
  implicitFlowEnabled: boolean;
  directAccessGrantsEnabled: boolean;
  defaultClientScopes: string[];
  optionalClientScopes: string[];
  attributes: Record<string, string>;
}
interface Realm {
  realm: string;
  enabled: boolean;
  sslRequired: string;
  accessTokenLifespan: number;
  clientScopes: ClientScope[];
  defaultDefaultClientScopes: string[];
  defaultOptionalClientScopes: string[];
  clients: Client[];
  users: Array<{ username: string; serviceAccountClientId?: string; enabled: boolean }>;
}

const raw = readFileSync(path.join(ROOT, 'keycloak/wavestack-realm.json'), 'utf8');
const realm = JSON.parse(raw) as Realm;
const scopes = new Map(realm.clientScopes.map((s) => [s.name, s]));
const gateway = realm.clients.find((c) => c.clientId === 'gateway')!;

/** Keycloak's OIDC endpoint paths for a realm. */
const KEYCLOAK_PATHS = {
  issuer: '/realms/wavestack',
  token: '/realms/wavestack/protocol/openid-connect/token',
  jwks: '/realms/wavestack/protocol/openid-connect/certs',
};

describe('keycloak/wavestack-realm.json', () => {
  test('realm wavestack, enabled, TLS required outside private networks', () => {
    expect(realm.realm).toBe('wavestack');
    expect(realm.enabled).toBe(true);
    expect(realm.sslRequired).toBe('external');
  });

  test('client gateway: confidential, client_credentials only, secret from the environment', () => {
    expect(gateway).toMatchObject({
      publicClient: false,
      bearerOnly: false,
      clientAuthenticatorType: 'client-secret',
      serviceAccountsEnabled: true,
      standardFlowEnabled: false,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
    });
    // Keycloak resolves ${ENV} placeholders when it imports a realm at start-up.
    expect(gateway.secret).toBe('${GATEWAY_CLIENT_SECRET}');
    expect(realm.users).toContainEqual(expect.objectContaining({ username: 'service-account-gateway', serviceAccountClientId: 'gateway', enabled: true }));
  });

  test('no literal secret anywhere in the file', () => {
    for (const m of raw.matchAll(/"(secret|password|value)"\s*:\s*"([^"]*)"/gi)) {
      expect({ field: m[1], value: m[2] }).toEqual({ field: m[1], value: expect.stringMatching(/^\$\{[A-Z_]+\}$/) });
    }
    expect(raw).not.toMatch(/PRIVATE KEY|"privateKey"/);
  });

  test('api:read and api:write are client scopes that appear in the token scope, granted to gateway', () => {
    for (const name of ['api:read', 'api:write']) {
      const s = scopes.get(name);
      expect(s).toBeDefined();
      expect(s!.protocol).toBe('openid-connect');
      expect(s!.attributes['include.in.token.scope']).toBe('true');
      // Default scopes: granted without asking, like the dev IdP's client_credentials grant.
      expect(gateway.defaultClientScopes).toContain(name);
    }
  });

  test('an oidc-audience-mapper on a default scope of gateway adds `wavestack` to the access token aud', () => {
    const audienceScopes = gateway.defaultClientScopes
      .map((n) => scopes.get(n))
      .filter((s) => s?.protocolMappers?.some((m) => m.protocolMapper === 'oidc-audience-mapper'));
    expect(audienceScopes).toHaveLength(1);
    const mapper = audienceScopes[0]!.protocolMappers!.find((m) => m.protocolMapper === 'oidc-audience-mapper')!;
    expect(mapper.config['included.custom.audience']).toBe('wavestack');
    expect(mapper.config['access.token.claim']).toBe('true');
  });

  test("Keycloak's built-in client scopes are kept (listing clientScopes replaces the defaults)", () => {
    for (const name of ['profile', 'email', 'roles', 'web-origins', 'acr', 'basic', 'offline_access', 'address', 'phone', 'microprofile-jwt', 'role_list']) {
      expect({ name, present: scopes.has(name) }).toEqual({ name, present: true });
    }
    // basic carries `sub` on Keycloak 25+ (a no-op mapper type on 24, where sub is always set).
    expect(scopes.get('basic')!.protocolMappers!.map((m) => m.protocolMapper)).toContain('oidc-sub-mapper');
    expect(scopes.get('email')!.protocolMappers!.map((m) => m.config['claim.name'])).toEqual(expect.arrayContaining(['email', 'email_verified']));
    expect(realm.defaultDefaultClientScopes).toEqual(expect.arrayContaining(['basic', 'profile', 'email', 'roles', 'web-origins', 'acr']));
    expect(gateway.defaultClientScopes).toEqual(expect.arrayContaining(['basic', 'roles', 'web-origins', 'acr']));
  });

  test('every scope a client or the realm refers to is defined', () => {
    const referenced = [
      ...realm.defaultDefaultClientScopes,
      ...realm.defaultOptionalClientScopes,
      ...realm.clients.flatMap((c) => [...c.defaultClientScopes, ...c.optionalClientScopes]),
    ];
    for (const name of referenced) expect({ name, defined: scopes.has(name) }).toEqual({ name, defined: true });
  });
});

(COMPARE ? describe : describe.skip)('realm file and development IdP agree', () => {
  let idp: DevIdp;

  beforeAll(async () => {
    idp = await startDevIdp();
  }, 30_000);

  afterAll(async () => {
    await idp?.stop();
  });

  test("discovery: the issuer and the token/JWKS endpoints have Keycloak's paths", async () => {
    const res = await fetch(idp.discoveryUrl);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { issuer: string; token_endpoint: string; jwks_uri: string };
    expect(new URL(doc.issuer).pathname).toBe(KEYCLOAK_PATHS.issuer);
    expect(new URL(doc.token_endpoint).pathname).toBe(KEYCLOAK_PATHS.token);
    expect(new URL(doc.jwks_uri).pathname).toBe(KEYCLOAK_PATHS.jwks);
  });

  test('a gateway token carries what the realm file configures: scopes, audience, client, lifetime', async () => {
    const claims = decodeJwt(await idp.token('gateway'));
    expect(new URL(String(claims.iss)).pathname).toBe(KEYCLOAK_PATHS.issuer);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const audienceMapper = realm.clientScopes.flatMap((s) => s.protocolMappers ?? []).find((m) => m.protocolMapper === 'oidc-audience-mapper')!;
    expect(aud).toContain(audienceMapper.config['included.custom.audience']);
    expect(claims.azp).toBe(gateway.clientId);
    expect(claims.typ).toBe('Bearer');
    const tokenScopes = String(claims.scope).split(' ');
    const realmApiScopes = gateway.defaultClientScopes.filter((s) => s.startsWith('api:'));
    expect(tokenScopes).toEqual(expect.arrayContaining(realmApiScopes));
    expect(realmApiScopes).toEqual(expect.arrayContaining(tokenScopes.filter((s) => s.startsWith('api:'))));
    expect(Number(claims.exp) - Number(claims.iat)).toBe(realm.accessTokenLifespan);
    expect(Number(gateway.attributes['access.token.lifespan'])).toBe(realm.accessTokenLifespan);
  });
});
