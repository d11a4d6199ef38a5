// The audience check of a verified token, per issuer: RFC 7519 §4.1.3 `aud` (or the preset's claim,
// Cognito's `client_id`) must name one of the issuer's audiences. A refusal says what the token had,
// what was expected and, with a preset, where that IdP puts the audience: the most common reason a
// valid token is refused is an IdP that was never told about the API.
import type { IssuerConfig } from '../config';
import { invalidToken } from '../errors';

/** At most this many values, each cut to this many characters, are quoted in a refusal. */
const SHOWN_VALUES = 4;
const SHOWN_CHARS = 80;

const show = (values: readonly string[]): string => {
  const quoted = values.slice(0, SHOWN_VALUES).map((v) => JSON.stringify(v.length > SHOWN_CHARS ? `${v.slice(0, SHOWN_CHARS)}...` : v));
  return quoted.join(', ') + (values.length > SHOWN_VALUES ? `, ... (${values.length} values)` : '');
};

/** The string values of an audience claim: a string, or the strings of an array (RFC 7519 §4.1.3). */
function audiencesOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return undefined;
}

/** Throws 401 audience_mismatch unless the token's audience claim names one of `issuer.audiences`. */
export function checkAudience(issuer: IssuerConfig, payload: Readonly<Record<string, unknown>>): void {
  const claim = issuer.audienceClaim;
  const had = audiencesOf(payload[claim]);
  if (had?.some((a) => issuer.audiences.includes(a))) return;
  const got = had === undefined || had.length === 0 ? `the token has no ${claim}` : `${claim} is ${show(had)}`;
  const hint = issuer.audienceHint === undefined ? '' : `. ${issuer.audienceHint}`;
  throw invalidToken(
    'audience_mismatch',
    `token audience is not accepted here: ${got}, expected ${show(issuer.audiences)}${hint}`,
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
  );
}
