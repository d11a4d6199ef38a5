// Run the Caddy front (deploy/caddy/Caddyfile) unprivileged: the shipped file as is, its {$VAR}
// placeholders filled from the child's environment, checked with `caddy validate`, started with
// `caddy run` as a child process with HOME and XDG directories in a temporary directory, stopped by PID.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaddyVariable, GatewayVariable } from '../validator/config/front-variables';
import { GATEWAY_DEFAULTS } from './nginx';
import { canConnect, findExecutable, freePort, startChild } from './process';
import { REPO_ROOT as ROOT } from './root';

/** The shipped configuration. */
export const CADDYFILE = path.join(ROOT, 'deploy', 'caddy', 'Caddyfile');

/**
 * Every variable the Caddyfile reads. The GATEWAY_* ones mean what they mean for the NGINX template
 * (same defaults); the upstreams are space-separated `host:port` lists here, not `server …;` lines.
 */
export const CADDY_DEFAULTS = {
  GATEWAY_LISTEN_ADDR: GATEWAY_DEFAULTS.GATEWAY_LISTEN_ADDR,
  GATEWAY_HTTPS_PORT: GATEWAY_DEFAULTS.GATEWAY_HTTPS_PORT,
  GATEWAY_HTTP_PORT: GATEWAY_DEFAULTS.GATEWAY_HTTP_PORT,
  /** Port written in the HTTP→HTTPS redirect; defaults to GATEWAY_HTTPS_PORT. */
  GATEWAY_REDIRECT_HTTPS_PORT: '',
  /** Host name written in the HTTP→HTTPS redirect (never the client's Host), and served over HTTPS. */
  GATEWAY_SERVER_NAME: GATEWAY_DEFAULTS.GATEWAY_SERVER_NAME.split(' ')[0]!,
  /** Further Host names served over HTTPS, separated by spaces (any other gets 421 host_unknown). */
  CADDY_SERVER_ALIASES: GATEWAY_DEFAULTS.GATEWAY_SERVER_NAME.split(' ').slice(1).join(' '),
  GATEWAY_TLS_CERT: GATEWAY_DEFAULTS.GATEWAY_TLS_CERT,
  GATEWAY_TLS_KEY: GATEWAY_DEFAULTS.GATEWAY_TLS_KEY,
  /** Seconds (two years). */
  GATEWAY_HSTS_MAX_AGE: GATEWAY_DEFAULTS.GATEWAY_HSTS_MAX_AGE,
  /** off, optional_no_ca or optional (as the NGINX template's): client certificates for bound tokens. */
  GATEWAY_MTLS: GATEWAY_DEFAULTS.GATEWAY_MTLS,
  /** Absolute path of the client CA (PEM), for GATEWAY_MTLS=optional. */
  GATEWAY_CLIENT_CA: GATEWAY_DEFAULTS.GATEWAY_CLIENT_CA,
  /** Validator instances, `host:port` separated by spaces (AUTH_FRONT=forwarded). */
  CADDY_VALIDATORS: '127.0.0.1:3000',
  /** Application instances, `host:port` separated by spaces. */
  CADDY_APPS: '127.0.0.1:3002',
} satisfies Record<CaddyVariable, string> & Partial<Record<GatewayVariable, string>>;
export type CaddyVar = keyof typeof CADDY_DEFAULTS;

export interface CaddyOptions {
  /** Default: findCaddy(). */
  caddyPath?: string;
  /** The Caddyfile to run. Default: deploy/caddy/Caddyfile. */
  caddyfile?: string;
  /** Where GATEWAY_* and CADDY_* are read from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Explicit values; win over env and defaults. */
  vars?: Partial<Record<CaddyVar, string>>;
  /** Validator instances `host:port` (→ CADDY_VALIDATORS). */
  validators?: string[];
  /** Application instances `host:port` (→ CADDY_APPS). */
  apps?: string[];
  /** Ports; 0 picks a free one. */
  httpsPort?: number;
  httpPort?: number;
  /** Milliseconds to wait for the listeners, before load scaling (startupTimeout). Default 5000. */
  startTimeoutMs?: number;
}

