// The bench's identity provider: discovery documents and JWKS over HTTP on 127.0.0.1, for a
// Keycloak-shaped realm (RS256 + ES256 keys) and a Supabase-shaped project (/auth/v1).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchKey } from './tokens';

export interface BenchIssuer {
  /** http://127.0.0.1:PORT */
  base: string;
  /** Keycloak-shaped issuer: `${base}/realms/bench`. */
  realm: string;
  realmJwks: string;
  /** SUPABASE_URL; the Supabase issuer is `${base}/auth/v1`. */
  supabaseUrl: string;
  stop(): Promise<void>;
}

export async function startIssuer(realmKeys: BenchKey[], supabaseKeys: BenchKey[]): Promise<BenchIssuer> {
  let base = '';
  const json = (res: http.ServerResponse, v: unknown) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(v));
  };
  const server = http.createServer((req, res) => {
    const realm = `${base}/realms/bench`;
    switch (req.url) {
      case '/realms/bench/.well-known/openid-configuration':
      case '/realms/bench/.well-known/oauth-authorization-server':
        return json(res, { issuer: realm, jwks_uri: `${realm}/protocol/openid-connect/certs`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] });
      case '/realms/bench/protocol/openid-connect/certs':
        return json(res, { keys: realmKeys.map((k) => k.publicJwk) });
      case '/auth/v1/.well-known/jwks.json':
        return json(res, { keys: supabaseKeys.map((k) => k.publicJwk) });
      default:
        res.statusCode = 404;
        res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    realm: `${base}/realms/bench`,
    realmJwks: `${base}/realms/bench/protocol/openid-connect/certs`,
    supabaseUrl: base,
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
