// The decision log line, written straight to the logger's destination: the line pino would write
// (its level, time and bindings, the fields, then `msg`), made with one JSON.stringify instead of
// pino's per-key serialisation, and the lines of one event-loop turn handed to the destination in
// one write. Every decision is still logged, in order, before the next turn; pino's way cost
// ~7–13 µs of CPU per line, this ~2–4 (docs/PERFORMANCE.md, "The decision log line").
import pino, { type Logger } from 'pino';

/** Writes one decision: level info, or error for a 5xx; `msg` is `granted` or `refused`. */
export type DecisionLineWriter = (status: number, granted: boolean, fields: object) => void;

const S = pino.symbols;
const INFO = 30;
const ERROR = 50;
/** A turn's lines go out at once, or sooner when they reach this (sonic-boom writes at most 16 KiB at a time). */
const BATCH_BYTES = 8192;

interface Destination {
  write(chunk: string): unknown;
}

// Batches not yet handed over when the process exits (process.exit() in the same turn): pushed to
// their destinations before pino's own exit handler flushes those synchronously. One listener per
// process, however often this module is loaded (a test runner loads it once per test file).
const PENDING = Symbol.for('tollgate.decisionLines.pending');
const holder = process as unknown as Record<symbol, Set<() => void> | undefined>;
const pending = (holder[PENDING] ??= (() => {
  const set = new Set<() => void>();
  process.prependListener('exit', () => {
    for (const flush of set) flush();
  });
  return set;
})());

/**
 * A writer for `logger`'s decision lines. Falls back to the logger's own methods when it is set up
 * in a way this writer does not reproduce (a mixin, log formatter, hook, nested key, another message
 * key, or a destination that needs pino's metadata such as pino.multistream): a line is never malformed.
 */
export function decisionLineWriter(logger: Logger): DecisionLineWriter {
  // pino's internals, by the symbols it exports for this (pino.symbols)
  const p = logger as unknown as Record<symbol, unknown>;
  const stream = p[S.streamSym] as Destination & Record<symbol, unknown>;
  const formatters = p[S.formattersSym] as { log?: unknown };
  const hooks = p[S.hooksSym] as { streamWrite?: unknown; logMethod?: unknown };
  const plain =
    !formatters.log &&
    !p[S.mixinSym] &&
    !hooks.streamWrite &&
    !hooks.logMethod &&
    !p[S.nestedKeySym] &&
    stream[S.needsMetadataGsym] !== true &&
    p[S.messageKeySym] === 'msg';
  if (!plain) {
    return (status, granted, fields) => {
      if (status >= 500) logger.error(fields, 'refused');
      else logger.info(fields, granted ? 'granted' : 'refused');
    };
  }
  const levels = p[S.lsCacheSym] as Record<number, string>;
  const start = { [INFO]: levels[INFO]!, [ERROR]: levels[ERROR]! }; // `{"level":30`
  const chindings = p[S.chindingsSym] as string;
  const time = p[S.timeSym] as () => string;
  // pino's isoTime makes a Date and an ISO string per line; within one millisecond the string is the same.
  const iso = time === pino.stdTimeFunctions.isoTime;
  let lastMs = -1;
  let lastTime = '';

  // One destination write per event-loop turn: pino's default destination (sonic-boom) makes an
  // asynchronous fs.write on libuv's pool for each write it finds idle, with a wake-up of the loop
  // when it completes; a turn under load decides several requests.
  let batch = '';
  const flush = (): void => {
    pending.delete(flush);
    if (batch === '') return;
    const chunk = batch;
    batch = '';
    stream.write(chunk);
  };

  return (status, granted, fields) => {
    const level = status >= 500 ? ERROR : INFO;
    if (logger.levelVal > level) return; // silent, warn…: as logger.info would
    let t: string;
    if (iso) {
      const ms = Date.now();
      if (ms !== lastMs) {
        lastMs = ms;
        lastTime = `,"time":"${new Date(ms).toISOString()}"`;
      }
      t = lastTime;
    } else {
      t = time();
    }
    // JSON.stringify drops undefined members, as pino does; the fields are plain data made by the
    // handler (never a header or the token), so there is nothing for pino's redaction to match.
    const json = JSON.stringify(fields);
    const body = json.length > 2 ? `,${json.slice(1, -1)}` : '';
    if (batch === '') {
      pending.add(flush);
      setImmediate(flush);
    }
    batch += `${start[level]}${t}${chindings}${body},"msg":"${granted ? 'granted' : 'refused'}"}\n`;
    // an error (5xx) is written now: an operator watching the log should see trouble at once
    if (level === ERROR || batch.length >= BATCH_BYTES) flush();
  };
}
