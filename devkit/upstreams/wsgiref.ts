// Python's stdlib wsgiref as an upstream: devkit/upstreams/wsgi_app.py in its own python3 process.
import path from 'node:path';
import { startChild } from '../process';
import { UPSTREAMS_DIR, type Upstream } from './routes';

/** python3 from PYTHON, else PATH. */
export const PYTHON = process.env.PYTHON ?? 'python3';

export async function startWsgiref(timeoutMs = 10_000): Promise<Upstream> {
  const t0 = Date.now();
  const c = await startChild(PYTHON, ['-u', path.join(UPSTREAMS_DIR, 'wsgi_app.py')], {
    name: 'wsgiref upstream',
    env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1' },
    timeoutMs,
    ready: { line: (line) => Number(/^listening (\d+)$/.exec(line)?.[1] ?? 0) || undefined },
  });
  const port = c.ready;
  return {
    name: 'wsgiref',
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    startMs: Date.now() - t0,
    pid: c.pid,
    logs: c.logs,
    stop: () => c.stop(1000),
  };
}
