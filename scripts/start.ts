// `npm start`: the whole gateway on one machine with nothing else installed: the development IdP,
// the validator on the embedded Postgres, a demo upstream, and NGINX in front when it is installed.
// Honours the production variables, so AUTH_MODE/AUTH_ISSUER can point at a real Keycloak or Supabase.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadDotenv } from '../validator/config/env';
import { ConfigError } from '../validator/errors';
import { startValidator, type RunningValidator } from '../validator/server';
import { ensureDevCerts } from './certs';
import { startDemoUpstream, type DemoUpstream } from './demo-upstream';
import { findNginx, startGateway, type Gateway } from './nginx';

const ROOT = path.resolve(__dirname, '..', '..');
const say = (s = '') => process.stdout.write(s + '\n');
const loud = (s: string) => process.stderr.write(`\n\x1b[33m*** ${s}\x1b[0m\n\n`);

interface DevIdpProcess {
  issuer: string;
  tokenUrl: string;
  child: ChildProcess;
}

/** Runs the development IdP as its own process (it is not part of the validator) and waits for its ready line. */
function startDevIdp(env: NodeJS.ProcessEnv): Promise<DevIdpProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'keycloak', 'dev-idp', 'main.js')], {
    env: { ...env, DEV_IDP_PORT: env.DEV_IDP_PORT || '8180' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const ready = JSON.parse(line);
        if (ready.event === 'ready') resolve({ issuer: ready.issuer, tokenUrl: ready.tokenUrl, child });
      } catch {
        /* not the ready line */
      }
    });
    child.once('exit', (code) => reject(new Error(`the development IdP exited with code ${code} (is DEV_IDP_PORT=${env.DEV_IDP_PORT || 8180} free?)`)));
  });
}

async function main(): Promise<void> {
  const env = loadDotenv();
  if (env.NODE_ENV === 'production') {
    throw new ConfigError('NODE_ENV', 'npm start runs the development stack; in production run `npm run validator` behind your NGINX');
  }
  // empty means unset, as for every variable (`cp .env.example .env` leaves many empty)
  env.NODE_ENV ||= 'development';
  const stops: Array<() => Promise<unknown> | void> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    let tokenUrl: string | undefined;
    if (!env.AUTH_MODE) {
      const idp = await startDevIdp(env);
      stops.push(() => void idp.child.kill('SIGTERM'));
      Object.assign(env, { AUTH_MODE: 'jwks', AUTH_ISSUER: idp.issuer, AUTH_AUDIENCE: 'wavestack' });
      env.AUTH_ROUTE_RULES ||= JSON.stringify({ 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] });
      tokenUrl = idp.tokenUrl;
      say(`development IdP  ${idp.issuer}  (client gateway / ${env.DEV_IDP_CLIENT_SECRET || 'gateway-dev-secret'})`);
    } else {
      say(`using AUTH_MODE=${env.AUTH_MODE} from the environment (no development IdP)`);
    }

    const validator: RunningValidator = await startValidator(env);
    stops.push(() => validator.close());
    const vUrl = `http://127.0.0.1:${validator.port}`;
    say(`validator        ${vUrl}  (store: ${validator.store.kind}, ${validator.config.database.url ? 'DATABASE_URL' : validator.config.database.dataDir})`);

    const upstream: DemoUpstream = await startDemoUpstream({ port: Number(env.DEMO_UPSTREAM_PORT || 3002) });
    stops.push(() => upstream.stop());
    say(`demo upstream    ${upstream.url}`);

    let gateway: Gateway | undefined;
    if (findNginx(env)) {
      const certs = ensureDevCerts({ dir: path.join(ROOT, '.certs') });
      gateway = await startGateway({
        env,
        validators: [`127.0.0.1:${validator.port}`],
        apps: [`127.0.0.1:${upstream.port}`],
        vars: { GATEWAY_TLS_CERT: certs.certFile, GATEWAY_TLS_KEY: certs.keyFile },
      });
      stops.push(() => gateway!.stop());
      say(`gateway (NGINX)  ${gateway.httpsUrl}  and ${gateway.httpUrl} → HTTPS`);
    } else {
      loud('NGINX is not installed: the gateway part is OFF. Install it with `sudo apt-get install nginx` (Debian/Ubuntu) and run npm start again. The validator, IdP and upstream run without it.');
    }

    say('\nTry it:');
    const tokenCmd = tokenUrl
      ? `TOKEN=$(curl -s ${tokenUrl} -d grant_type=client_credentials -d client_id=gateway -d client_secret=${env.DEV_IDP_CLIENT_SECRET || 'gateway-dev-secret'} | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`
      : 'TOKEN=<an access token from your IdP>';
    say(`  ${tokenCmd}`);
    if (gateway) {
      const k = `curl -sk`;
      say(`  ${k} -i ${gateway.httpsUrl}/api/things                                      # 401 + WWW-Authenticate`);
      say(`  ${k} ${gateway.httpsUrl}/api/things -H "Authorization: Bearer $TOKEN"          # 200, the upstream echoes X-User-Id`);
      say(`  ${k} -i -X POST ${gateway.httpsUrl}/api/tasks -H "Authorization: Bearer $TOKEN" -H 'X-Max-Ticks: 4'   # charged: X-Ticks-Remaining`);
    }
    say(`  curl -si ${vUrl}/api/auth/validate -H 'X-Original-Method: GET' -H 'X-Original-URI: /api/things'   # the validator alone, no token: 401`);
    say(`  curl -si ${vUrl}/api/auth/validate -H "Authorization: Bearer $TOKEN" -H 'X-Original-Method: GET' -H 'X-Original-URI: /api/things'   # 200 + X-User-Id`);
    say(`  curl -s ${vUrl}/api/ready ; curl -s ${vUrl}/metrics | grep tollgate_`);
    say('\nCtrl-C stops everything.');
  } catch (e) {
    await stopAll();
    throw e;
  }
}

main().catch((e) => {
  process.stderr.write(`tollgate: ${e instanceof ConfigError ? 'configuration error: ' : ''}${(e as Error).message}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
