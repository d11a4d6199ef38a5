// Run the gateway's NGINX unprivileged: render nginx/templates into a temporary prefix with
// the official image's envsubst rules, check it with `nginx -t`, start it as a child process.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GATEWAY_VARIABLES, type GatewayVariable } from '../validator/config/front-variables';
import { ensureDevCerts } from './certs';
import { canConnect, findExecutable, freePort, startChild } from './process';
import { REPO_ROOT as ROOT } from './root';

/**
 * Every variable the templates use (the names are GATEWAY_VARIABLES, which the validator also knows).
 * The defaults suit a laptop; production sets them all.
 */
export const GATEWAY_DEFAULTS: Record<GatewayVariable, string> = {
  GATEWAY_LISTEN_ADDR: '127.0.0.1',
  GATEWAY_HTTPS_PORT: '8443',
  GATEWAY_HTTP_PORT: '8080',
  /** Port written in the HTTP→HTTPS redirect; defaults to GATEWAY_HTTPS_PORT. */
  GATEWAY_REDIRECT_HTTPS_PORT: '',
  /**
   * `server_name` list: the Host names served (any other gets 421 host_unknown); the first is where
   * the HTTP→HTTPS redirect points (a plain host name). Both names of the local certificate.
   */
  GATEWAY_SERVER_NAME: 'localhost 127.0.0.1',
  GATEWAY_TLS_CERT: path.join(ROOT, '.certs', 'localhost.crt'),
  GATEWAY_TLS_KEY: path.join(ROOT, '.certs', 'localhost.key'),
  /** Seconds (two years). */
  GATEWAY_HSTS_MAX_AGE: '63072000',
  /** `server host:port;` lines of the validator upstream block. */
  GATEWAY_VALIDATOR_SERVERS: 'server 127.0.0.1:3000 max_fails=1 fail_timeout=2s;',
  /** `server host:port;` lines of the application upstream block. */
  GATEWAY_APP_SERVERS: 'server 127.0.0.1:3002;',
  /** Directory served at /files/ (trailing slash required by `alias`). */
  GATEWAY_FILES_ROOT: path.join(ROOT, '.data', 'files') + '/',
  /** Regex alternation of extra public paths; the default only repeats /api/health. */
  GATEWAY_PUBLIC_PATHS: '/api/health',
  GATEWAY_RATE_PER_IP: '100r/m',
  GATEWAY_BURST_PER_IP: '20',
  GATEWAY_RATE_PER_CREDENTIAL: '300r/m',
  GATEWAY_BURST_PER_CREDENTIAL: '50',
  /** Comma list of exact origins allowed by CORS; empty = none. */
  CORS_ORIGINS: '',
  /** Relative to the prefix, or /dev/stdout. */
  GATEWAY_ACCESS_LOG: 'logs/access.log',
  /** `on`: the opt-in edge decision cache on the auth subrequest (docs/PERFORMANCE.md). */
  GATEWAY_AUTH_CACHE: 'off',
  /**
   * Client certificates (RFC 8705 certificate-bound tokens): `off`, `optional_no_ca` (any
   * certificate, self-signed included) or `optional` (only those GATEWAY_CLIENT_CA issued). Never required.
   */
  GATEWAY_MTLS: 'off',
  /** PEM file of the CA(s) whose client certificates `optional` accepts; empty = none. */
  GATEWAY_CLIENT_CA: '',
};
export type GatewayVar = keyof typeof GATEWAY_DEFAULTS;

export interface GatewayOptions {
  /** Default: findNginx(). */
  nginxPath?: string;
  /** Default: a fresh directory under os.tmpdir(), removed by stop(). */
  prefix?: string;
  /** Where GATEWAY_* and CORS_ORIGINS are read from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Explicit values; win over env and defaults. */
  vars?: Partial<Record<GatewayVar, string>>;
  /** Validator instances `host:port`, or `unix:/abs/path` for one on LISTEN_SOCKET (→ GATEWAY_VALIDATOR_SERVERS). */
  validators?: string[];
  /** Application instances `host:port` (→ GATEWAY_APP_SERVERS). */
  apps?: string[];
  /** Ports; 0 picks a free one. */
  httpsPort?: number;
  httpPort?: number;
  /** Exact origins (→ CORS_ORIGINS). */
  corsOrigins?: string[];
  /** Extra public paths: exact, or ending in `*` for a prefix (→ GATEWAY_PUBLIC_PATHS). */
  publicPaths?: string[];
  /** Milliseconds to wait for the listeners, before load scaling (startupTimeout). Default 5000. */
  startTimeoutMs?: number;
}

