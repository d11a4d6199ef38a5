// The decision lines of an event-loop turn that ends in process.exit() are still written: the
// batch decisionLineWriter holds for the turn goes out before pino's exit flush (a child process,
// the built module, standard output as the validator writes it).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

test('lines of a turn that ends with process.exit() are written', () => {
  const dist = path.join(__dirname, '..', '..', 'dist', 'validator', 'observability');
  const script = `
    const { createLogger } = require(${JSON.stringify(path.join(dist, 'logger.js'))});
    const { decisionLineWriter } = require(${JSON.stringify(path.join(dist, 'decision-line.js'))});
    const write = decisionLineWriter(createLogger('info'));
    for (let i = 0; i < 3; i++) write(200, true, { n: i });
    process.exit(0);`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).n),
  ).toEqual([0, 1, 2]);
});
