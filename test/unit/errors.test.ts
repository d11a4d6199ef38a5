// Typed refusals: status, reason code and the RFC 6750 WWW-Authenticate value (format, quoting, no injection).
import { validateHeaderValue } from 'node:http';
import { AuthError, ConfigError, forbidden, insufficientScope, invalidRequest, invalidToken, missingToken, unavailable } from '../../validator/errors';
import { REASON_CODES, REASONS, type ValidatorReason } from '../../validator/reasons';

// RFC 6750 §3: error-description and error-uri characters, and scope-token (§3, via RFC 6749 §3.3).
const DESC = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;
const CHALLENGE = /^Bearer realm="api"(, error="(invalid_request|invalid_token|insufficient_scope)", error_description="([^"]*)"(, scope="([^"]*)")?)?$/;
// RFC 9449 §7.1: a DPoP refusal's challenge, with the accepted proof algorithms when given.
const DPOP_CHALLENGE =
  /^DPoP realm="api", error="(invalid_dpop_proof|use_dpop_nonce)", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"(, algs="[A-Za-z0-9 ]+")?$/;

function parts(value: string | undefined) {
  const m = CHALLENGE.exec(value ?? '');
  if (!m) throw new Error(`not an RFC 6750 challenge: ${JSON.stringify(value)}`);
  return { error: m[2], description: m[3], scope: m[5] };
}

describe('WWW-Authenticate', () => {
  test('no credentials: bare challenge (RFC 6750 §3)', () => {
    const e = missingToken();
    expect(e).toMatchObject({ status: 401, code: 'token_missing', bearerError: undefined });
    expect(e.wwwAuthenticate).toBe('Bearer realm="api"');
  });

  test('invalid_token carries error and error_description; the jose code is kept as cause', () => {
    const e = invalidToken('token_expired', 'token has expired', 'ERR_JWT_EXPIRED');
    expect(e).toMatchObject({ status: 401, code: 'token_expired', causeCode: 'ERR_JWT_EXPIRED' });
    expect(e.wwwAuthenticate).toBe('Bearer realm="api", error="invalid_token", error_description="token has expired"');
  });

  test('insufficient_scope carries the scope attribute', () => {
    const e = insufficientScope(['api:write', 'admin'], 'POST /api/ requires scope admin');
    expect(e).toMatchObject({ status: 403, code: 'scope_missing' });
    expect(parts(e.wwwAuthenticate)).toEqual({ error: 'insufficient_scope', description: 'POST /api/ requires scope admin', scope: 'api:write admin' });
  });

  test('400 invalid_request and 503 carry no challenge; 403 forbidden carries a bare one', () => {
    expect(invalidRequest('max_ticks_invalid', 'bad').wwwAuthenticate).toBeUndefined();
    const u = unavailable('quota_unavailable', 'down', 7);
    expect(u.wwwAuthenticate).toBeUndefined();
    expect(u.headers).toEqual({ 'Retry-After': '7' });
    expect(forbidden('email_unconfirmed', 'email address is not confirmed').wwwAuthenticate).toBe('Bearer realm="api"');
  });

  // Messages may carry parts of a token (an alg name, a claim): the value must stay one valid header.
  test.each([
    ['CR LF injection', 'bad\r\nSet-Cookie: a=b'],
    ['bare LF', 'a\nb'],
    ['NUL and DEL', 'a\u0000b\u007f'],
    ['double quote', 'algorithm "none" is not allowed'],
    ['backslash', 'a\\", error="x'],
    ['quote breaking out into a new attribute', 'x", error="insufficient_scope'],
    ['Latin-1', 'algorithm é'],
    ['beyond Latin-1 (Node refuses it in a header)', 'algorithm €\u2028🔑'],
  ])('error_description with %s stays inside the RFC 6750 character set', (_title, message) => {
    const e = invalidToken('algorithm_not_allowed', message);
    const value = e.wwwAuthenticate!;
    expect(() => validateHeaderValue('WWW-Authenticate', value)).not.toThrow();
    const { error, description, scope } = parts(value);
    expect(error).toBe('invalid_token');
    expect(scope).toBeUndefined();
    expect(description).toMatch(DESC);
    expect(value).not.toMatch(/[\r\n]/);
  });

  test('scope values from configuration are kept inside the RFC 6750 scope-token set too', () => {
    const e = insufficientScope(['api:write', 'we"ird\\'], 'needs scopes');
    const value = e.wwwAuthenticate!;
    expect(() => validateHeaderValue('WWW-Authenticate', value)).not.toThrow();
    expect(parts(value).scope).toMatch(SCOPE);
  });

  test('AuthError is an Error with a name, a status and extra headers', () => {
    const e = new AuthError('quota_exhausted', 'no ticks left', { headers: { 'Retry-After': '60' } });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'AuthError', status: 429, headers: { 'Retry-After': '60' } });
    expect(e.wwwAuthenticate).toBeUndefined();
  });
});

test.each(REASON_CODES.filter((c) => REASONS[c].emitter !== 'gateway'))('%s: status and RFC 6750 error come from the reason table', (code) => {
  const e = new AuthError(code as ValidatorReason, 'refused');
  const row: { status: number; bearerError?: string; dpopError?: string } = REASONS[code];
  expect({ status: e.status, bearerError: e.bearerError }).toEqual({ status: row.status, bearerError: row.bearerError });
  // a challenge exactly on 401 and 403, with the table's error attribute when there is one; a DPoP
  // refusal's is a DPoP challenge (RFC 9449 §7.1), every other one a Bearer challenge (RFC 6750 §3)
  if (row.status === 401 || row.status === 403) {
    if (row.dpopError) expect(DPOP_CHALLENGE.exec(e.wwwAuthenticate ?? '')?.[1]).toBe(row.dpopError);
    else expect(parts(e.wwwAuthenticate).error).toBe(row.bearerError);
  } else expect(e.wwwAuthenticate).toBeUndefined();
});

test('a DPoP refusal names the accepted algorithms (RFC 9449 §7.1 algs), its description kept in the RFC 6750 set', () => {
  const e = new AuthError('dpop_proof_invalid', 'DPoP proof htu "https://evil" is\nwrong', { algs: ['ES256', 'PS256'] });
  expect(e.wwwAuthenticate).toBe(
    'DPoP realm="api", error="invalid_dpop_proof", error_description="DPoP proof htu \'https://evil\' is\'wrong", algs="ES256 PS256"',
  );
  expect(() => validateHeaderValue('WWW-Authenticate', e.wwwAuthenticate!)).not.toThrow();
});

test('ConfigError names the variable in the message and as a field', () => {
  const e = new ConfigError('PORT', 'must be a whole number');
  expect(e).toMatchObject({ name: 'ConfigError', variable: 'PORT', message: 'PORT: must be a whole number' });
});

// A refusal is an expected outcome: capturing a stack per refusal was measurable under a flood of forged tokens.
test('a refusal carries no stack frames, stays an Error and an AuthError, and leaves stack traces on for faults', () => {
  const limit = Error.stackTraceLimit;
  const e = invalidToken('signature_invalid', 'token signature verification failed');
  expect(e).toBeInstanceOf(AuthError);
  expect(e).toBeInstanceOf(Error);
  expect(e).toMatchObject({ name: 'AuthError', message: 'token signature verification failed', status: 401, code: 'signature_invalid' });
  expect(e.stack).not.toMatch(/\n\s+at /);
  expect(Error.stackTraceLimit).toBe(limit);
  expect(new Error('a fault').stack).toMatch(/\n\s+at /);
  expect(() => {
    throw e;
  }).toThrow(AuthError);
});
