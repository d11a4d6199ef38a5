// `tollgate check`'s look at the gateway: render nginx/templates with this environment's GATEWAY_*
// values and run `nginx -t` on the result. Only in a checkout: the renderer is the devkit's (the one
// `npm start` and the tests use), and the production image holds neither it nor the templates, so
// there the gateway's own container checks its config (the official image runs envsubst, then nginx).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RawEnv } from '../config/env';
import { describeError } from '../observability/describe-error';
import type { ProbeResult } from './types';

/** `nginx -t` only reads files: past this it is stuck, and the probe says so rather than wait. */
const NGINX_TEST_TIMEOUT_MS = 20_000;

/** The part of devkit/nginx.ts this probe uses. */
interface Renderer {
  findNginx(env?: NodeJS.ProcessEnv): string | undefined;
  resolveVars(opts: { env?: NodeJS.ProcessEnv }): Record<string, string>;
  renderConfig(prefix: string, vars: Record<string, string>, nginxPath: string, env?: NodeJS.ProcessEnv): void;
}

/** devkit/nginx beside this build (dist/devkit from dist/validator, devkit/ from the sources), or undefined. */
function devkit(): Renderer | undefined {
  const file = path.resolve(__dirname, '..', '..', 'devkit', 'nginx');
  try {
    require.resolve(file);
  } catch {
    return undefined;
  }
  // a computed path: the production build neither resolves nor ships it
  return require(file) as Renderer;
}

export function probeNginx(env: RawEnv): ProbeResult {
  const name = 'nginx';
  const r = devkit();
  if (!r)
    return {
      name,
      target: 'nginx/templates',
      ok: true,
      skipped: true,
      detail: 'no devkit in this installation (the production image): check the gateway config in its own container',
    };
  const procEnv = { ...env } as NodeJS.ProcessEnv;
  const bin = r.findNginx(procEnv);
  if (!bin) return { name, target: 'nginx/templates', ok: true, skipped: true, detail: 'nginx is not installed here (or NGINX_BIN does not name it)' };
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-check-nginx-'));
  const target = `nginx/templates (${bin})`;
  try {
    const vars = r.resolveVars({ env: procEnv });
    r.renderConfig(prefix, vars, bin, procEnv);
    const args = ['-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf'), '-t', '-q'];
    execFileSync(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: NGINX_TEST_TIMEOUT_MS });
    return { name, target, ok: true, detail: 'the templates rendered with this environment pass `nginx -t`' };
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    // nginx prints the rendered file's temporary path; name the template instead
    // nginx -t names the rendered files; point at their templates instead
    const line = (l: string) =>
      l
        .replace(/^nginx: /, '')
        .split(`${prefix}/conf.d/`)
        .join('nginx/templates/');
    const detail = stderr ? stderr.split('\n').map(line).join('; ') : describeError(e);
    const hint = /certificate|BIO_new_file/.test(detail) ? 'set GATEWAY_TLS_CERT and GATEWAY_TLS_KEY, or make a local pair with `npm run certs`' : undefined;
    return { name, target, ok: false, detail, ...(hint ? { hint } : {}) };
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}
