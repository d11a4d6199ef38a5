// A refusal's Decision carries its RFC 6750 error from the reason table, and writeDecision puts it in
// the JSON body as is: nothing re-reads the WWW-Authenticate header it was built into.
import type { ServerResponse } from 'node:http';
import { forbidden, insufficientScope, invalidRequest, invalidToken, missingToken, unavailable, type AuthError } from '../../validator/errors';
import { writeDecision } from '../../validator/http/validate';
import { refusal, type Decision } from '../../validator/pipeline';

/** What writeDecision wrote: status, headers (flat list → object) and body. */
function written(d: Decision): { status: number; headers: Record<string, string>; body: string } {
  const out = { status: 0, headers: {} as Record<string, string>, body: '' };
  const res = {
    writeHead(status: number, h: string[]) {
      out.status = status;
      for (let i = 0; i < h.length; i += 2) out.headers[h[i]!] = h[i + 1]!;
    },
    end(body?: string) {
      out.body = body ?? '';
    },
  } as unknown as ServerResponse;
  writeDecision(res, d);
  return out;
}

test.each<[string, AuthError, string | undefined]>([
  ['401 invalid_token', invalidToken('token_expired', 'token has expired'), 'invalid_token'],
  ['401 without credentials (RFC 6750 §3: no error attribute)', missingToken(), undefined],
  ['403 insufficient_scope', insufficientScope(['api:write'], 'needs api:write'), 'insufficient_scope'],
  ['403 for a subject that may not pass', forbidden('client_not_allowed', 'no'), undefined],
  ['400 invalid_request (no challenge on a 400, the body still names it)', invalidRequest('max_ticks_invalid', 'bad'), 'invalid_request'],
  ['503', unavailable('keys_unavailable', 'down'), undefined],
])('%s', (_title, e, error) => {
  const d = refusal(e);
  expect(d.bearerError).toBe(error);
  const { status, headers, body } = written(d);
  expect(status).toBe(e.status);
  expect(headers['X-Auth-Reason']).toBe(e.code);
  expect(JSON.parse(body)).toEqual({ ...(error ? { error } : {}), reason: e.code, message: e.message });
});

test('the body takes the error from the Decision, not from the header', () => {
  const d = refusal(invalidToken('signature_invalid', 'signature verification failed'));
  const { body } = written({ ...d, headers: { ...d.headers, 'WWW-Authenticate': 'Bearer realm="api", error="insufficient_scope"' } });
  expect(JSON.parse(body).error).toBe('invalid_token');
  const bare = written({ ...d, headers: { 'X-Auth-Reason': d.reason } });
  expect(JSON.parse(bare.body).error).toBe('invalid_token');
});
