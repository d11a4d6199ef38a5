// Quota days: which calendar date a moment belongs to in the quota timezone, and how long
// until that date changes. Pure functions; callers pass the clock (`now`) so tests can move it.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // en-CA formats dates as YYYY-MM-DD; formatToParts keeps us independent of that anyway.
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The calendar date (YYYY-MM-DD) of `now` in `timeZone`. Throws RangeError for an unknown zone. */
export function usageDate(now: Date, timeZone: string): string {
  let y = '',
    m = '',
    d = '';
  for (const p of formatter(timeZone).formatToParts(now)) {
    if (p.type === 'year') y = p.value;
    else if (p.type === 'month') m = p.value;
    else if (p.type === 'day') d = p.value;
  }
  return `${y}-${m}-${d}`;
}

/** Longest possible local day plus slack: 24 h + a DST shift (≤ 1 h anywhere today) + margin. */
const SEARCH_WINDOW_S = 27 * 3600;

/**
 * Whole seconds from `now` until the quota day changes in `timeZone` (the next local
 * midnight), at least 1 — the value for Retry-After and RateLimit-Reset.
 * Found by bisection on whole seconds over `usageDate` instead of offset arithmetic, so
 * 23 h and 25 h DST days, and zones whose DST switch skips midnight itself (the day then
 * starts at 01:00, e.g. America/Santiago), come out right without special cases.
 */
export function secondsUntilReset(now: Date, timeZone: string): number {
  const nowMs = now.getTime();
  const today = usageDate(now, timeZone);
  let lo = Math.floor(nowMs / 1000); // a second still on `today`
  let hi = lo + SEARCH_WINDOW_S; // a second past `today`
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (usageDate(new Date(mid * 1000), timeZone) === today) lo = mid;
    else hi = mid;
  }
  return Math.max(1, Math.ceil((hi * 1000 - nowMs) / 1000));
}