export interface Gateway {
  httpsUrl: string;
  httpUrl: string;
  httpsPort: number;
  httpPort: number;
  prefix: string;
  pid: number;
  /** The variables the templates were rendered with. */
  vars: Record<GatewayVar, string>;
  accessLogPath: string;
  /** NGINX's stderr (error_log) so far. */
  errorLog(): string;
  /** Parsed JSON access-log lines so far (when logging to a file under the prefix). */
  accessLog(): Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Path of the nginx binary (NGINX_BIN, then PATH, then /usr/sbin), or undefined. */
export function findNginx(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findExecutable('nginx', { env, override: 'NGINX_BIN', extraDirs: ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'] });
}

/**
 * The nginx binary, or undefined after a loud warning so that the caller skips its tests; throws
 * when `CI` is set: CI must run every gateway test, so a missing NGINX is a broken pipeline there.
 */
export function nginxOrSkip(what: string): string | undefined {
  const bin = findNginx();
  if (bin) return bin;
  const msg = `${what}: nginx not found. Install it (apt-get install nginx) or set NGINX_BIN.`;
  if (process.env.CI) throw new Error(`${msg} (CI is set, so these tests may not be skipped)`);
  console.warn(`\n*** SKIPPING ${msg} ***\n`);
  return undefined;
}

/**
 * envsubst as the official image runs it: `$NAME` and `${NAME}` are replaced when NAME is
 * in `vars`, anything else is left alone. A `${NAME}` left over is an error naming it
 * (`file` is used in the message).
 */
export function renderTemplate(text: string, vars: Record<string, string>, file = 'template'): string {
  const out = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    return Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : m;
  });
  const missing = [...new Set([...out.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]))];
  if (missing.length) throw new Error(`${file}: undefined variable(s) ${missing.map((n) => '${' + n + '}').join(', ')}`);
  return out;
}

/**
 * `server` lines for an upstream block: `["a:1", "unix:/run/v.sock"]` → `server a:1; server unix:/run/v.sock;`. `params` go on every line; for the validators we pass a short
 * `fail_timeout` so an instance that refused one connection (restarting) is skipped for 2 s, not
 * NGINX's default 10 s: with two instances restarted in turn, 10 s left none live ("no live upstreams").
 */
export function upstreamServers(addrs: string[], params = ''): string {
  // NGINX would read `unix:run/v.sock` relative to its prefix, never where the validator listens.
  const relative = addrs.find((a) => a.startsWith('unix:') && !path.isAbsolute(a.slice(5)));
  if (relative) throw new Error(`${relative}: a validator's Unix socket must be an absolute path (unix:/path)`);
  return addrs.map((a) => `server ${a}${params ? ' ' + params : ''};`).join(' ');
}

/** Passive health-check parameters for validator instances (see upstreamServers). */
export const VALIDATOR_SERVER_PARAMS = 'max_fails=1 fail_timeout=2s';

/** `["/api/docs", "/api/public/*"]` → `/api/docs|/api/public/.*` (regex metacharacters escaped). */
export function publicPathsRegex(paths: string[]): string {
  return paths
    .map((p) => {
      const prefix = p.endsWith('*');
      const lit = (prefix ? p.slice(0, -1) : p).replace(/[.+?^$()[\]{}|\\]/g, '\\$&');
      return prefix ? `${lit}.*` : lit;
    })
    .join('|');
}

