// What one decision log line costs, alone: the line a cached decision writes, logged the way the
// validator did before (pino: a child logger without redaction, `info(fields, 'granted')`) and the
// way it does now (decisionLineWriter, into createLogger's synchronous destination), and the writer
// into pino's asynchronous default, each to a temporary file through sonic-boom. Lines come in event-loop turns of N, as under load; the figure
// is the process's CPU (every thread: libuv's pool does the writes) per line, less the same loop
// without logging. Rounds interleave the variants.
//   node dist/bench/log-line.js [lines per turn = 8] [lines per round = 40000] [rounds = 9]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { decisionLineWriter } from '../validator/observability/decision-line';
import { createLogger } from '../validator/observability/logger';

import { median, say } from './harness';

/** The fields of a granted cached decision, as the validate handler builds them. */
const fields = (i: number) => ({
  req: { id: '6634c93c-e06c-4d39-9907-93736ecd5e42', method: 'GET', url: '/api/auth/validate' },
  res: { statusCode: 200 },
  responseTime: 0.1 + (i % 100) / 1000,
  request_id: '6634c93c-e06c-4d39-9907-93736ecd5e42',
  granted: true,
  reason: 'ok',
  detail: undefined,
  cause: undefined,
  sub: 'bench-user-0',
  client: 'bench-client',
  method: 'GET',
  uri: '/api/things',
  charged: undefined,
});

type Log = (i: number) => void;

/** `lines` lines in turns of `perTurn` (one setImmediate each); CPU µs of the whole process per line, once the destination drained. */
function round(log: Log, lines: number, perTurn: number, drained: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const c0 = process.cpuUsage();
    let i = 0;
    const turn = (): void => {
      for (const end = Math.min(lines, i + perTurn); i < end; i++) log(i);
      if (i < lines) setImmediate(turn);
      else
        void drained().then(() => {
          const c = process.cpuUsage(c0);
          resolve((c.user + c.system) / lines);
        });
    };
    turn();
  });
}

async function main(): Promise<void> {
  const [perTurn = 8, lines = 40_000, rounds = 9] = process.argv.slice(2).map(Number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-log-line-'));
  try {
    const variant = (name: string, make: (logger: ReturnType<typeof createLogger>) => Log, sync = false) => {
      const dest = pino.destination({ dest: path.join(dir, `${name}.log`), sync });
      const logger = createLogger('info', dest);
      // resolves once the destination has written everything (sonic-boom's flush is a no-op without minLength)
      const drained = () => new Promise<void>((r) => ((dest as unknown as { _writing: boolean })._writing ? dest.once('drain', () => r()) : r()));
      return { name, log: make(logger), drained, cpu: [] as number[] };
    };
    const viaPino = (logger: ReturnType<typeof createLogger>): Log => {
      const child = logger.child({}, { redact: { paths: [] } });
      return (i) => child.info(fields(i), 'granted');
    };
    const viaWriter = (logger: ReturnType<typeof createLogger>): Log => {
      const write = decisionLineWriter(logger);
      return (i) => write(200, true, fields(i));
    };
    const variants = [
      variant('none', () => (i) => void fields(i)),
      variant('before: pino, async destination', viaPino),
      variant('decisionLineWriter, async destination', viaWriter),
      variant('now: decisionLineWriter, sync destination', viaWriter, true),
    ];
    for (const v of variants) await round(v.log, lines / 4, perTurn, v.drained); // warm-up
    for (let r = 0; r < rounds; r++) for (const v of variants) v.cpu.push(await round(v.log, lines, perTurn, v.drained));
    const base = median(variants[0]!.cpu);
    say(`decision log line, ${perTurn} per event-loop turn, ${lines} lines × ${rounds} rounds, to a file through sonic-boom, Node ${process.version}`);
    for (const v of variants.slice(1))
      say(
        `  ${v.name.padEnd(42)} ${(median(v.cpu) - base).toFixed(2)} µs CPU per line (median of rounds: ${v.cpu.map((c) => (c - base).toFixed(1)).join(' ')})`,
      );
    const sample = fs.readFileSync(path.join(dir, `${variants[3]!.name}.log`), 'utf8').split('\n')[0];
    const before = fs.readFileSync(path.join(dir, `${variants[1]!.name}.log`), 'utf8').split('\n')[0];
    const same = (s: string | undefined) => s?.replace(/"time":"[^"]*"/, '"time":"T"').replace(/"responseTime":[\d.]+/, '"responseTime":0');
    say(`  the same line both ways: ${same(sample) === same(before)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`log-line: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