export interface CaddyGateway {
  httpsUrl: string;
  httpUrl: string;
  httpsPort: number;
  httpPort: number;
  /** The temporary directory: Caddyfile, caddy.json (adapted, for reading), HOME/XDG dirs. */
  dir: string;
  pid: number;
  /** The variables Caddy ran with. */
  vars: Record<CaddyVar, string>;
  /** Caddy's stderr (its JSON log) so far. */
  logs(): string;
  /** SIGTERM, SIGKILL after 3 s; removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

/** Path of the caddy binary (CADDY_BIN, then PATH, then /usr/bin), or undefined. */
export function findCaddy(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findExecutable('caddy', { env, override: 'CADDY_BIN', extraDirs: ['/usr/bin', '/usr/local/bin'] });
}

const HOST_PORT = /^[A-Za-z0-9.[\]:-]+:\d{1,5}$/;

/** Merge defaults ← env ← options into the Caddyfile's variables and check them. */
export function resolveCaddyVars(opts: CaddyOptions = {}): Record<CaddyVar, string> {
  const env = opts.env ?? process.env;
  const vars = { ...CADDY_DEFAULTS };
  // empty means unset, as for the validator's variables
  for (const k of Object.keys(vars) as CaddyVar[]) if (env[k]) vars[k] = env[k];
  if (opts.validators) vars.CADDY_VALIDATORS = opts.validators.join(' ');
  if (opts.apps) vars.CADDY_APPS = opts.apps.join(' ');
  if (opts.httpsPort !== undefined) vars.GATEWAY_HTTPS_PORT = String(opts.httpsPort);
  if (opts.httpPort !== undefined) vars.GATEWAY_HTTP_PORT = String(opts.httpPort);
  Object.assign(vars, opts.vars);
  if (!vars.GATEWAY_REDIRECT_HTTPS_PORT) vars.GATEWAY_REDIRECT_HTTPS_PORT = vars.GATEWAY_HTTPS_PORT;

  const fail = (k: CaddyVar, why: string): never => {
    throw new Error(`${k}=${JSON.stringify(vars[k])}: ${why}`);
  };
  for (const k of ['GATEWAY_HTTPS_PORT', 'GATEWAY_HTTP_PORT', 'GATEWAY_REDIRECT_HTTPS_PORT', 'GATEWAY_HSTS_MAX_AGE'] as const) {
    if (!/^\d+$/.test(vars[k])) fail(k, 'must be a whole number');
  }
  // Caddy substitutes {$VAR} before parsing: a value with a space, brace or quote would change the file.
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(vars.GATEWAY_SERVER_NAME))
    fail('GATEWAY_SERVER_NAME', 'must be a plain host name: redirects are sent there');
  if (!vars.CADDY_SERVER_ALIASES.split(' ').every((n) => n === '' || /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(n)))
    fail('CADDY_SERVER_ALIASES', 'must be plain host names separated by spaces');
  for (const k of ['GATEWAY_TLS_CERT', 'GATEWAY_TLS_KEY'] as const) {
    if (!path.isAbsolute(vars[k]) || /[\s{}"`]/.test(vars[k])) fail(k, 'must be an absolute path without spaces, braces or quotes');
  }
  if (!/^(off|optional_no_ca|optional)$/.test(vars.GATEWAY_MTLS)) fail('GATEWAY_MTLS', 'must be off, optional_no_ca or optional');
  if (vars.GATEWAY_MTLS === 'optional' && (!path.isAbsolute(vars.GATEWAY_CLIENT_CA) || /[\s{}"`]/.test(vars.GATEWAY_CLIENT_CA)))
    fail('GATEWAY_CLIENT_CA', 'GATEWAY_MTLS=optional needs the absolute path of the client CA certificate(s) (PEM), without spaces, braces or quotes');
  for (const k of ['CADDY_VALIDATORS', 'CADDY_APPS'] as const) {
    const list = vars[k].trim().split(/\s+/).filter(Boolean);
    if (!list.length || !list.every((a) => HOST_PORT.test(a))) fail(k, 'must be one or more host:port separated by spaces');
  }
  return vars;
}

/** The child's environment: only PATH, the variables, and HOME/XDG inside `dir` (Caddy writes autosave.json there). */
function childEnv(dir: string, vars: Record<CaddyVar, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_DATA_HOME: path.join(dir, 'data'),
    ...vars,
  };
}

/** Copy the Caddyfile into a temporary directory, adapt it (caddy.json), `caddy validate`, `caddy run`; wait for both ports. */
export async function startCaddy(opts: CaddyOptions = {}): Promise<CaddyGateway> {
  const caddyPath = opts.caddyPath ?? findCaddy(opts.env);
  if (!caddyPath) throw new Error('caddy not found: install it (apt-get install caddy) or set CADDY_BIN');
  const o = { ...opts };
  if (o.httpsPort === 0) o.httpsPort = await freePort();
  if (o.httpPort === 0) o.httpPort = await freePort();
  const vars = resolveCaddyVars(o);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-caddy-'));
  const caddyfile = path.join(dir, 'Caddyfile');
  fs.copyFileSync(opts.caddyfile ?? CADDYFILE, caddyfile);
  const env = childEnv(dir, vars);
  const config = ['--config', caddyfile, '--adapter', 'caddyfile'];
  try {
    const json = execFileSync(caddyPath, ['adapt', ...config], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    fs.writeFileSync(path.join(dir, 'caddy.json'), json);
    execFileSync(caddyPath, ['validate', ...config], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer | string; message: string };
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`caddy adapt/validate failed:\n${e.stderr?.toString() || e.message}`);
  }

  const httpsPort = Number(vars.GATEWAY_HTTPS_PORT);
  const httpPort = Number(vars.GATEWAY_HTTP_PORT);
  const host = vars.GATEWAY_LISTEN_ADDR === '0.0.0.0' ? '127.0.0.1' : vars.GATEWAY_LISTEN_ADDR;
  const child = await startChild(caddyPath, ['run', ...config], {
    name: 'caddy',
    cwd: dir,
    env,
    tmpDir: dir,
    timeoutMs: opts.startTimeoutMs ?? 5000,
    ready: { poll: async () => ((await canConnect(host, httpsPort)) && (await canConnect(host, httpPort)) ? true : undefined) },
  });

  return {
    httpsUrl: `https://${host}:${httpsPort}`,
    httpUrl: `http://${host}:${httpPort}`,
    httpsPort,
    httpPort,
    dir,
    pid: child.pid,
    vars,
    logs: child.logs,
    stop: () => child.stop(3000),
  };
}

// CLI (`node dist/devkit/caddy.js`): the Caddyfile with GATEWAY_* / CADDY_* from the environment
// (defaults above) until SIGINT/SIGTERM. Production runs `caddy run --config deploy/caddy/Caddyfile`.
if (require.main === module) {
  startCaddy().then(
    (gw) => {
      console.log(JSON.stringify({ msg: 'listening', service: 'caddy', https: gw.httpsUrl, http: gw.httpUrl, pid: gw.pid }));
      const stop = (): void => void gw.stop().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: Error) => {
      console.error(`caddy: ${err.message}`);
      process.exit(1);
    },
  );
}
