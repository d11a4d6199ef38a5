// The whole gateway for end-to-end tests: dev IdP + validator (or the stub), demo upstream,
// and the real NGINX on HTTPS, each on a free 127.0.0.1 port; every log kept for failures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDevCerts, type CertPair } from '../../devkit/certs';
import { startDemoUpstream, type DemoUpstream } from '../../devkit/demo-upstream';
import { DEV_IDP_JS, startDevIdp } from '../../devkit/dev-idp';
import { startGateway, type Gateway, type GatewayOptions } from '../../devkit/nginx';
import { spawnValidator, VALIDATOR_JS } from '../../devkit/validator';
import { startStubValidator } from '../e2e/stub-validator';

export const CLIENTS = {
  gateway: { id: 'gateway', secret: 'gateway-dev-secret', scopes: ['api:read', 'api:write'] },
  reader: { id: 'reader', secret: 'reader-dev-secret', scopes: ['api:read'] },
} as const;
export type ClientName = keyof typeof CLIENTS;

/** The route rule the e2e tests exercise: DELETE /api/admin needs a scope nobody has. */
export const ROUTE_RULES = [{ method: 'DELETE', path: '/api/admin', scopes: ['api:admin'] }];

export interface StackOptions {
  /** `real`: dist/validator + dev IdP (needs `npm run build`); `stub`: test/e2e/stub-validator.
   * Default: real when both are built, unless TOLLGATE_E2E_STUB=1. */
  mode?: 'real' | 'stub';
  /** Daily ticks of every new quota profile. Default 10. */
  dailyTicks?: number;
  /** Extra gateway options for the main gateway. */
  gateway?: GatewayOptions;
}

