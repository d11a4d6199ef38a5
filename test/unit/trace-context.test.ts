// W3C traceparent parsing: the valid forms are read, everything else is ignored (never guessed at).
import { MAX_TRACESTATE, parseTraceparent } from '../../validator/observability/trace-context';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

test('a version-00 traceparent is split into its fields, with its tracestate', () => {
  expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'congo=t61rcWkgMzE')).toEqual({
    traceId: TRACE,
    parentId: SPAN,
    flags: 1,
    tracestate: 'congo=t61rcWkgMzE',
  });
  expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)).toEqual({ traceId: TRACE, parentId: SPAN, flags: 0, tracestate: undefined });
});

test('a later version is read for its version-00 fields; what it appends is ignored', () => {
  expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)?.traceId).toBe(TRACE);
});

test.each([
  ['absent', undefined],
  ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
  ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
  ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
  ['version ff', `ff-${TRACE}-${SPAN}-01`],
  ['version 00 with more fields', `00-${TRACE}-${SPAN}-01-extra`],
  ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
  ['two headers joined by Node', `00-${TRACE}-${SPAN}-01, 00-${TRACE}-${SPAN}-01`],
  ['garbage', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x'],
])('ignored: %s', (_what, value) => {
  expect(parseTraceparent(value, 'a=b')).toBeUndefined();
});

test('an over-long tracestate is dropped, the traceparent kept', () => {
  const p = parseTraceparent(`00-${TRACE}-${SPAN}-01`, `a=${'x'.repeat(MAX_TRACESTATE)}`);
  expect(p?.traceId).toBe(TRACE);
  expect(p?.tracestate).toBeUndefined();
});
