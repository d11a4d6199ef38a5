// SIGHUP under load through the real NGINX and the built validator: while clients keep calling, the
// route rule (in AUTH_ROUTE_RULES_FILE) and the ticks it charges (QUOTA_DEFAULT_TICKS in .env) change
// together and the validator reloads several times. No request fails, and every answer is the one
// exactly one of the two configurations gives: a rule from one with the ticks of the other would
// show as a grant charging the wrong amount. An invalid configuration is kept out and counted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemoUpstream, type DemoUpstream, type EchoBody } from '../../devkit/demo-upstream';
import { TestIssuer, makeKey, mint } from '../../devkit/issuer';
import { nginxOrSkip, startLocalGateway, type LocalGateway } from '../../devkit/nginx';
import { spawnValidator, type ValidatorProcess } from '../../devkit/validator';
import { request } from './client';

const d = nginxOrSkip('SIGHUP reload through NGINX') ? describe : describe.skip;

/** Config A: scope s1 passes, 1 tick a call. Config B: scope s2 passes, 2 ticks a call. */
const CONFIGS = {
  A: { rules: '{"POST /api/tasks": ["s1"]}', dotenv: 'QUOTA_DEFAULT_TICKS=1\n' },
  B: { rules: '{"POST /api/tasks": ["s2"]}', dotenv: 'QUOTA_DEFAULT_TICKS=2\n' },
} as const;
type Name = keyof typeof CONFIGS;

interface Outcome {
  scope: 's1' | 's2';
  status: number;
  ticks?: string | null;
  error?: string;
}

/** The configurations an outcome is consistent with (empty: a mixed or failed decision). */
function consistentWith(o: Outcome): Name[] {
  const grant = (scope: string, ticks: string) => o.status === 200 && o.scope === scope && o.ticks === ticks;
  const refused = (scope: string) => o.status === 403 && o.scope === scope;
  const out: Name[] = [];
  if (grant('s1', '1') || refused('s2')) out.push('A');
  if (grant('s2', '2') || refused('s1')) out.push('B');
  return out;
}

d('SIGHUP reload under load, through NGINX', () => {
  let root: string;
  let iss: TestIssuer;
  let upstream: DemoUpstream;
  let validator: ValidatorProcess;
  let gw: LocalGateway;
  let ca: Buffer;
  let rulesFile: string;
  const tokens: Record<'s1' | 's2', string> = { s1: '', s2: '' };

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-reload-'));
    const key = await makeKey('ES256', 'reload');
    iss = await TestIssuer.start([key]);
    for (const scope of ['s1', 's2'] as const)
      tokens[scope] = await mint({ iss: iss.issuer, aud: 'api' }, { key, claims: { sub: `user-${scope}`, scope }, expiresIn: 600 });
    upstream = await startDemoUpstream();
    rulesFile = path.join(root, 'rules.json');
    fs.writeFileSync(rulesFile, CONFIGS.A.rules);
    validator = await spawnValidator({
      AUTH_MODE: 'jwks',
      AUTH_ISSUER: iss.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: iss.jwksUrl,
      AUTH_ROUTE_RULES_FILE: rulesFile,
      QUOTA_ROUTES: 'POST /api/tasks',
      QUOTA_DEFAULT_DAILY_TICKS: '1000000000',
    });
    gw = await startLocalGateway({ validators: [`127.0.0.1:${validator.port}`], apps: [`127.0.0.1:${upstream.port}`] });
    ca = gw.ca;
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await validator?.stop();
    await upstream?.stop();
    await iss?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const call = async (scope: 's1' | 's2'): Promise<Outcome> => {
    try {
      const res = await request(gw.httpsUrl, '/api/tasks', {
        method: 'POST',
        ca,
        body: '{}',
        headers: { authorization: `Bearer ${tokens[scope]}`, 'content-type': 'application/json' },
      });
      return { scope, status: res.status, ticks: res.status === 200 ? res.json<EchoBody>().headers['x-ticks-charged'] : undefined };
    } catch (e) {
      return { scope, status: 0, error: (e as Error).message };
    }
  };

  const reloads = async (result: string): Promise<number> => {
    const text = await (await fetch(`${validator.url}/metrics`)).text();
    return Number(new RegExp(`^tollgate_config_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  };

  /** Writes a configuration's files, sends SIGHUP and waits until the validator counted it as `result`. */
  const reloadTo = async (files: { rules: string; dotenv: string }, result: 'ok' | 'invalid'): Promise<void> => {
    const before = await reloads(result);
    fs.writeFileSync(path.join(validator.cwd, '.env'), files.dotenv);
    fs.writeFileSync(rulesFile, files.rules);
    process.kill(validator.pid, 'SIGHUP');
    const deadline = Date.now() + 10_000;
    while ((await reloads(result)) === before) {
      if (Date.now() > deadline) throw new Error(`no ${result} reload counted within 10 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const withLogs = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      console.error(`reload-nginx failure; logs:\n--- nginx error log ---\n${gw.errorLog()}\n--- validator ---\n${validator.logs()}`);
      throw err;
    }
  };

  test(
    'no failed and no mixed decision across reloads; an invalid configuration is kept out',
    () =>
      withLogs(async () => {
        const outcomes: Outcome[] = [];
        let running = true;
        const worker = async (first: 's1' | 's2') => {
          for (let i = 0; running; i++) outcomes.push(await call(i % 2 === 0 ? first : first === 's1' ? 's2' : 's1'));
        };
        const workers = [worker('s1'), worker('s2'), worker('s1'), worker('s2')];

        const sequence: Name[] = ['B', 'A', 'B', 'A', 'B', 'A'];
        let current: Name = 'A';
        const afterInvalid: Outcome[] = [];
        for (const [i, name] of sequence.entries()) {
          await new Promise((r) => setTimeout(r, 150));
          await reloadTo(CONFIGS[name], 'ok');
          current = name;
          if (i === 2) {
            // a broken rule file (and a new tick count): refused whole, B goes on deciding
            await reloadTo({ rules: '{"POST /api/tasks": ["s1"', dotenv: 'QUOTA_DEFAULT_TICKS=1\n' }, 'invalid');
            for (const scope of ['s1', 's2', 's1', 's2'] as const) afterInvalid.push(await call(scope));
          }
        }
        await new Promise((r) => setTimeout(r, 150));
        running = false;
        await Promise.all(workers);

        const failed = outcomes.filter((o) => consistentWith(o).length === 0);
        expect(failed).toEqual([]);
        // both configurations really decided while the load ran
        expect(outcomes.filter((o) => o.status === 200 && o.ticks === '1').length).toBeGreaterThan(0);
        expect(outcomes.filter((o) => o.status === 200 && o.ticks === '2').length).toBeGreaterThan(0);
        expect(outcomes.length).toBeGreaterThan(40);
        expect(afterInvalid.map(consistentWith)).toEqual([['B'], ['B'], ['B'], ['B']]);
        expect(current).toBe('A');
        expect(await reloads('ok')).toBe(sequence.length);
        expect(await reloads('invalid')).toBe(1);
        const log = validator.logs();
        expect(log).toMatch(/configuration reload refused: AUTH_ROUTE_RULES: /);
        // one process throughout: SIGHUP did not restart it
        expect(log.match(/"msg":"listening"/g)).toHaveLength(1);
        console.log(`reload-nginx: ${outcomes.length} requests across ${sequence.length} reloads + 1 refused, none failed or mixed`);
      }),
    120_000,
  );
});
