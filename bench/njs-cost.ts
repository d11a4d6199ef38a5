// What the template's njs costs per request. Two NGINX side by side on the same upstream and the
// same auth stub, HTTPS, rounds interleaved: one rendered from nginx/templates as shipped, one
// rendered the same way and then edited so that no njs runs (see WITHOUT_NJS: every `js_set`
// becomes a constant `map`, `js_import` is dropped). Two paths through each: a public path
// (/api/public/*, no auth: the server-level edge refusal check and the access log's redacted URI
// still run njs) and /api/things through auth_request to NGINX answering `return 200` with a
// grant's headers (the subrequest adds the client-certificate thumbprint), so no validator's cost
// hides the gateway's. Reports req/s (template ÷ without njs) and the front NGINX workers' CPU per request.
// NJS_KEEP=tollgate_log_uri,… keeps those js_set hooks in the second NGINX (to tell which hook costs what);
// NJS_NOP=1 keeps every hook but points each at an empty function (njs's own per-request cost, no work).
//   node dist/bench/njs-cost.js [seconds per round = 4] [rounds = 3] [connections = 50]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { ensureDevCerts } from '../devkit/certs';
import { findNginx, RATES_OUT_OF_THE_WAY, renderConfig, resolveVars } from '../devkit/nginx';
import { childrenOf, cpuMsOf } from '../devkit/proc';
import { canConnect, freePort, startChild, type Started } from '../devkit/process';
import { loadAvg, median, rotated, say, startNginxStub } from './harness';
import { runLoad } from './load';

/**
 * The constant each njs variable becomes without njs: what it evaluates to for the bench's requests
 * (no refusal, no client certificate), except the log URI (`$uri`, unredacted) and the edge cache
 * key (unhashed; the cache is off here, so it is never read). A `js_set` not listed stops the run:
 * the template changed and this table must follow.
 */
const WITHOUT_NJS: Record<string, string> = {
  tollgate_edge_refusal: '""',
  tollgate_forbidden_header: '""',
  tollgate_log_uri: '$uri',
  tollgate_auth_cache_key: '"$request_method $request_uri $http_authorization"',
  tollgate_client_cert_s256_njs: '""',
};

/**
 * The rendered site without njs: each `js_set $v f;` replaced by `map "" $v { default CONST; }`
 * and `js_import` removed, except the hooks named in `keep` (and then the import).
 */
export function withoutNjs(conf: string, keep: readonly string[] = []): string {
  let out = conf.replace(/^\s*js_set\s+\$(\w+)\s+[\w.]+;/gm, (line, name: string) => {
    if (keep.includes(name)) return line;
    const value = WITHOUT_NJS[name];
    if (value === undefined) throw new Error(`njs-cost: no constant for ${line.trim()} (add it to WITHOUT_NJS)`);
    return `map "" $${name} { default ${value}; } # was: ${line.trim()}`;
  });
  if (keep.length === 0) out = out.replace(/^\s*js_import\s[^;]*;/gm, '# js_import removed by bench/njs-cost.ts');
  const left = /^\s*js_(?!set|import)\w+.*$/m.exec(out) ?? (keep.length ? null : /^\s*js_\w+.*$/m.exec(out));
  if (left) throw new Error(`njs-cost: an njs directive is left: ${left[0].trim()}`);
  return out;
}

/** Every hook kept, each calling an empty function of a one-line module written beside the real one. */
function nopNjs(conf: string, prefix: string): string {
  const fns = [...conf.matchAll(/^\s*js_set\s+\$\w+\s+tollgate\.(\w+);/gm)].map((m) => m[1]!);
  fs.writeFileSync(path.join(prefix, 'njs', 'nop.js'), `function nop(r) { return ''; }\nexport default { ${fns.map((f) => `${f}: nop`).join(', ')} };\n`);
  return conf.replace(/^(\s*js_import\s+tollgate\s+from\s+)njs\/tollgate\.js;/m, '$1njs/nop.js;');
}