/** Merge defaults ← env ← options into the template variables and check them. */
export function resolveVars(opts: GatewayOptions = {}): Record<GatewayVar, string> {
  const env = opts.env ?? process.env;
  const vars = { ...GATEWAY_DEFAULTS };
  // empty means unset, as for the validator's variables (compose passes `${NAME:-}`)
  for (const k of GATEWAY_VARIABLES) if (env[k]) vars[k] = env[k];
  if (opts.validators) vars.GATEWAY_VALIDATOR_SERVERS = upstreamServers(opts.validators, VALIDATOR_SERVER_PARAMS);
  if (opts.apps) vars.GATEWAY_APP_SERVERS = upstreamServers(opts.apps);
  if (opts.corsOrigins) vars.CORS_ORIGINS = opts.corsOrigins.join(',');
  if (opts.publicPaths) vars.GATEWAY_PUBLIC_PATHS = publicPathsRegex(opts.publicPaths);
  if (opts.httpsPort !== undefined) vars.GATEWAY_HTTPS_PORT = String(opts.httpsPort);
  if (opts.httpPort !== undefined) vars.GATEWAY_HTTP_PORT = String(opts.httpPort);
  Object.assign(vars, opts.vars);
  if (!vars.GATEWAY_REDIRECT_HTTPS_PORT) vars.GATEWAY_REDIRECT_HTTPS_PORT = vars.GATEWAY_HTTPS_PORT;
  if (!vars.GATEWAY_FILES_ROOT.endsWith('/')) vars.GATEWAY_FILES_ROOT += '/';

  const fail = (k: GatewayVar, why: string): never => {
    throw new Error(`${k}=${JSON.stringify(vars[k])}: ${why}`);
  };
  for (const k of [
    'GATEWAY_HTTPS_PORT',
    'GATEWAY_HTTP_PORT',
    'GATEWAY_REDIRECT_HTTPS_PORT',
    'GATEWAY_HSTS_MAX_AGE',
    'GATEWAY_BURST_PER_IP',
    'GATEWAY_BURST_PER_CREDENTIAL',
  ] as const) {
    if (!/^\d+$/.test(vars[k])) fail(k, 'must be a whole number');
  }
  for (const k of ['GATEWAY_RATE_PER_IP', 'GATEWAY_RATE_PER_CREDENTIAL'] as const) {
    if (!/^\d+r\/[sm]$/.test(vars[k])) fail(k, 'must look like 100r/m or 10r/s');
  }
  if (!/^(on|off)$/.test(vars.GATEWAY_AUTH_CACHE)) fail('GATEWAY_AUTH_CACHE', 'must be on or off');
  if (!/^(off|optional_no_ca|optional)$/.test(vars.GATEWAY_MTLS)) fail('GATEWAY_MTLS', 'must be off, optional_no_ca or optional');
  if (vars.GATEWAY_MTLS === 'optional' && !path.isAbsolute(vars.GATEWAY_CLIENT_CA))
    fail('GATEWAY_CLIENT_CA', 'GATEWAY_MTLS=optional needs the absolute path of the client CA certificate(s) (PEM)');
  if (vars.GATEWAY_CLIENT_CA && !path.isAbsolute(vars.GATEWAY_CLIENT_CA)) fail('GATEWAY_CLIENT_CA', 'must be an absolute path');
  // The HTTP→HTTPS redirect goes to $server_name, the first name of the list (never the client's Host).
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(vars.GATEWAY_SERVER_NAME.trim().split(/\s+/)[0] ?? '')) {
    fail('GATEWAY_SERVER_NAME', 'must start with the plain public host name (no wildcard, regex or "_"): redirects are sent there');
  }
  const origins = vars.CORS_ORIGINS.split(',').filter(Boolean);
  for (const o of origins) {
    if (!/^https?:\/\/[^\s,|/]+$/.test(o)) fail('CORS_ORIGINS', `"${o}" is not an exact origin like https://app.example.com (no "*", no path, no spaces)`);
  }
  if (!path.isAbsolute(vars.GATEWAY_FILES_ROOT)) fail('GATEWAY_FILES_ROOT', 'must be an absolute directory');
  if (!/server\s+\S+/.test(vars.GATEWAY_VALIDATOR_SERVERS)) fail('GATEWAY_VALIDATOR_SERVERS', 'needs at least one `server host:port;` or `server unix:/path;`');
  if (!/server\s+\S+/.test(vars.GATEWAY_APP_SERVERS)) fail('GATEWAY_APP_SERVERS', 'needs at least one `server host:port;`');
  return vars;
}

