// Rails' router (ActionDispatch 6.1 from Debian's ruby-actionpack) as an upstream:
// devkit/upstreams/rails_app.rb on WEBrick in its own ruby process. Rails gives every route an
// optional format suffix, so it reads `/api/admin.json` as the admin action.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { UPSTREAMS_DIR, type Upstream } from './routes';
import { startScriptUpstream } from './script';

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

export function startRails(timeoutMs = 20_000): Promise<Upstream> {
  return startScriptUpstream('rails', RUBY, [path.join(UPSTREAMS_DIR, 'rails_app.rb')], { timeoutMs, stopGraceMs: 2000 });
}