export interface Stack {
  mode: 'real' | 'stub';
  /** The main gateway (rate limits high enough not to disturb the tests). */
  gateway: Gateway;
  upstream: DemoUpstream;
  tls: CertPair;
  /** PEM to trust for the gateway's certificate. */
  ca: Buffer;
  validatorUrl: string;
  tokenUrl: string;
  /** Directory served at /files/ (hello.txt, sub/inner.txt, link.txt → ../secret.txt). */
  filesRoot: string;
  token(client?: ClientName): Promise<string>;
  /** Another NGINX on the same certificates, files and upstream; stopped with the stack. */
  extraGateway(opts: GatewayOptions): Promise<Gateway>;
  /** Every process's output so far. */
  logs(): string;
  /** Run `fn`; if it throws, print every log first (jest shows only the assertion). */
  withLogs<T>(fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export function defaultMode(): 'real' | 'stub' {
  if (process.env.TOLLGATE_E2E_STUB === '1') return 'stub';
  return fs.existsSync(VALIDATOR_JS) && fs.existsSync(DEV_IDP_JS) ? 'real' : 'stub';
}

function makeFiles(root: string): string {
  const files = path.join(root, 'files');
  fs.mkdirSync(path.join(files, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(files, 'hello.txt'), 'hello from /files\n');
  fs.writeFileSync(path.join(files, 'sub', 'inner.txt'), 'inner\n');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'outside the files root\n');
  fs.symlinkSync(path.join(root, 'secret.txt'), path.join(files, 'link.txt'));
  return files + '/';
}

/** Start everything. Always call stop(), also when a test failed. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const mode = opts.mode ?? defaultMode();
  const dailyTicks = opts.dailyTicks ?? 10;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-e2e-'));
  // Started as root, NGINX's workers run as the build's default user (nobody on Debian):
  // they must be able to read the files root below this 0700 directory.
  fs.chmodSync(root, 0o755);
  const stops: (() => Promise<void>)[] = [];
  const logSources: [string, () => string][] = [];
  const gateways: Gateway[] = [];

  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
    fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    const tls = ensureDevCerts({ dir: path.join(root, 'certs') });
    const filesRoot = makeFiles(root);
    const upstream = await startDemoUpstream();
    stops.push(() => upstream.stop());

    let validatorUrl: string;
    let tokenUrl: string;
    let token: (client?: ClientName) => Promise<string>;
    if (mode === 'real') {
      const idp = await startDevIdp();
      stops.push(() => idp.stop());
      logSources.push(['dev IdP', () => idp.logs()]);
      const v = await spawnValidator({
        NODE_ENV: 'development',
        LOG_LEVEL: 'info',
        AUTH_MODE: 'jwks',
        AUTH_ISSUER: idp.issuer,
        AUTH_AUDIENCE: 'wavestack',
        AUTH_ROUTE_RULES: JSON.stringify(ROUTE_RULES),
        QUOTA_ROUTES: 'POST /api/tasks',
        QUOTA_DEFAULT_DAILY_TICKS: String(dailyTicks),
        DATA_DIR: 'memory://',
      });
      stops.push(() => v.stop());
      logSources.push(['validator', () => v.logs()]);
      validatorUrl = v.url;
      tokenUrl = idp.tokenUrl;
      token = (c = 'gateway') => idp.token(CLIENTS[c].id, CLIENTS[c].secret);
    } else {
      const stub = await startStubValidator({
        clients: Object.fromEntries(Object.values(CLIENTS).map((c) => [c.id, { secret: c.secret, scopes: [...c.scopes] }])),
        routeRules: ROUTE_RULES,
        quotaRoutes: ['POST /api/tasks'],
        dailyTicks,
      });
      stops.push(() => stub.stop());
      validatorUrl = stub.url;
      tokenUrl = stub.tokenUrl;
      token = async (c = 'gateway') => {
        const res = await fetch(stub.tokenUrl, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENTS[c].id, client_secret: CLIENTS[c].secret }),
        });
        return ((await res.json()) as { access_token: string }).access_token;
      };
    }

    const extraGateway = async (g: GatewayOptions): Promise<Gateway> => {
      const gw = await startGateway({
        env: {},
        httpsPort: 0,
        httpPort: 0,
        validators: [new URL(validatorUrl).host],
        apps: [new URL(upstream.url).host],
        ...g,
        vars: { GATEWAY_TLS_CERT: tls.certFile, GATEWAY_TLS_KEY: tls.keyFile, GATEWAY_FILES_ROOT: filesRoot, ...g.vars },
      });
      stops.push(() => gw.stop());
      gateways.push(gw);
      logSources.push([`nginx ${gw.httpsPort} error log`, () => gw.errorLog()]);
      logSources.push([`nginx ${gw.httpsPort} access log`, () => (fs.existsSync(gw.accessLogPath) ? fs.readFileSync(gw.accessLogPath, 'utf8') : '')]);
      return gw;
    };

    const gateway = await extraGateway({
      corsOrigins: ['https://app.example.com'],
      ...opts.gateway,
      vars: {
        GATEWAY_RATE_PER_IP: '1000r/s',
        GATEWAY_BURST_PER_IP: '1000',
        GATEWAY_RATE_PER_CREDENTIAL: '1000r/s',
        GATEWAY_BURST_PER_CREDENTIAL: '1000',
        ...opts.gateway?.vars,
      },
    });

    const logs = (): string => logSources.map(([name, get]) => `----- ${name} -----\n${get()}`).join('\n');
    return {
      mode,
      gateway,
      upstream,
      tls,
      ca: fs.readFileSync(tls.certFile),
      validatorUrl,
      tokenUrl,
      filesRoot,
      token,
      extraGateway,
      logs,
      withLogs: async (fn) => {
        try {
          return await fn();
        } catch (err) {
          console.error(`e2e failure (${mode} validator); logs:\n${logs()}`);
          throw err;
        }
      },
      stop,
    };
  } catch (err) {
    const logs = logSources.map(([name, get]) => `----- ${name} -----\n${get()}`).join('\n');
    await stop();
    if (logs) (err as Error).message += `\n${logs}`;
    throw err;
  }
}
