// Rails' router (ActionDispatch 6.1 from Debian's ruby-actionpack) as an upstream:
// devkit/upstreams/rails_app.rb on WEBrick in its own ruby process. Rails gives every route an
// optional format suffix, so it reads `/api/admin.json` as the admin action.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startChild } from '../process';
import { UPSTREAMS_DIR, type Upstream } from './routes';

/** ruby from RUBY, else PATH. */
export const RUBY = process.env.RUBY ?? 'ruby';

/** Why the Rails upstream cannot run here, or undefined when it can. */
export function railsMissing(): string | undefined {
  try {
    execFileSync(RUBY, ['-e', "require 'action_dispatch'; require 'webrick'"], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `no ${RUBY} with action_dispatch and webrick (apt-get install ruby-actionpack ruby-webrick)`;
  }
}

export async function startRails(timeoutMs = 20_000): Promise<Upstream> {
  const t0 = Date.now();
  const c = await startChild(RUBY, [path.join(UPSTREAMS_DIR, 'rails_app.rb')], {
    name: 'rails upstream',
    env: { PATH: process.env.PATH ?? '' },
    timeoutMs,
    ready: { line: (line) => Number(/^listening (\d+)$/.exec(line)?.[1] ?? 0) || undefined },
  });
  const port = c.ready;
  return {
    name: 'rails',
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    startMs: Date.now() - t0,
    pid: c.pid,
    logs: c.logs,
    stop: () => c.stop(2000),
  };
}
