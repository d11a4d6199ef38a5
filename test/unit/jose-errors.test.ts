// fromJose: every jose error class (and each failed claim of JWTClaimValidationFailed) → our reason
// code, decided by jose's `code`, `claim` and `reason`, never by its message; jose's code kept as cause.
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { AuthError, invalidToken } from '../../validator/errors';
import { fromJose } from '../../validator/token/jose-errors';

const payload: JWTPayload = { sub: 'u1' };

describe('each jose error class', () => {
  test.each([
    ['JWTExpired (exp)', 'token_expired', new errors.JWTExpired('"exp" claim timestamp check failed', payload, 'exp', 'check_failed'), 'ERR_JWT_EXPIRED'],
    // jose's maxTokenAge: an old `iat` is not an expired token
    ['JWTExpired (iat, maxTokenAge)', 'claim_invalid', new errors.JWTExpired('"iat" too far in the past', payload, 'iat', 'check_failed'), 'ERR_JWT_EXPIRED'],
    ['JWSSignatureVerificationFailed', 'signature_invalid', new errors.JWSSignatureVerificationFailed(), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    ['JOSEAlgNotAllowed', 'algorithm_not_allowed', new errors.JOSEAlgNotAllowed('"alg" value not allowed'), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['JOSENotSupported', 'algorithm_not_allowed', new errors.JOSENotSupported('Unsupported "alg" value for a JSON Web Key Set'), 'ERR_JOSE_NOT_SUPPORTED'],
    ['JWKSNoMatchingKey', 'key_not_found', new errors.JWKSNoMatchingKey(), 'ERR_JWKS_NO_MATCHING_KEY'],
    ['JWKSMultipleMatchingKeys', 'key_not_found', new errors.JWKSMultipleMatchingKeys(), 'ERR_JWKS_MULTIPLE_MATCHING_KEYS'],
    ['JWSInvalid', 'token_malformed', new errors.JWSInvalid('Invalid Compact JWS'), 'ERR_JWS_INVALID'],
    ['JWTInvalid', 'token_malformed', new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object'), 'ERR_JWT_INVALID'],
    ['JWKInvalid', 'token_malformed', new errors.JWKInvalid('invalid key'), 'ERR_JWK_INVALID'],
    ['JOSEError (generic)', 'token_malformed', new errors.JOSEError('something'), 'ERR_JOSE_GENERIC'],
  ])('%s → %s', (_name, reason, e, cause) => {
    const r = fromJose(e);
    const got = { code: r.code, status: r.status, bearerError: r.bearerError, causeCode: r.causeCode };
    expect(got).toEqual({ code: reason, status: 401, bearerError: 'invalid_token', causeCode: cause });
  });

  test('a non-jose error is a malformed token with no cause; an AuthError passes through unchanged', () => {
    expect(fromJose(new TypeError('boom'))).toMatchObject({ code: 'token_malformed', causeCode: undefined });
    expect(fromJose('not even an error')).toMatchObject({ code: 'token_malformed', causeCode: undefined });
    const own = invalidToken('key_not_found', 'mine');
    expect(fromJose(own)).toBe(own);
  });
});

describe('JWTClaimValidationFailed by claim and reason', () => {
  test.each([
    ['iss', 'check_failed', 'issuer_mismatch'],
    ['iss', 'missing', 'issuer_mismatch'],
    ['aud', 'check_failed', 'audience_mismatch'],
    // a token for no audience is not for us either: the same code an operator looks for
    ['aud', 'missing', 'audience_mismatch'],
    ['nbf', 'check_failed', 'token_not_yet_valid'],
    ['nbf', 'invalid', 'claim_invalid'],
    ['exp', 'missing', 'claim_missing'],
    ['exp', 'invalid', 'claim_invalid'],
    ['sub', 'missing', 'claim_missing'],
    ['iat', 'check_failed', 'claim_invalid'],
    ['iat', 'invalid', 'claim_invalid'],
    ['typ', 'check_failed', 'token_type_invalid'],
    ['sub', 'check_failed', 'claim_invalid'],
    ['unspecified', 'unspecified', 'claim_invalid'],
  ])('claim %s, reason %s → %s', (claim, reason, expected) => {
    const r = fromJose(new errors.JWTClaimValidationFailed('whatever jose says', payload, claim, reason));
    expect(r).toMatchObject({ code: expected, causeCode: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    expect(r).toBeInstanceOf(AuthError);
  });

  test('the message is never read: a claim error whose text says "missing" but whose reason does not', () => {
    const e = new errors.JWTClaimValidationFailed('"iat" is missing its point', payload, 'iat', 'invalid');
    expect(fromJose(e).code).toBe('claim_invalid');
    const f = new errors.JWTClaimValidationFailed('no word for it', payload, 'exp', 'missing');
    expect(fromJose(f).code).toBe('claim_missing');
  });
});

// The same mapping on what jose's jwtVerify really throws (HS256, in process).
describe('real jwtVerify failures', () => {
  const secret = new TextEncoder().encode('jose-errors-test-secret-0123456789abcdef');
  const now = Math.floor(Date.now() / 1000);
  const options = { issuer: 'https://issuer.test', audience: 'api', algorithms: ['HS256'], requiredClaims: ['exp'] };

  async function refusal(claims: JWTPayload, key = secret, opts: Parameters<typeof jwtVerify>[2] = options): Promise<AuthError> {
    const token = await new SignJWT({ iss: 'https://issuer.test', aud: 'api', sub: 'u1', exp: now + 60, ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(key);
    try {
      await jwtVerify(token, secret, opts);
    } catch (e) {
      return fromJose(e);
    }
    throw new Error('jwtVerify accepted the token');
  }

  test.each([
    ['expired', 'token_expired', { exp: now - 60 }, 'ERR_JWT_EXPIRED'],
    ['not yet valid', 'token_not_yet_valid', { nbf: now + 600 }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['another issuer', 'issuer_mismatch', { iss: 'https://other.test' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['another audience', 'audience_mismatch', { aud: 'other' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no audience', 'audience_mismatch', { aud: undefined }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no exp', 'claim_missing', { exp: undefined }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['iat not a number', 'claim_invalid', { iat: 'yesterday' as unknown as number }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
  ])('%s → %s', async (_name, reason, claims, cause) => {
    expect(await refusal(claims as JWTPayload)).toMatchObject({ code: reason, causeCode: cause });
  });

  test('another key → signature_invalid; an algorithm outside the list → algorithm_not_allowed', async () => {
    const otherKey = new TextEncoder().encode('another-secret-of-enough-length-0123456789');
    expect(await refusal({}, otherKey)).toMatchObject({ code: 'signature_invalid', causeCode: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const onlyHs512 = { ...options, algorithms: ['HS512'] };
    expect(await refusal({}, secret, onlyHs512)).toMatchObject({ code: 'algorithm_not_allowed', causeCode: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  });
});
