// `npm start`: the whole gateway on one machine with nothing else installed: the development IdP,
// the validator on the embedded Postgres, a demo upstream, and NGINX in front when it is installed.
// Honours the production variables, so AUTH_MODE/AUTH_ISSUER can point at a real Keycloak or Supabase.
import path from 'node:path';
import { ensureDevCerts } from '../devkit/certs';
import { startDemoUpstream, type DemoUpstream } from '../devkit/demo-upstream';
import { startDevIdp } from '../devkit/dev-idp';
import { findNginx, startGateway, type Gateway } from '../devkit/nginx';
import { REPO_ROOT as ROOT } from '../devkit/root';
import { loadDotenv } from '../validator/config/env';
import { ConfigError } from '../validator/errors';
import { startValidator, type RunningValidator } from '../validator/server';

const say = (s = '') => process.stdout.write(s + '\n');
const loud = (s: string) => process.stderr.write(`\n\x1b[33m*** ${s}\x1b[0m\n\n`);

/** How long one step of the stop sequence may take before the next one starts. */
const STOP_STEP_MS = 5_000;
/** How long the whole stop sequence may take; then the process exits anyway (its children die with it). */
const STOP_DEADLINE_MS = 15_000;
/** A signal this soon after the first is the same Ctrl-C delivered twice (a wrapper forwarding it), not a second one. */
const SAME_SIGNAL_MS = 250;

type Stop = [what: string, stop: () => Promise<unknown>];

/** Runs the stops in reverse order of start, none for longer than STOP_STEP_MS. */
async function stopAll(stops: Stop[]): Promise<void> {
  for (const [what, stop] of stops.splice(0).reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_STEP_MS)));
    const outcome = await Promise.race([stop().catch(() => undefined), late]);
    clearTimeout(timer);
    if (outcome === 'late') process.stderr.write(`stopping the ${what} took over ${STOP_STEP_MS} ms; going on\n`);
  }
}

/**
 * Ctrl-C in a terminal signals its whole foreground process group at once: npm, this process, the
 * dev IdP and NGINX. The children may be gone before the stop sequence reaches them; their stops
 * then return at once (devkit's stop never waits for an exit that already happened). The sequence
 * is bounded; a second Ctrl-C exits at once, and the children die with this process (their death
 * signal) or are swept on exit.
 */
function stopOnSignals(stops: Stop[]): void {
  let first = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (first) {
      if (Date.now() - first < SAME_SIGNAL_MS) return;
      process.stderr.write(`\n${signal} again: exiting now\n`);
      process.exit(130);
    }
    first = Date.now();
    say(`\n${signal}: stopping (Ctrl-C again exits at once)`);
    setTimeout(() => {
      process.stderr.write(`the stop sequence took over ${STOP_DEADLINE_MS} ms: exiting\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    void stopAll(stops).then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(): Promise<void> {
  const env = loadDotenv();
  if (env.NODE_ENV === 'production') {
    throw new ConfigError('NODE_ENV', 'npm start runs the development stack; in production run `npm run validator` behind your NGINX');
  }
  // empty means unset, as for every variable (`cp .env.example .env` leaves many empty)
  env.NODE_ENV ||= 'development';
  const stops: Stop[] = [];
  stopOnSignals(stops);

  try {
    let tokenUrl: string | undefined;
    // What npm start set itself (not in .env): `tollgate explain` needs it to judge as this validator does.
    let setHere = '';
    if (!env.AUTH_MODE) {
      const port = env.DEV_IDP_PORT || '8180';
      const idp = await startDevIdp({ port, env }).catch((e: Error) => {
        throw new Error(`${e.message}\n(is DEV_IDP_PORT=${port} free?)`);
      });
      stops.push(['development IdP', () => idp.stop()]);
      Object.assign(env, { AUTH_MODE: 'jwks', AUTH_ISSUER: idp.issuer, AUTH_AUDIENCE: 'wavestack' });
      env.AUTH_ROUTE_RULES ||= JSON.stringify({ 'POST /api/': ['api:write'], 'GET /api/': ['api:read'] });
      tokenUrl = idp.tokenUrl;
      setHere = `AUTH_MODE=jwks AUTH_ISSUER=${idp.issuer} AUTH_AUDIENCE=wavestack AUTH_ROUTE_RULES='${env.AUTH_ROUTE_RULES}' `;
      say(`development IdP  ${idp.issuer}  (client gateway / ${env.DEV_IDP_CLIENT_SECRET || 'gateway-dev-secret'})`);
    } else {
      say(`using AUTH_MODE=${env.AUTH_MODE} from the environment (no development IdP)`);
    }

    const validator: RunningValidator = await startValidator(env);
    stops.push(['validator', () => validator.close()]);
    const vUrl = `http://127.0.0.1:${validator.port}`;
    say(`validator        ${vUrl}  (store: ${validator.store.kind}, ${validator.config.database.url ? 'DATABASE_URL' : validator.config.database.dataDir})`);

    const upstream: DemoUpstream = await startDemoUpstream({ port: Number(env.DEMO_UPSTREAM_PORT || 3002) });
    stops.push(['demo upstream', () => upstream.stop()]);
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
      stops.push(['gateway', () => gateway!.stop()]);
      say(`gateway (NGINX)  ${gateway.httpsUrl}  and ${gateway.httpUrl} → HTTPS`);
    } else {
      loud(
        'NGINX is not installed: the gateway part is OFF. Install it with `sudo apt-get install nginx` (Debian/Ubuntu) and run npm start again. The validator, IdP and upstream run without it.',
      );
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
    say(
      `  curl -si ${vUrl}/api/auth/validate -H "Authorization: Bearer $TOKEN" -H 'X-Original-Method: GET' -H 'X-Original-URI: /api/things'   # 200 + X-User-Id`,
    );
    say(`  curl -s ${vUrl}/api/ready ; curl -s ${vUrl}/metrics | grep tollgate_`);
    say(`  ${setHere}npx tollgate explain "$TOKEN" --method GET --uri /api/things   # why granted or refused, stage by stage`);
    say('\nCtrl-C stops everything.');
  } catch (e) {
    await stopAll(stops);
    throw e;
  }
}

main().catch((e) => {
  process.stderr.write(`tollgate: ${e instanceof ConfigError ? 'configuration error: ' : ''}${(e as Error).message}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
