// keycloak/wavestack-realm.json against the development IdP: same realm path, client, scopes,
// audience, token lifetime and endpoint paths, so what passes against the dev IdP passes against Keycloak.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { startDevIdp, type DevIdp } from '../../devkit/dev-idp';
import { REPO_ROOT as ROOT } from '../../devkit/root';

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
    // Since Keycloak 25 `sub` reaches access tokens only through basic's oidc-sub-mapper.
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

/**
 * Protocol mapper types of Keycloak 26, each read from its class's PROVIDER_ID in Keycloak's source
 * (services/src/main/java/org/keycloak/protocol/{oidc,saml}/mappers/*.java, registered in
 * META-INF/services/org.keycloak.protocol.ProtocolMapper). Only the types this realm uses are listed:
 * a type Keycloak lacks makes the import fail or the mapper do nothing, so a new one is checked first.
 */
const KEYCLOAK_26_MAPPERS: Record<string, 'openid-connect' | 'saml'> = {
  'oidc-sub-mapper': 'openid-connect', // SubMapper (added in 25; `sub` depends on it)
  'oidc-usersessionmodel-note-mapper': 'openid-connect', // UserSessionNoteMapper
  'oidc-full-name-mapper': 'openid-connect', // FullNameMapper
  'oidc-usermodel-property-mapper': 'openid-connect', // UserPropertyMapper
  'oidc-usermodel-attribute-mapper': 'openid-connect', // UserAttributeMapper
  'oidc-address-mapper': 'openid-connect', // AddressMapper
  'oidc-usermodel-realm-role-mapper': 'openid-connect', // UserRealmRoleMappingMapper
  'oidc-usermodel-client-role-mapper': 'openid-connect', // UserClientRoleMappingMapper
  'oidc-audience-resolve-mapper': 'openid-connect', // AudienceResolveProtocolMapper
  'oidc-audience-mapper': 'openid-connect', // AudienceProtocolMapper
  'oidc-allowed-origins-mapper': 'openid-connect', // AllowedWebOriginsProtocolMapper
  'oidc-acr-mapper': 'openid-connect', // AcrProtocolMapper
  'saml-role-list-mapper': 'saml', // saml.mappers.RoleListMapper
};

describe("keycloak/wavestack-realm.json in Keycloak 26's import format", () => {
  const mappers = [
    ...realm.clientScopes.flatMap((s) => (s.protocolMappers ?? []).map((m) => ({ owner: `scope ${s.name}`, ownerProtocol: s.protocol, m }))),
    ...(realm.clients as Array<Client & { protocol?: string; protocolMappers?: Mapper[] }>).flatMap((c) =>
      (c.protocolMappers ?? []).map((m) => ({ owner: `client ${c.clientId}`, ownerProtocol: c.protocol ?? 'openid-connect', m })),
    ),
  ];

  test('every protocol mapper is a type Keycloak 26 has, for the protocol of its scope', () => {
    expect(mappers.length).toBeGreaterThan(0);
    for (const { owner, ownerProtocol, m } of mappers) {
      const known = KEYCLOAK_26_MAPPERS[m.protocolMapper];
      expect({ owner, mapper: m.name, type: m.protocolMapper, known: Boolean(known) }).toEqual({ owner, mapper: m.name, type: m.protocolMapper, known: true });
      expect({ owner, mapper: m.name, protocol: m.protocol }).toEqual({ owner, mapper: m.name, protocol: known });
      expect({ owner, mapper: m.name, protocol: m.protocol }).toEqual({ owner, mapper: m.name, protocol: ownerProtocol });
    }
  });

  test('mapper names are unique within each scope (Keycloak refuses a duplicate on import)', () => {
    for (const s of realm.clientScopes) {
      const names = (s.protocolMappers ?? []).map((m) => m.name);
      expect({ scope: s.name, names: [...new Set(names)] }).toEqual({ scope: s.name, names });
    }
  });

  test('boolean mapper and scope settings are the strings Keycloak stores ("true"/"false")', () => {
    for (const { owner, m } of mappers) {
      for (const [key, value] of Object.entries(m.config)) expect({ owner, key, type: typeof value }).toEqual({ owner, key, type: 'string' });
    }
    for (const s of realm.clientScopes) {
      for (const [key, value] of Object.entries(s.attributes))
        expect({ scope: s.name, key, type: typeof value }).toEqual({ scope: s.name, key, type: 'string' });
    }
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