function templateFiles(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) return templateFiles(dir, r);
    return e.name.endsWith('.template') ? [r] : [];
  });
}

/** `nginx -V`'s configure arguments (empty when it cannot run). */
function configureArgs(nginxPath: string): string {
  try {
    return execFileSync(nginxPath, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return '';
  }
}

/** The mime.types next to the installed nginx.conf, or a small built-in list. */
function mimeTypes(configure: string): string {
  const conf = /--conf-path=(\S+)/.exec(configure)?.[1];
  try {
    if (conf) return fs.readFileSync(path.join(path.dirname(conf), 'mime.types'), 'utf8');
  } catch {
    /* fall through */
  }
  return `types { text/html html; text/plain txt; text/css css; application/javascript js; application/json json;
  image/png png; image/jpeg jpg jpeg; image/svg+xml svg; application/pdf pdf; video/mp4 mp4; }\n`;
}

/** The njs module NGINX's `load_module modules/…` line needs (in nginx.conf). */
const NJS_MODULE = 'ngx_http_js_module.so';

/**
 * The directory holding the njs module: NGINX_MODULES_PATH, else the build's --modules-path, else
 * the usual package locations. Throws with the install hint when none has it.
 */
export function findModulesDir(configure: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [
    env.NGINX_MODULES_PATH ?? process.env.NGINX_MODULES_PATH,
    /--modules-path=(\S+)/.exec(configure)?.[1],
    '/usr/lib/nginx/modules',
    '/usr/lib64/nginx/modules',
    '/usr/local/nginx/modules',
  ];
  const dir = candidates.find((d) => d && fs.existsSync(path.join(d, NJS_MODULE)));
  if (!dir)
    throw new Error(`nginx's njs module (${NJS_MODULE}) not found: install it (Debian: apt-get install libnginx-mod-http-js) or set NGINX_MODULES_PATH`);
  return dir;
}

/**
 * Write nginx.conf, mime.types, conf.d/ (rendered templates), njs/ (the njs code, copied as is: the
 * official image has it mounted at /etc/nginx/njs) and the `modules` link into `prefix`.
 */
export function renderConfig(prefix: string, vars: Record<string, string>, nginxPath: string, env: NodeJS.ProcessEnv = process.env): void {
  const templates = path.join(ROOT, 'nginx', 'templates');
  for (const d of ['conf.d', 'logs', 'temp', 'njs']) fs.mkdirSync(path.join(prefix, d), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'nginx', 'nginx.conf'), path.join(prefix, 'nginx.conf'));
  const configure = configureArgs(nginxPath);
  fs.writeFileSync(path.join(prefix, 'mime.types'), mimeTypes(configure));
  const modules = path.join(prefix, 'modules');
  fs.rmSync(modules, { force: true });
  fs.symlinkSync(findModulesDir(configure, env), modules);
  const njs = path.join(ROOT, 'nginx', 'njs');
  for (const f of fs.readdirSync(njs).filter((n) => n.endsWith('.js'))) fs.copyFileSync(path.join(njs, f), path.join(prefix, 'njs', f));
  for (const rel of templateFiles(templates)) {
    const out = path.join(prefix, 'conf.d', rel.slice(0, -'.template'.length));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, renderTemplate(fs.readFileSync(path.join(templates, rel), 'utf8'), vars, `nginx/templates/${rel}`));
  }
}

