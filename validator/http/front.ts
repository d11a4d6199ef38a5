// Where the original request comes from: each front (NGINX auth_request, Traefik/Caddy
// forward-auth, Envoy ext_authz) tells the validator the client's method and URI in its own way.
// Only the configured front's spelling is read, so a client can never pick the reading that suits
// it, and a request that carries the same header twice is refused rather than guessed at.
import type { IncomingMessage } from 'node:http';
import type { Front } from '../config';

export type { Front };

/** The path NGINX's auth_request calls (and Envoy's path_prefix). */
export const VALIDATE_PATH = '/api/auth/validate';

/** What a front said about the client's request; method/uri undefined when it said nothing. */
export interface OriginalRequest {
  method?: string;
  uri?: string;
}

// Request headers whose value decides something: a second copy is ambiguous (Node joins
// duplicates of most headers with ", ", and keeps only the first Authorization).
const SINGLE = new Set([
  'authorization',
  'x-original-method',
  'x-original-uri',
  'x-forwarded-method',
  'x-forwarded-uri',
  'x-max-ticks',
  'x-tollgate-charge-id',
  'x-client-cert-s256',
]);

/** The first header name of SINGLE that occurs more than once in the raw header list, if any. */
export function duplicatedHeader(raw: readonly string[]): string | undefined {
  let seen: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!SINGLE.has(name)) continue;
    if (seen?.includes(name)) return name;
    (seen ??= []).push(name);
  }
  return undefined;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Reads the original request as `front` sends it. Never falls back to the validate request itself. */
export function originalRequest(front: Front, req: IncomingMessage): OriginalRequest {
  const h = req.headers;
  switch (front) {
    case 'nginx':
      return { method: one(h['x-original-method']), uri: one(h['x-original-uri']) };
    case 'forwarded':
      return { method: one(h['x-forwarded-method']), uri: one(h['x-forwarded-uri']) };
    case 'envoy': {
      // Envoy's HTTP ext_authz keeps the client's method and appends its path (with query) to
      // path_prefix; only a path directly under the prefix counts (`/api/auth/validateX` does not).
      const url = req.url ?? '';
      const rest = url.slice(VALIDATE_PATH.length);
      if (!url.startsWith(VALIDATE_PATH) || !rest.startsWith('/')) return { method: undefined, uri: undefined };
      return { method: req.method, uri: rest };
    }
  }
}
