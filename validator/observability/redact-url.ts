// A URL fit for a message or a log line: its password replaced by `***` (a DATABASE_URL carries one).

/** `url` with its password replaced by `***`; `(not a URL)` when it does not parse, so nothing of it leaks. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}
