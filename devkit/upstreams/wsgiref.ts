// Python's stdlib wsgiref as an upstream: devkit/upstreams/wsgi_app.py in its own python3 process.
import path from 'node:path';
import { UPSTREAMS_DIR, type Upstream } from './routes';
import { startScriptUpstream } from './script';

/** python3 from PYTHON, else PATH. */
export const PYTHON = process.env.PYTHON ?? 'python3';

export function startWsgiref(timeoutMs = 10_000): Promise<Upstream> {
  return startScriptUpstream('wsgiref', PYTHON, ['-u', path.join(UPSTREAMS_DIR, 'wsgi_app.py')], {
    env: { PYTHONDONTWRITEBYTECODE: '1' },
    timeoutMs,
    stopGraceMs: 1000,
  });
}
