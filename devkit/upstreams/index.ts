// Real upstream frameworks for the differential path tests: each serves the route set of
// routes.ts on a free 127.0.0.1 port and answers which handler its own router chose, so a test
// can compare what tollgate judged with what the application would actually have run.
import { execFileSync } from 'node:child_process';
import { startExpress } from './express';
import { railsMissing, startRails } from './rails';
import type { Upstream } from './routes';
import { findTomcat, startTomcat } from './tomcat';
import { PYTHON, startWsgiref } from './wsgiref';

export * from './routes';
export { startExpress, startRails, startTomcat, startWsgiref, findTomcat };

export interface StartedUpstreams {
  upstreams: Upstream[];
  /** Servers not started because they are not installed (never in CI). */
  skipped: { name: string; why: string }[];
  /** Stops them all (also safe after a partial start). */
  stop(): Promise<void>;
}

function pythonMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import wsgiref'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `no ${PYTHON} with wsgiref (install python3, or set PYTHON)`;
  }
}

/**
 * Starts Express, wsgiref, Tomcat and Rails in parallel. A server that is not installed is skipped with
 * the reason, except when CI=true: CI has to test them all, so there it is an error. When one
 * fails to start, the others are stopped before the error is thrown.
 */
export async function startUpstreams(env: NodeJS.ProcessEnv = process.env): Promise<StartedUpstreams> {
  const skipped: { name: string; why: string }[] = [];
  const starts: Promise<Upstream>[] = [startExpress()];
  const py = pythonMissing();
  if (py) skipped.push({ name: 'wsgiref', why: py });
  else starts.push(startWsgiref());
  const tomcat = findTomcat(env);
  if (typeof tomcat === 'string') skipped.push({ name: 'tomcat', why: tomcat });
  else starts.push(startTomcat(tomcat));
  const rails = railsMissing();
  if (rails) skipped.push({ name: 'rails', why: rails });
  else starts.push(startRails());

  const settled = await Promise.allSettled(starts);
  const upstreams = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(upstreams.map((u) => u.stop().catch(() => undefined)));
  };
  const failed = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
  if (env.CI === 'true' && skipped.length) failed.push(new Error(`CI must run every upstream: ${skipped.map((s) => `${s.name}: ${s.why}`).join('; ')}`));
  if (failed.length) {
    await stop();
    throw new Error(failed.map((e) => e.message).join('\n'));
  }
  return { upstreams, skipped, stop };
}
