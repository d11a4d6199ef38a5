// What tollgate knows of each identity provider's access tokens: where the subject, scopes, roles,
// e-mail and client id sit, what the IdP signs with, and the audience trap users meet with it. An
// AUTH_ISSUERS entry selects one by name (`"preset": "keycloak"`) and may override any field.
// docs/IDENTITY-PROVIDERS.md explains each one; the token shapes come from the IdPs' docs in `sources`.
import type { AsymmetricAlgorithm } from './algorithms';

/** Claim paths as configured (see claim-mapping.ts: dotted, or a key list; `{audience}` = each audience). */
export interface ClaimSpec {
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly email: string;
  readonly clientId: readonly string[];
}

export const PRESET_NAMES = ['keycloak', 'supabase', 'auth0', 'entra', 'okta', 'cognito', 'google'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  readonly title: string;
  readonly claims: ClaimSpec;
  /** Signature algorithms the IdP is known to use; the entry's `algorithms` overrides. */
  readonly algorithms?: readonly AsymmetricAlgorithm[];
  /** The claim checked against `audience` when it is not `aud` (Cognito access tokens carry `client_id`, no `aud`). */
  readonly audienceClaim?: string;
  /** Claims an access token of this IdP always has, and ID tokens do not (Cognito's `token_use`). */
  readonly accessTokenClaims?: Readonly<Record<string, string>>;
  /** The audience trap, said in an audience_mismatch refusal. */
  readonly audienceHint: string;
  /** Where the token shape was taken from. */
  readonly sources: readonly string[];
}

/** No preset: RFC 9068 §2.2.3 names (`scope`, `roles`), plus `scp` and `azp`/`client_id` as tollgate read them before presets. */
export const GENERIC_CLAIMS: ClaimSpec = Object.freeze({
  subject: 'sub',
  scopes: ['scope', 'scp'],
  roles: ['roles'],
  email: 'email',
  clientId: ['azp', 'client_id'],
});

const see = (anchor: string) => `see docs/IDENTITY-PROVIDERS.md#${anchor}`;

export const PRESETS: Readonly<Record<PresetName, Preset>> = Object.freeze({
  keycloak: {
    title: 'Keycloak',
    // Realm roles, and the client roles of the API itself (its client id is the audience): another
    // client's `admin` role must not count as this API's.
    claims: {
      subject: 'sub',
      scopes: ['scope'],
      roles: ['realm_access.roles', 'resource_access.{audience}.roles'],
      email: 'email',
      clientId: ['azp', 'client_id'],
    },
    audienceHint: `Keycloak puts \`account\` (or nothing) in aud unless an Audience mapper names your API: ${see('keycloak')}`,
    sources: ['https://www.keycloak.org/docs/latest/server_admin/#audience-support', 'https://www.keycloak.org/docs/latest/server_admin/#_role_scope_mappings'],
  },
  supabase: {
    title: 'Supabase',
    // No scope and no client in a user token; app_metadata is writable by the service role only,
    // user_role is what Supabase's RBAC guide adds with a custom access token hook.
    claims: { subject: 'sub', scopes: ['scope'], roles: ['app_metadata.roles', 'user_role'], email: 'email', clientId: ['client_id'] },
    algorithms: ['ES256', 'RS256'],
    audienceHint: `Supabase user tokens say \`authenticated\` (the anon key says \`anon\`): ${see('supabase')}`,
    sources: [
      'https://supabase.com/docs/guides/auth/jwt-fields',
      'https://supabase.com/docs/guides/database/postgres/custom-claims-and-role-based-access-control-rbac',
    ],
  },
  auth0: {
    title: 'Auth0',
    // RBAC's "Add Permissions in the Access Token" lists the API's permissions, which are its scopes.
    claims: { subject: 'sub', scopes: ['scope', 'permissions'], roles: [], email: 'email', clientId: ['azp', 'client_id'] },
    algorithms: ['RS256', 'PS256'],
    audienceHint:
      'Auth0 puts your API Identifier in aud only when the client asks for `audience=<API Identifier>` ' +
      `(otherwise the token is for /userinfo or opaque): ${see('auth0')}`,
    sources: [
      'https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles',
      'https://auth0.com/docs/get-started/apis/enable-role-based-access-control-for-apis',
    ],
  },
  entra: {
    title: 'Microsoft Entra ID',
    // scp: delegated permissions (space-separated); roles: app roles (users' and applications').
    claims: { subject: 'sub', scopes: ['scp'], roles: ['roles'], email: 'email', clientId: ['azp', 'appid'] },
    algorithms: ['RS256'],
    audienceHint: `Entra ID sets aud to the API's client id (v2.0 tokens) or its Application ID URI such as \`api://…\` (v1.0 tokens): ${see('entra-id')}`,
    sources: [
      'https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference',
      'https://learn.microsoft.com/entra/identity-platform/access-tokens',
    ],
  },
  okta: {
    title: 'Okta',
    // scp is an array; cid the client; `groups` only when a Groups claim is added to the server.
    claims: { subject: 'sub', scopes: ['scp'], roles: ['groups'], email: 'email', clientId: ['cid'] },
    algorithms: ['RS256'],
    audienceHint:
      "Okta puts the custom authorization server's Audience in aud (`api://default` for the default server); " +
      `org authorization server tokens are not for your API: ${see('okta')}`,
    sources: ['https://developer.okta.com/docs/guides/validate-access-tokens/', 'https://developer.okta.com/docs/api/openapi/okta-oauth/guides/overview/'],
  },
  cognito: {
    title: 'Amazon Cognito',
    claims: { subject: 'sub', scopes: ['scope'], roles: ['cognito:groups'], email: 'email', clientId: ['client_id'] },
    algorithms: ['RS256'],
    audienceClaim: 'client_id',
    // Cognito ID tokens carry aud = the app client and token_use `id`.
    accessTokenClaims: { token_use: 'access' },
    audienceHint: `Cognito access tokens carry no aud: \`audience\` is compared with client_id (your app client id): ${see('amazon-cognito')}`,
    sources: [
      'https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html',
      'https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-verifying-a-jwt.html',
    ],
  },
  google: {
    title: 'Google',
    // Google's OAuth access tokens are opaque: the JWTs it signs are ID tokens (service-to-service).
    claims: { subject: 'sub', scopes: [], roles: [], email: 'email', clientId: ['azp'] },
    algorithms: ['RS256'],
    audienceHint:
      'Google-signed tokens are ID tokens whose aud is the audience the caller asked for ' +
      `(\`--audiences\`, the Cloud Run URL) or an OAuth client id: ${see('google')}`,
    sources: [
      'https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload',
      'https://cloud.google.com/run/docs/authenticating/service-to-service',
    ],
  },
} satisfies Record<PresetName, Preset>);
