// jose's verification errors as reason codes. jose gives every error a stable `code` (ERR_JWT_EXPIRED…)
// and claim errors the failed `claim` and a `reason` (missing | check_failed | invalid): we switch on
// those, never on message text, and keep jose's code as the refusal's cause for the log line.
import { AuthError, invalidToken } from '../errors';

interface JoseErrorFields {
  code?: unknown;
  claim?: unknown;
  reason?: unknown;
}

/** A JWTClaimValidationFailed (ERR_JWT_CLAIM_VALIDATION_FAILED) by its claim and reason. */
function claimError(claim: string, reason: string, code: string): AuthError {
  // A token for no audience (or no issuer) is not for us either: the same code as the wrong one,
  // which is what an operator looks for when the configuration and the IdP disagree.
  if (claim === 'iss') return invalidToken('issuer_mismatch', 'unexpected issuer', code);
  if (claim === 'aud') return invalidToken('audience_mismatch', 'token audience is not accepted here', code);
  // `missing`: a claim of the requiredClaims option (exp).
  if (reason === 'missing') return invalidToken('claim_missing', `required claim ${claim} is missing`, code);
  if (reason === 'check_failed') {
    if (claim === 'nbf') return invalidToken('token_not_yet_valid', 'token is not valid yet (nbf)', code);
    // only with jose's `typ` option; kept so that turning it on cannot read as a claim error
    if (claim === 'typ') return invalidToken('token_type_invalid', 'token type is not an access token', code);
  }
  // `invalid` (a time claim that is not a number), an iat in the future, and anything jose adds later
  return invalidToken('claim_invalid', `claim ${claim} is invalid`, code);
}

/** Maps an error thrown by jose's jwtVerify to our refusal, keeping jose's code as the cause. */
export function fromJose(e: unknown): AuthError {
  if (e instanceof AuthError) return e;
  const { code, claim, reason } = (typeof e === 'object' && e !== null ? e : {}) as JoseErrorFields;
  const cause = typeof code === 'string' ? code : undefined;
  switch (cause) {
    case 'ERR_JWT_EXPIRED':
      // `exp` passed; jose also says ERR_JWT_EXPIRED for an `iat` older than its maxTokenAge option
      return claim === 'iat' ? invalidToken('claim_invalid', 'token is too old (iat)', cause) : invalidToken('token_expired', 'token has expired', cause);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimError(typeof claim === 'string' ? claim : 'unspecified', typeof reason === 'string' ? reason : 'unspecified', cause);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalidToken('signature_invalid', 'signature verification failed', cause);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return invalidToken('algorithm_not_allowed', 'algorithm not allowed', cause);
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalidToken('key_not_found', 'no published signing key matches the token', cause);
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID (not a JWS, claims not a JSON object…), and anything else
      return invalidToken('token_malformed', 'token is malformed', cause);
  }
}
