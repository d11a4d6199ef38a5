// Argument checks shared by the repositories: bad input fails here, before any SQL, with a
// QuotaStoreError the CLI can report (exit 2) rather than a Postgres error.
import { isIsoDate } from '../lib/iso-date';
import { isAcceptableSubject, MAX_SUBJECT_BYTES } from '../lib/subject';
import { QuotaStoreError } from './errors';

/**
 * Defence in depth: the claims stage already refuses such a subject (401 claim_invalid) before any
 * store call, with the same limit; the CLI and other callers meet it here.
 */
export function checkUser(userId: string): void {
  if (!isAcceptableSubject(userId)) {
    throw new QuotaStoreError('invalid_argument', `user id must be a non-empty string of at most ${MAX_SUBJECT_BYTES} UTF-8 bytes`);
  }
}

export function checkDate(date: string): void {
  if (typeof date !== 'string' || !isIsoDate(date)) throw new QuotaStoreError('invalid_argument', `date must be YYYY-MM-DD, got ${date}`);
}
