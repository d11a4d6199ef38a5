// The server's request listener: /api/auth/validate goes straight to the decision handler, every
// other request to the Express app. Express's router, its req/res prototype swap and pino-http's
// per-request child logger cost more than a cached decision itself (docs/PERFORMANCE.md).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Front } from './front';
import { VALIDATE_PATH, type ValidateHandler } from './validate';

/**
 * `validate` for `/api/auth/validate` and `/api/auth/validate?…` exactly (and, behind Envoy,
 * `/api/auth/validate/<original path>`); anything else (other spellings included: Express also
 * routes `/api/auth/validate/` or other letter case to the same handler) to `app`.
 */
export function createListener(validate: ValidateHandler, app: (req: IncomingMessage, res: ServerResponse) => void, front: Front = 'nginx'): RequestListener {
  const withQuery = VALIDATE_PATH + '?';
  const withPath = VALIDATE_PATH + '/';
  const envoy = front === 'envoy';
  return (req, res) => {
    const url = req.url!;
    if (url === VALIDATE_PATH || url.startsWith(withQuery) || (envoy && url.startsWith(withPath))) validate(req, res);
    else app(req, res);
  };
}
