// Subject spaces across issuers. OpenID Connect makes `sub` unique within its issuer only (Core §2:
// iss + sub identify the user), and a claim mapping may take the subject from a claim a user picks
// (a username). X-User-Id and the quota key are the subject with the issuer's `subjectPrefix`:
// two issuers whose subjects could meet must be told apart, or say that they share one space.
import { supabaseIssuerOf, type IssuerConfig } from './issuers';
import type { Reading } from './read';
import { ConfigError } from '../errors';
import { SUBJECT_PREFIX } from './issuer-entries';
import type { Parser } from './parsers';
import type { VariableDef, VariableName } from './schema';

const PREFIX_RULE = 'must be at most 64 printable ASCII characters without space or comma, e.g. "kc:"';

/** AUTH_SUBJECT_PREFIX, SUPABASE_SUBJECT_PREFIX: the shorthand issuers' subjectPrefix. */
export const subjectPrefixVariable: Parser<string> = (raw, name) => {
  if (!SUBJECT_PREFIX.test(raw)) throw new ConfigError(name, `${PREFIX_RULE}; got ${JSON.stringify(raw)}`);
  return raw;
};

const v = <T>(d: VariableDef<T>): VariableDef<T> => Object.freeze(d);

/** Rows of the one table in schema.ts, spread in place beside the shorthand issuer they belong to. */
export const AUTH_SUBJECT_PREFIX_VARIABLE = {
  AUTH_SUBJECT_PREFIX: v({
    group: 'auth',
    parse: subjectPrefixVariable,
    optional: true,
    doc: "Put before the `AUTH_ISSUER` issuer's subjects in `X-User-Id` and the quota key (the `subjectPrefix` of an `AUTH_ISSUERS` entry). Required in production when several issuers are trusted, so that two IdPs' equal subjects are two users.",
  }),
};
export const SUPABASE_SUBJECT_PREFIX_VARIABLE = {
  SUPABASE_SUBJECT_PREFIX: v({
    group: 'supabase',
    parse: subjectPrefixVariable,
    optional: true,
    doc: "Put before the `SUPABASE_URL` project's user ids in `X-User-Id` and the quota key (as `AUTH_SUBJECT_PREFIX`). Required in production beside other issuers.",
  }),
};

/**
 * Refuses prefixes that make two issuers' user ids meet ("kc:" and "kc:x:": the first issuer's
 * "x:alice" is the second's "alice"), and, in production with two or more issuers, any issuer that
 * does not state its `subjectPrefix` ("" is a statement: its subjects are the same users as another's).
 */
export function checkSubjectSpaces(r: Reading, issuers: readonly IssuerConfig[]): void {
  // one issuer configured twice is refused elsewhere; it is not two subject spaces
  if (new Set(issuers.map((i) => i.issuer)).size < 2) return;
  const named = issuers.filter((i) => i.subjectPrefix);
  for (const a of named) {
    for (const b of named) {
      if (a !== b && b.subjectPrefix!.startsWith(a.subjectPrefix!) && (a.subjectPrefix !== b.subjectPrefix || issuers.indexOf(a) < issuers.indexOf(b))) {
        r.fail(
          'AUTH_ISSUERS',
          `subjectPrefix ${JSON.stringify(a.subjectPrefix)} of ${a.issuer} ${a.subjectPrefix === b.subjectPrefix ? 'is also' : 'starts'} the subjectPrefix ${JSON.stringify(b.subjectPrefix)} of ${b.issuer}: a user of one could have the id of a user of the other; give each issuer a prefix that starts no other`,
        );
      }
    }
  }
  if (r.values.NODE_ENV !== 'production') return;
  const v = r.values;
  const modes = v.AUTH_MODE ?? [];
  // where each issuer's prefix is stated: the shorthand's own variable, or its AUTH_ISSUERS entry
  const variableOf = (i: IssuerConfig): VariableName =>
    i.kind === 'supabase' && modes.includes('supabase') && v.SUPABASE_URL !== undefined && i.issuer === supabaseIssuerOf(v.SUPABASE_URL)
      ? 'SUPABASE_SUBJECT_PREFIX'
      : i.kind !== 'supabase' && i.issuer === v.AUTH_ISSUER && (modes.includes('jwks') || modes.includes('hs256'))
        ? 'AUTH_SUBJECT_PREFIX'
        : 'AUTH_ISSUERS';
  const unstated = new Map<VariableName, string[]>();
  for (const i of issuers) if (i.subjectPrefix === undefined) unstated.set(variableOf(i), [...(unstated.get(variableOf(i)) ?? []), i.issuer]);
  for (const [name, names] of unstated) {
    const how =
      name === 'AUTH_ISSUERS'
        ? 'give each entry a "subjectPrefix" (e.g. "kc:", "sb:"), or "" for issuers whose subjects are the same users (one IdP under two issuer URLs)'
        : `set ${name} (e.g. "${name === 'SUPABASE_SUBJECT_PREFIX' ? 'sb:' : 'kc:'}")`;
    r.fail(
      name,
      `${issuers.length} issuers are trusted and ${names.join(', ')} ${names.length > 1 ? 'state' : 'states'} no subject prefix: a subject is unique only within its issuer, so two issuers' equal subjects would be one X-User-Id and one quota; ${how}`,
    );
  }
}