interface Front {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The gateway as devkit renders it (prefix under `dir`), optionally edited, checked with `nginx -t` and started. */
async function front(
  nginx: string,
  dir: string,
  name: string,
  opts: { stub: number; upstream: number; tls: { certFile: string; keyFile: string } },
  edit?: (c: string, prefix: string) => string,
): Promise<Front> {
  const prefix = fs.mkdtempSync(path.join(dir, `${name}-`));
  fs.chmodSync(prefix, 0o711);
  fs.mkdirSync(path.join(prefix, 'files'));
  const vars = resolveVars({
    env: {},
    validators: [`127.0.0.1:${opts.stub}`],
    apps: [`127.0.0.1:${opts.upstream}`],
    httpsPort: await freePort(),
    httpPort: await freePort(),
    publicPaths: ['/api/public/*'],
    vars: {
      GATEWAY_TLS_CERT: opts.tls.certFile,
      GATEWAY_TLS_KEY: opts.tls.keyFile,
      GATEWAY_FILES_ROOT: path.join(prefix, 'files') + '/',
      ...RATES_OUT_OF_THE_WAY,
    },
  });
  renderConfig(prefix, vars, nginx);
  const site = path.join(prefix, 'conf.d', 'tollgate.conf');
  if (edit) fs.writeFileSync(site, edit(fs.readFileSync(site, 'utf8'), prefix));
  const args = ['-p', prefix + '/', '-c', path.join(prefix, 'nginx.conf')];
  execFileSync(nginx, [...args, '-t', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = Number(vars.GATEWAY_HTTPS_PORT);
  const c = await startChild(nginx, [...args, '-g', 'daemon off;'], {
    name,
    deathSignal: 'TERM',
    logFile: path.join(prefix, 'error.log'),
    ready: { poll: async () => ((await canConnect('127.0.0.1', port)) ? true : undefined) },
  });
  return { name, url: `https://127.0.0.1:${port}`, pid: c.pid, stop: () => c.stop(3000) };
}

/** One NGINX: `return 200` with a grant's headers to every request (the auth stub), and 200 "ok" as the upstream app. */
async function backend(nginx: string, dir: string): Promise<Started<boolean> & { stub: number; upstream: number }> {
  const [stub, upstream] = [await freePort(), await freePort()];
  const c = await startNginxStub(nginx, dir, { name: 'backend', port: stub, upstreamPort: upstream });
  return Object.assign(c, { stub, upstream });
}

/** Status of one GET (the certificate is the bench's own, so it is not verified). */
const statusOf = (url: string) =>
  new Promise<number>((resolve, reject) =>
    https.get(url, { rejectUnauthorized: false }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject),
  );

async function main(): Promise<void> {
  const [seconds = 4, rounds = 3, connections = 50] = process.argv.slice(2).map(Number);
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-njs-cost-'));
  // Started as root, NGINX's workers run as nobody: they traverse this directory to the certificate.
  fs.chmodSync(dir, 0o755);
  const stops: Array<() => Promise<void>> = [];
  try {
    const tls = ensureDevCerts({ dir: path.join(dir, 'certs') });
    const b = await backend(nginx, dir);
    stops.push(() => b.stop());
    const withNjs = await front(nginx, dir, 'template', { ...b, tls });
    stops.push(withNjs.stop);
    const keep = (process.env.NJS_KEEP ?? '').split(',').filter(Boolean);
    const nop = process.env.NJS_NOP === '1';
    const without = nop ? 'njs hooks that do nothing' : keep.length ? `only ${keep.join(', ')}` : 'without njs';
    const noNjs = await front(nginx, dir, 'without-njs', { ...b, tls }, (c, prefix) => (nop ? nopNjs(c, prefix) : withoutNjs(c, keep)));
    stops.push(noNjs.stop);
    // njs really runs in one and not the other: a token in the URI is refused at the edge only by njs
    const probe = '/api/public/things?access_token=x';
    const [a, c] = [await statusOf(withNjs.url + probe), await statusOf(noNjs.url + probe)];
    if (a !== 400 || (c !== 200 && !keep.includes('tollgate_edge_refusal') && !nop))
      throw new Error(`njs-cost: ${probe} answered ${a} (template, expected 400) and ${c} (without njs, expected 200)`);

    const auth = { authorization: 'Bearer bench.token.value' };
    const cases = [
      { name: 'public path, template (njs)', g: withNjs, path: '/api/public/things', headers: {} },
      { name: `public path, ${without}`, g: noNjs, path: '/api/public/things', headers: {} },
      { name: 'auth_request → return 200, template (njs)', g: withNjs, path: '/api/things', headers: auth },
      { name: `auth_request → return 200, ${without}`, g: noNjs, path: '/api/things', headers: auth },
    ].map((x) => ({ ...x, rps: [] as number[], p99: [] as number[], cpu: [] as number[] }));
    for (const x of cases) await runLoad({ url: x.g.url, path: x.path, headers: x.headers, seconds: 1, connections }); // warm-up
    say(`njs cost: HTTPS, ${connections} connections, ${rounds} × ${seconds} s per case, ${os.availableParallelism()} cores, load ${loadAvg()}`);
    for (let r = 0; r < rounds; r++) {
      for (const x of rotated(cases, r)) {
        const workers = childrenOf(x.g.pid);
        const cpu0 = workers.map(cpuMsOf);
        const res = await runLoad({ url: x.g.url, path: x.path, headers: x.headers, seconds, connections });
        if (res.statuses['200'] !== res.requests) throw new Error(`${x.name}: ${JSON.stringify(res.statuses)}`);
        x.cpu.push((workers.map(cpuMsOf).reduce((s, v, i) => s + v - cpu0[i]!, 0) * 1000) / res.requests);
        x.rps.push(res.rps);
        x.p99.push(res.p99);
      }
    }
    say(`| case | req/s | template ÷ ${without} | p99 ms | front NGINX workers, CPU µs/req | difference, µs/req |`);
    say('|---|---:|---:|---:|---:|---:|');
    for (let i = 0; i < cases.length; i += 2) {
      const [t, n] = [cases[i]!, cases[i + 1]!];
      say(
        `| ${t.name} | ${Math.round(median(t.rps))} | ${(median(t.rps) / median(n.rps)).toFixed(2)}× | ${median(t.p99).toFixed(2)} | ${median(t.cpu).toFixed(1)} | ${(median(t.cpu) - median(n.cpu)).toFixed(1)} |`,
      );
      say(`| ${n.name} | ${Math.round(median(n.rps))} | 1.00× | ${median(n.p99).toFixed(2)} | ${median(n.cpu).toFixed(1)} | |`);
    }
    say(`load at the end: ${loadAvg()} (CPU per request counts the front NGINX's workers only; clock ticks of 10 ms)`);
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module)
  main().catch((e: Error) => {
    process.stderr.write(`njs-cost: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
