// An upstream that is a script in its own interpreter process (wsgiref, Rails): started with only
// PATH (and `env`), ready on its "listening <port>" line, stopped by PID.
import { startChild } from '../process';
import type { Upstream } from './routes';

export async function startScriptUpstream(
  name: string,
  command: string,
  args: string[],
  o: { env?: Record<string, string>; timeoutMs: number; stopGraceMs: number },
): Promise<Upstream> {
  const t0 = Date.now();
  const c = await startChild(command, args, {
    name: `${name} upstream`,
    env: { PATH: process.env.PATH ?? '', ...o.env },
    timeoutMs: o.timeoutMs,
    ready: { line: (line) => Number(/^listening (\d+)$/.exec(line)?.[1] ?? 0) || undefined },
  });
  const port = c.ready;
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    startMs: Date.now() - t0,
    pid: c.pid,
    logs: c.logs,
    stop: () => c.stop(o.stopGraceMs),
  };
}
