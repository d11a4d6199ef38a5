// Quota amount: X-Max-Ticks header or max_ticks query parameter, a positive whole number or 400.
import { AuthError } from '../../validator/errors';
import { ticksRequested } from '../../validator/quota/charge';

const DEFAULT = 1;

function refusal(header: string | undefined, uri: string): AuthError {
  try {
    ticksRequested(header, uri, DEFAULT);
  } catch (e) {
    expect(e).toBeInstanceOf(AuthError);
    return e as AuthError;
  }
  throw new Error(`accepted ${JSON.stringify([header, uri])}`);
}

describe('ticksRequested', () => {
  test.each([
    ['neither → default', undefined, '/api/tasks', DEFAULT],
    ['neither, other query parameters → default', undefined, '/api/tasks?x=1&max=3', DEFAULT],
    ['header', '5', '/api/tasks', 5],
    ['header with surrounding spaces', ' 5 ', '/api/tasks', 5],
    ['query', undefined, '/api/tasks?max_ticks=7', 7],
    ['query among others', undefined, '/api/tasks?a=1&max_ticks=7&b=2', 7],
    ['query with an encoded name', undefined, '/api/tasks?max%5Fticks=7', 7],
    ['both, equal', '3', '/api/tasks?max_ticks=3', 3],
    ['query twice, equal', undefined, '/api/tasks?max_ticks=4&max_ticks=4', 4],
    ['largest accepted (9 digits)', '999999999', '/api/tasks', 999_999_999],
  ])('%s', (_title, header, uri, expected) => {
    expect(ticksRequested(header, uri, DEFAULT)).toBe(expected);
  });

  test('the default is the configured QUOTA_DEFAULT_TICKS', () => {
    expect(ticksRequested(undefined, '/api/tasks', 9)).toBe(9);
  });

  test.each([
    ['both, different', '3', '/api/tasks?max_ticks=4'],
    ['query twice, different', undefined, '/api/tasks?max_ticks=1&max_ticks=9'],
    ['header 0', '0', '/api/tasks'],
    ['query 0', undefined, '/api/tasks?max_ticks=0'],
    ['-1', '-1', '/api/tasks'],
    ['1.5', '1.5', '/api/tasks'],
    ['abc', 'abc', '/api/tasks'],
    ['1e3', '1e3', '/api/tasks'],
    ['query 1e3', undefined, '/api/tasks?max_ticks=1e3'],
    ['huge', '1'.repeat(400), '/api/tasks'],
    ['10 digits', '1000000000', '/api/tasks'],
    ['leading zero', '05', '/api/tasks'],
    ['leading plus', '+5', '/api/tasks'],
    ['hex', '0x10', '/api/tasks'],
    ['empty header', '', '/api/tasks'],
    ['empty query value', undefined, '/api/tasks?max_ticks='],
    ['query without a value', undefined, '/api/tasks?max_ticks'],
    ['space-joined duplicates in one header', '5, 7', '/api/tasks'],
    ['Infinity', 'Infinity', '/api/tasks'],
    ['non-ASCII digits', '５', '/api/tasks'],
    ['query with spaces', undefined, '/api/tasks?max_ticks=+5'],
    ['query followed by a fragment (refused, not guessed)', undefined, '/api/tasks?max_ticks=2#x'],
  ])('%s → 400 max_ticks_invalid', (_title, header, uri) => {
    const e = refusal(header, uri);
    expect(e.status).toBe(400);
    expect(e.code).toBe('max_ticks_invalid');
    expect(e.bearerError).toBe('invalid_request');
    expect(e.wwwAuthenticate).toBeUndefined();
  });
});