/** Render, `nginx -t`, start NGINX in the foreground as a child, and wait for both ports. */
export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const nginxPath = opts.nginxPath ?? findNginx(opts.env);
  if (!nginxPath) throw new Error('nginx not found: install it (apt-get install nginx) or set NGINX_BIN');
  const ownPrefix = !opts.prefix;
  const prefix = opts.prefix ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-nginx-'));
  // Started as root, the workers run as the build's user (nobody): they must traverse the prefix
  // to reach the cache files under temp/ (GATEWAY_AUTH_CACHE=on). mkdtemp makes it 0700.
  if (!opts.prefix) fs.chmodSync(prefix, 0o711);
  const o = { ...opts };
  if (o.httpsPort === 0) o.httpsPort = await freePort();
  if (o.httpPort === 0) o.httpPort = await freePort();
  const vars = resolveVars(o);
  renderConfig(prefix, vars, nginxPath, opts.env);

  const args = ['-p', prefix + '/', '-c', path.join(prefix, 'nginx.conf')];
  try {
    execFileSync(nginxPath, [...args, '-t', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`nginx -t failed (config in ${prefix}):\n${e.stderr?.toString() || e.message}`);
  }

  const httpsPort = Number(vars.GATEWAY_HTTPS_PORT);
  const httpPort = Number(vars.GATEWAY_HTTP_PORT);
  const host = vars.GATEWAY_LISTEN_ADDR === '0.0.0.0' ? '127.0.0.1' : vars.GATEWAY_LISTEN_ADDR;
  const accessLogPath = path.resolve(prefix, vars.GATEWAY_ACCESS_LOG);
  const child = await startChild(nginxPath, [...args, '-g', 'daemon off;'], {
    name: 'nginx',
    // SIGTERM is NGINX's fast shutdown: the master stops its workers (a SIGKILLed master leaves
    // them serving; SIGQUIT would wait for open keep-alive connections).
    deathSignal: 'TERM',
    tmpDir: ownPrefix ? prefix : undefined,
    tee: path.join(prefix, 'logs', 'error.log'),
    timeoutMs: opts.startTimeoutMs ?? 5000,
    ready: { poll: async () => ((await canConnect(host, httpsPort)) && (await canConnect(host, httpPort)) ? true : undefined) },
  });

  return {
    httpsUrl: `https://${host}:${httpsPort}`,
    httpUrl: `http://${host}:${httpPort}`,
    httpsPort,
    httpPort,
    prefix,
    pid: child.pid,
    vars,
    accessLogPath,
    errorLog: child.logs,
    accessLog: () => {
      try {
        return fs
          .readFileSync(accessLogPath, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      } catch {
        return [];
      }
    },
    stop: () => child.stop(3000),
  };
}

/** Rate limits no test or load run reaches: what is measured is the gateway, not its limiter. */
export const RATES_OUT_OF_THE_WAY = {
  GATEWAY_RATE_PER_IP: '100000r/s',
  GATEWAY_BURST_PER_IP: '100000',
  GATEWAY_RATE_PER_CREDENTIAL: '100000r/s',
  GATEWAY_BURST_PER_CREDENTIAL: '100000',
} as const;

export interface LocalGateway extends Gateway {
  /** PEM to trust for the gateway's certificate. */
  ca: Buffer;
}

/**
 * NGINX for a test or a load run, in front of `validators` and `apps`: free ports, its own
 * certificate and an empty files root in a temporary directory (removed by stop()), rate limits
 * out of the way; `opts.vars` win.
 */
export async function startLocalGateway(opts: GatewayOptions & { validators: string[]; apps: string[] }): Promise<LocalGateway> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-gw-'));
  // Started as root, NGINX's workers run as nobody: they read the certificate and files below it.
  fs.chmodSync(dir, 0o755);
  try {
    const tls = ensureDevCerts({ dir: path.join(dir, 'certs') });
    fs.mkdirSync(path.join(dir, 'files'));
    const gw = await startGateway({
      env: {},
      httpsPort: 0,
      httpPort: 0,
      ...opts,
      vars: {
        GATEWAY_TLS_CERT: tls.certFile,
        GATEWAY_TLS_KEY: tls.keyFile,
        GATEWAY_FILES_ROOT: path.join(dir, 'files') + '/',
        ...RATES_OUT_OF_THE_WAY,
        ...opts.vars,
      },
    });
    const stopNginx = gw.stop;
    return Object.assign(gw, {
      ca: fs.readFileSync(tls.certFile),
      stop: async () => {
        await stopNginx();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
