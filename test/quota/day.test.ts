// Quota-day helpers: local dates and seconds to the next local midnight, across zones and DST.
import { isIsoDate } from '../../validator/lib/iso-date';
import { quotaDate, secondsUntilReset, usageDate } from '../../validator/quota/day';

const at = (iso: string) => new Date(iso);

describe('usageDate', () => {
  test.each([
    ['2024-01-01T00:00:00Z', 'UTC', '2024-01-01'],
    ['2024-01-01T23:59:59.999Z', 'UTC', '2024-01-01'],
    ['2024-01-01T18:29:59Z', 'Asia/Kolkata', '2024-01-01'], // 23:59:59 IST (+05:30)
    ['2024-01-01T18:30:00Z', 'Asia/Kolkata', '2024-01-02'],
    ['2024-01-01T03:00:00Z', 'America/Los_Angeles', '2023-12-31'],
    ['2024-12-31T10:00:00Z', 'Pacific/Kiritimati', '2025-01-01'], // +14:00
    ['2024-02-29T12:00:00Z', 'Europe/Paris', '2024-02-29'],
  ])('%s in %s is %s', (iso, tz, date) => {
    expect(usageDate(at(iso), tz)).toBe(date);
  });

  test('unknown zone throws RangeError', () => {
    expect(() => usageDate(new Date(), 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('secondsUntilReset', () => {
  test.each([
    // [now, zone, seconds, why]
    ['2024-01-01T00:00:00Z', 'UTC', 86_400, 'exactly at midnight: a whole day'],
    ['2024-01-01T23:59:59Z', 'UTC', 1, 'one second before midnight'],
    ['2024-01-01T23:59:59.500Z', 'UTC', 1, 'never 0: Retry-After must be positive'],
    ['2024-01-01T12:00:00.250Z', 'UTC', 43_200, 'fractions round up'],
    ['2024-01-01T18:00:00Z', 'Asia/Kolkata', 1_800, '23:30 IST'],
    ['2024-03-10T05:00:00Z', 'America/New_York', 82_800, 'spring forward: a 23 h day'],
    ['2024-11-03T04:00:00Z', 'America/New_York', 90_000, 'fall back: a 25 h day'],
    ['2024-03-31T00:30:00Z', 'Europe/Paris', 77_400, 'Paris spring forward: 01:30 CET to 00:00 CEST'],
    ['2024-09-07T12:00:00Z', 'America/Santiago', 57_600, 'DST skips midnight: the day starts at 01:00'],
    ['2024-12-31T00:00:00Z', 'Pacific/Kiritimati', 36_000, '+14:00: 14:00 local'],
  ])('%s in %s → %d s (%s)', (iso, tz, secs) => {
    const now = at(iso);
    const s = secondsUntilReset(now, tz);
    expect(s).toBe(secs);
    // And the date really changes there, not a second earlier.
    expect(usageDate(new Date(now.getTime() + (s - 1) * 1000), tz)).toBe(usageDate(now, tz));
    expect(usageDate(new Date(now.getTime() + s * 1000), tz)).not.toBe(usageDate(now, tz));
  });

  test('consistent with usageDate over a year of hours in a DST zone', () => {
    const tz = 'Europe/London';
    for (let t = Date.UTC(2024, 0, 1); t < Date.UTC(2025, 0, 1); t += 3_600_000 + 7_919) {
      const now = new Date(t);
      const s = secondsUntilReset(now, tz);
      expect(usageDate(new Date(t + s * 1000), tz)).not.toBe(usageDate(now, tz));
      expect(usageDate(new Date(t + (s - 1) * 1000), tz)).toBe(usageDate(now, tz));
    }
  });
});

describe('the cached day (quotaDate, secondsUntilReset)', () => {
  test('agrees with usageDate when the clock jumps back and forth across days and DST changes', () => {
    const tz = 'America/New_York';
    // Around the 25 h day, either side of each midnight, backwards too (a test clock, a corrected host clock).
    const instants = ['2024-11-02T03:59:59.999Z', '2024-11-02T04:00:00Z', '2024-11-03T04:59:59Z', '2024-11-03T05:00:00Z', '2024-11-02T12:00:00Z']
      .map((iso) => at(iso).getTime())
      .flatMap((t) => [t, t - 1, t + 1, t + 86_400_000, t - 86_400_000]);
    for (const t of [...instants, ...instants.reverse()]) {
      const now = new Date(t);
      expect(quotaDate(now, tz)).toBe(usageDate(now, tz));
      const s = secondsUntilReset(now, tz);
      expect(usageDate(new Date(t + s * 1000), tz)).not.toBe(usageDate(now, tz));
      expect(usageDate(new Date(t + (s - 1) * 1000), tz)).toBe(usageDate(now, tz));
    }
  });

  test('each zone has its own day', () => {
    const now = at('2024-01-01T20:00:00Z');
    expect(quotaDate(now, 'UTC')).toBe('2024-01-01');
    expect(quotaDate(now, 'Asia/Tokyo')).toBe('2024-01-02');
    expect(quotaDate(now, 'UTC')).toBe('2024-01-01');
    expect(secondsUntilReset(now, 'UTC')).toBe(4 * 3600);
    expect(secondsUntilReset(now, 'Asia/Tokyo')).toBe(19 * 3600);
  });
});

test('isIsoDate', () => {
  expect(isIsoDate('2024-02-29')).toBe(true);
  for (const bad of ['2023-02-29', '2024-02-30', '2024-13-01', '2024-1-01', '20240101', '2024-01-01T00:00:00Z', '']) {
    expect(isIsoDate(bad)).toBe(false);
  }
});
