// The one limit on a subject (the user id) that the claims stage and the quota store share, in a
// leaf module so that neither has to import the other.

/**
 * Longest accepted `sub`, in UTF-8 bytes. OpenID Connect Core §2 says a subject "MUST NOT exceed 255
 * ASCII characters"; counting UTF-8 bytes keeps the same bound for non-ASCII subjects, which are
 * forwarded as their UTF-8 bytes.
 */
export const MAX_SUBJECT_BYTES = 255;

/** Whether `v` is a non-empty string of at most MAX_SUBJECT_BYTES UTF-8 bytes. */
export function isAcceptableSubject(v: unknown): v is string {
  if (typeof v !== 'string' || v === '') return false;
  // a UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no byte count
  return v.length * 3 <= MAX_SUBJECT_BYTES || Buffer.byteLength(v, 'utf8') <= MAX_SUBJECT_BYTES;
}
