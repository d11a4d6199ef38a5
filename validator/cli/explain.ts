// `tollgate explain [TOKEN|-] [--method M --uri U]`: why this validator, as configured here, would
// grant or refuse this token on this route, stage by stage, with got versus expected. The token is
// decoded and verified with the configured keys or secret; the secret, the token's signature and
// the token itself are never printed. Nothing is charged. Exit 0 granted, 1 refused, 2 bad usage.
import type { JWK } from 'jose';
import { parseArgs } from 'node:util';
import { configProblems, parseConfigWithWarnings, type Config, type IssuerConfig } from '../config';
import { loadDotenv, type RawEnv } from '../config/env';
import { ConfigError } from '../errors';
import { explainToken, type Explanation, type Mark } from '../explain/stages';
import { createLogger } from '../observability/logger';
import { createMetrics } from '../observability/metrics';
import { openStore } from '../store';
import { readPath } from '../lib/paths';
import { matchRoute } from '../lib/routes';
import type { QuotaStore } from '../store/types';
import { TokenVerifier } from '../token/verify';
import { printable, printableJson, type Out } from './terminal';

const EXPLAIN_USAGE = `usage: tollgate explain [TOKEN | -] [--method M --uri U] [--max-ticks N] [--json]

Runs TOKEN through every stage of the decision against this configuration (.env, keys.env and the
environment, as the validator reads them) and prints each stage with ✓ / ✗ and what it got versus
what it expected. With --method and --uri it also names the route rule that applies and previews
the quota charge (nothing is charged). TOKEN may start with "Bearer "; "-" or no TOKEN reads it from
stdin (which keeps it out of the shell history and the process list).
Exit status: 0 granted, 1 refused, 2 bad usage or configuration.`;

const MARKS: Record<Mark, string> = { pass: '✓', fail: '✗', skip: '·', 'n/a': '–' };

export interface ExplainIo {
  env: RawEnv;
  out: Out;
  err: Out;
  /** The token when none is on the command line (stdin). */
  readStdin: () => Promise<string>;
  fetch?: typeof fetch;
}

/** global fetch, keeping each JWKS it fetches (to list the published kids when a kid is not found). */
function keepingJwks(seen: Map<string, JWK[]>, base: typeof fetch): typeof fetch {
  return async (input, init) => {
    const res = await base(input, init);
    const body = (await res
      .clone()
      .json()
      .catch(() => undefined)) as { keys?: unknown } | undefined;
    if (Array.isArray(body?.keys)) seen.set(String(input instanceof Request ? input.url : input), body.keys as JWK[]);
    return res;
  };
}

export async function explain(args: string[], io: ExplainIo): Promise<number> {
  let values: { method?: string; uri?: string; 'max-ticks'?: string; json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        method: { type: 'string' },
        uri: { type: 'string' },
        'max-ticks': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    io.err(`tollgate explain: ${(e as Error).message}\n\n${EXPLAIN_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(EXPLAIN_USAGE);
    return 0;
  }
  if (positionals.length > 1 || (values.method === undefined) !== (values.uri === undefined)) {
    io.err(`tollgate explain: ${positionals.length > 1 ? 'one token at a time' : '--method and --uri go together'}\n\n${EXPLAIN_USAGE}`);
    return 2;
  }
  const raw = positionals[0] === undefined || positionals[0] === '-' ? await io.readStdin() : positionals[0];
  const token = raw.trim().replace(/^bearer\s+/i, '');
  if (!token) {
    io.err(`tollgate explain: no token given\n\n${EXPLAIN_USAGE}`);
    return 2;
  }

  let config: Config;
  try {
    config = parseConfigWithWarnings(io.env).config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of configProblems(e)) io.err(`tollgate explain: configuration error: ${p.message}`);
    io.err('tollgate explain: fix the configuration first (`tollgate check` lists every problem)');
    return 2;
  }

  const seen = new Map<string, JWK[]>();
  const metrics = createMetrics({ defaults: false });
  const log = createLogger('silent');
  const verifier = new TokenVerifier({ config, metrics, log, fetch: keepingJwks(seen, io.fetch ?? fetch) });
  const published = (i: IssuerConfig): JWK[] | undefined => {
    const urls = [...seen.keys()];
    const url = urls.find((u) => u === i.jwksUrl) ?? urls.find((u) => u.startsWith(i.issuer)) ?? (urls.length === 1 ? urls[0] : undefined);
    return url === undefined ? undefined : seen.get(url);
  };
  // The store only when a stage would ask it: a charged route, or a Supabase issuer.
  let store: QuotaStore | undefined;
  let storeProblem: string | undefined;
  const path = values.uri === undefined ? undefined : readPath(values.uri);
  const charged = values.method !== undefined && typeof path === 'string' && matchRoute(config.quota.routes, values.method.toUpperCase(), path) !== undefined;
  if (charged || config.auth.issuers.some((i) => i.kind === 'supabase')) {
    try {
      store = await openStore({ ...config.database, migrate: false });
    } catch (e) {
      storeProblem = `the quota store was not opened, so charges and Supabase confirmations are not previewed: ${(e as Error).message}`;
    }
  }
  try {
    const x = await explainToken(
      { config, verifier, store, storeProblem, published, metrics, log },
      { token, method: values.method, uri: values.uri, maxTicks: values['max-ticks'] },
    );
    // JSON escapes C0 controls itself; printableJson escapes the C1 and bidi characters it leaves
    if (values.json) io.out(printableJson(JSON.stringify(x, null, 2)));
    else print(x, io.out);
    return x.granted ? 0 : 1;
  } finally {
    verifier.close();
    await store?.close();
  }
}

function print(x: Explanation, out: Out): void {
  const p = (s: string) => out(printable(s));
  p('token (decoded without verifying; the signature is not shown)');
  p(`  header   ${x.header ? JSON.stringify(x.header) : '(does not decode)'}`);
  p(`  payload  ${x.payload ? JSON.stringify(x.payload) : '(does not decode)'}`);
  p('');
  const width = Math.max(...x.stages.map((s) => s.stage.length));
  for (const s of x.stages) {
    p(`${MARKS[s.mark]} ${s.stage.padEnd(width)}  ${s.text}`);
    const pad = ' '.repeat(width + 4);
    if (s.mark === 'fail') {
      if (s.got !== undefined) p(`${pad}got      ${s.got}`);
      if (s.expected !== undefined) p(`${pad}expected ${s.expected}`);
      if (s.hint !== undefined) p(`${pad}hint     ${s.hint}`);
    }
  }
  p('');
  for (const n of x.notes) p(`note: ${n}`);
  const d = x.decision;
  const dry = d?.headers['X-Ticks-Charged'] !== undefined ? ' (dry run: nothing was charged)' : '';
  if (d) {
    const headers = Object.entries(d.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    p(d.granted ? `verdict: granted, ${d.status} with ${headers}${dry}` : `verdict: refused, ${d.status} ${d.reason}: ${d.message ?? ''}`);
  } else {
    const f = x.stages.find((s) => s.mark === 'fail');
    p(f ? `verdict: refused, ${f.reason} at ${f.stage}` : 'verdict: the token passes (no route given)');
  }
}

/** `tollgate explain` on this process: .env / keys.env loaded as the validator loads them, the token from stdin when asked. */
export function main(args: string[]): Promise<number> {
  return explain(args, {
    env: loadDotenv(),
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    readStdin: async () => {
      if (process.stdin.isTTY) return '';
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  });
}
