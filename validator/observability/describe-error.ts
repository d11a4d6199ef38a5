// One line for an error from a network call: the underlying cause that Node's fetch and pg bury
// (`fetch failed` hides `connect ECONNREFUSED 127.0.0.1:443` in `cause`; a dual-stack connect
// failure is an AggregateError with an empty message), so logs and /api/ready say what went wrong.

interface ErrorFields {
  message?: unknown;
  code?: unknown;
  name?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** OpenSSL messages carry a file:line trailer (`…:ssl3_get_record:wrong version number:../deps/…`): keep the reason. */
function tidy(message: string): string {
  const ssl = /:SSL routines:[^:]*:([^:]+):/.exec(message);
  return (ssl ? ssl[1]! : message).replace(/\s+/g, ' ').trim();
}

/**
 * `e`'s message followed by its causes, outermost first, and the first system/TLS code seen:
 * `fetch failed: connect ECONNREFUSED 127.0.0.1:8443 [ECONNREFUSED]`. A timeout from
 * AbortSignal.timeout reads `timed out`. Never throws.
 */
export function describeError(e: unknown): string {
  const parts: string[] = [];
  let code: string | undefined;
  const seen = new Set<unknown>();
  let cur: unknown = e;
  while (cur !== undefined && cur !== null && !seen.has(cur) && parts.length < 5) {
    seen.add(cur);
    const f = (typeof cur === 'object' ? cur : { message: String(cur) }) as ErrorFields;
    if (typeof f.code === 'string' && code === undefined) code = f.code;
    if (f.name === 'TimeoutError') {
      parts.push('timed out');
    } else {
      const m = typeof f.message === 'string' ? tidy(f.message) : '';
      if (m && !parts.includes(m)) parts.push(m);
    }
    // AggregateError (happy-eyeballs connect to every address of a name): its members say why
    if (Array.isArray(f.errors) && f.errors.length) {
      const inner = [...new Set(f.errors.map((x) => describeError(x)))];
      parts.push(inner.join('; '));
      break;
    }
    cur = f.cause;
  }
  const text = parts.join(': ') || 'unknown error';
  return code && !text.includes(code) ? `${text} [${code}]` : text;
}
