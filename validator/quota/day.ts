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

/** A quota day in one zone: its date and its bounds in whole epoch seconds, [startS, endS). */
interface Day {
  date: string;
  startS: number;
  endS: number;
}

/**
 * The current day per zone. Every charge asks for its date and its reset; finding the day's end
 * takes ~17 formatToParts calls (about a tenth of a charged decision's CPU when done per request),
 * so it is found once a day per zone. Zone offsets are whole seconds, so a day's bounds are too.
 */
const days = new Map<string, Day>();

function dayOf(now: Date, timeZone: string): Day {
  const nowMs = now.getTime();
  const known = days.get(timeZone);
  if (known && nowMs >= known.startS * 1000 && nowMs < known.endS * 1000) return known;
  const date = usageDate(now, timeZone);
  const s = Math.floor(nowMs / 1000); // a second on `date`
  // Bisection on whole seconds instead of offset arithmetic, so 23 h and 25 h DST days, and zones
  // whose DST switch skips midnight itself (the day then starts at 01:00, e.g. America/Santiago),
  // come out right without special cases.
  const edge = (onDate: number, offDate: number) => {
    while (Math.abs(offDate - onDate) > 1) {
      const mid = Math.floor((onDate + offDate) / 2);
      if (usageDate(new Date(mid * 1000), timeZone) === date) onDate = mid;
      else offDate = mid;
    }
    return { onDate, offDate };
  };
  const day = { date, startS: edge(s, s - SEARCH_WINDOW_S).onDate, endS: edge(s, s + SEARCH_WINDOW_S).offDate };
  days.set(timeZone, day);
  return day;
}

/** The quota date of `now` in `timeZone` (as usageDate) from the per-zone day cache: the charge path's form. */
export function quotaDate(now: Date, timeZone: string): string {
  return dayOf(now, timeZone).date;
}

/**
 * Whole seconds from `now` until the quota day changes in `timeZone` (the next local
 * midnight), at least 1 — the value for Retry-After and RateLimit-Reset.
 */
export function secondsUntilReset(now: Date, timeZone: string): number {
  return Math.max(1, Math.ceil((dayOf(now, timeZone).endS * 1000 - now.getTime()) / 1000));
}
