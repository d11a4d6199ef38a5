// The decision log line as decisionLineWriter writes it: the same line pino writes, at the same
// levels, every decision of one event-loop turn in one destination write (at exit: test/integration/decision-line-exit.test.ts).
import { Writable } from 'node:stream';
import pino from 'pino';
import { decisionLineWriter } from '../../validator/observability/decision-line';
import { createLogger } from '../../validator/observability/logger';

/** A destination that keeps every write (one element per write call). */
function sink(): { stream: Writable; writes: string[]; lines: () => Array<Record<string, unknown>> } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      writes.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    writes,
    lines: () =>
      writes
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

const nextTurn = () => new Promise((r) => setImmediate(r));

const granted = (i = 0) => ({
  req: { id: `id-${i}`, method: 'GET', url: '/api/auth/validate' },
  res: { statusCode: 200 },
  responseTime: 0.123,
  request_id: `id-${i}`,
  granted: true,
  reason: 'ok',
  detail: undefined,
  sub: 'user-1',
  client: 'cli',
  method: 'GET',
  uri: '/api/things?q="quoted"\\back\nnewline\u0001ctl é 😀',
  charged: undefined,
});

describe('decisionLineWriter', () => {
  test('writes the line pino writes, byte for byte but the time', async () => {
    const mine = sink();
    const theirs = sink();
    const write = decisionLineWriter(createLogger('info', mine.stream));
    const child = createLogger('info', theirs.stream).child({}, { redact: { paths: [] } });
    const cases: Array<[number, boolean, object]> = [
      [200, true, granted()],
      [
        401,
        false,
        {
          ...granted(),
          granted: false,
          reason: 'signature_invalid',
          detail: 'signature verification failed',
          cause: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
          sub: undefined,
        },
      ],
      [503, false, { granted: false, reason: 'keys_unavailable', jwt: { iss: 'https://idp', aud: ['a', 'b'], kid: null }, n: Infinity }],
      [200, true, {}],
    ];
    for (const [status, ok, fields] of cases) {
      write(status, ok, fields);
      if (status >= 500) child.error(fields, 'refused');
      else child.info(fields, ok ? 'granted' : 'refused');
    }
    await nextTurn();
    const norm = (s: string) => s.replace(/"time":"[^"]+"/g, '"time":"T"');
    expect(norm(mine.writes.join(''))).toBe(norm(theirs.writes.join('')));
    expect(mine.lines().map((l) => [l.level, l.msg, l.service])).toEqual([
      [30, 'granted', 'tollgate'],
      [30, 'refused', 'tollgate'],
      [50, 'refused', 'tollgate'],
      [30, 'granted', 'tollgate'],
    ]);
    expect(new Date(mine.lines()[0]!.time as string).toISOString()).toBe(mine.lines()[0]!.time);
  });

  test('a lone surrogate still makes a valid JSON line', async () => {
    const s = sink();
    decisionLineWriter(createLogger('info', s.stream))(200, true, { sub: 'a\ud800b' });
    await nextTurn();
    expect(s.lines()[0]!.sub).toBe('a\ud800b');
  });

  test('levels: warn keeps only 5xx decisions, silent none, and a level change applies at once', async () => {
    const s = sink();
    const logger = createLogger('warn', s.stream);
    const write = decisionLineWriter(logger);
    write(200, true, { n: 1 });
    write(403, false, { n: 2 });
    write(500, false, { n: 3 });
    logger.level = 'silent';
    write(500, false, { n: 4 });
    logger.level = 'info';
    write(401, false, { n: 5 });
    await nextTurn();
    expect(s.lines().map((l) => [l.n, l.level])).toEqual([
      [3, 50],
      [5, 30],
    ]);
  });

  test('one destination write per event-loop turn, in order, before the next turn; a 5xx at once', async () => {
    const s = sink();
    const write = decisionLineWriter(createLogger('info', s.stream));
    for (let i = 0; i < 20; i++) write(200, true, granted(i));
    expect(s.writes).toHaveLength(0); // not yet: the turn is still deciding
    await nextTurn();
    expect(s.writes).toHaveLength(1);
    expect(s.lines().map((l) => l.request_id)).toEqual(Array.from({ length: 20 }, (_, i) => `id-${i}`));
    write(200, true, granted(20));
    write(502, false, { reason: 'internal_error' });
    expect(s.writes).toHaveLength(2); // the error line went out with what was waiting
    await nextTurn();
    expect(s.writes).toHaveLength(2);
    expect(s.lines()).toHaveLength(22);
  });

  test('a large turn is written in pieces of about 8 KiB', async () => {
    const s = sink();
    const write = decisionLineWriter(createLogger('info', s.stream));
    for (let i = 0; i < 200; i++) write(200, true, granted(i));
    await nextTurn();
    expect(s.lines()).toHaveLength(200);
    expect(s.writes.length).toBeGreaterThan(3);
    for (const w of s.writes) expect(w.length).toBeLessThan(9000);
  });

  test('a logger it cannot reproduce (a mixin) is used as it is', async () => {
    const s = sink();
    const logger = pino({ mixin: () => ({ mixed: true }) }, s.stream);
    decisionLineWriter(logger)(200, true, { sub: 'u' });
    await nextTurn();
    expect(s.lines()[0]).toMatchObject({ level: 30, msg: 'granted', sub: 'u', mixed: true });
  });

  test("createLogger's default destination writes synchronously", () => {
    const stream = (createLogger('silent') as unknown as Record<symbol, { sync?: boolean }>)[pino.symbols.streamSym];
    expect(stream?.sync).toBe(true);
  });
});
