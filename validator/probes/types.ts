// The result of one probe of `tollgate check`: what was looked at, whether it can work, and why.

export interface ProbeResult {
  /** What kind of thing: `discovery`, `jwks`, `clock`, `introspection`, `database`, `nginx`. */
  readonly name: string;
  /** Which one (a redacted URL, an issuer, a data directory). */
  readonly target: string;
  /** false: it cannot work as configured (`tollgate check` exits 3). */
  readonly ok: boolean;
  /** Not probed, and why (`detail`): ok stays true. */
  readonly skipped?: boolean;
  /** One line: what was found. */
  readonly detail: string;
  /** What to do about a failure. */
  readonly hint?: string;
}
