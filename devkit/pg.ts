// Scratch databases on a real Postgres server: decide at collection time whether the server cases
// of a test file run, and give each test file, bench or soak run its own throw-away database.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from '../validator/observability/redact-url';

const HOW_TO =
  'Set TEST_DATABASE_URL to an admin URL of a reachable Postgres (e.g. postgres://postgres@127.0.0.1:5432/test; ' +
  'Debian: apt-get install postgresql, trust auth for 127.0.0.1) to run them.';

let probed: { url?: string; why?: string } | undefined;

/**
 * TEST_DATABASE_URL when it is set and answers, else undefined. Synchronous (a child
 * process probes the server) so that tests can be declared or skipped at collection time:
 * jest cannot skip a test once it has started. In CI (`CI` set) an unusable server throws,
 * so a misconfigured pipeline fails instead of going green with the server tests skipped.
 */
export function serverUrlOrSkip(): string | undefined {
  probed ??= probe();
  if (probed.url) return probed.url;
  const msg = `Postgres server tests: ${probed.why}. ${HOW_TO}`;
  if (process.env.CI) throw new Error(`${msg} (CI is set, so server tests may not be skipped)`);
  console.warn(`\n*** SKIPPING ${msg}\n`);
  return undefined;
}

function probe(): { url?: string; why?: string } {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return { why: 'TEST_DATABASE_URL is not set' };
  const script = `const pg = require(${JSON.stringify(require.resolve('pg'))});
    const c = new pg.Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    c.connect().then(() => c.query('SELECT 1')).then(() => c.end()).then(
      () => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script, url], { encoding: 'utf8', timeout: 8000 });
  if (r.status === 0) return { url };
  return { why: `TEST_DATABASE_URL (${redactUrl(url)}) is unreachable: ${(r.stderr || r.error?.message || 'timeout').trim()}` };
}

export interface FreshDatabase {
  /** URL of the new, empty database (same server and credentials as the admin URL). */
  url: string;
  /** Drop it (terminating leftover connections). Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * CREATE DATABASE <prefix>_<random> through the admin URL, so parallel test files (and a bench
 * beside them) on the shared server never see each other's rows. Call `drop()` in afterAll.
 * Throws when the server cannot be reached.
 */
export async function freshServerDatabase(adminUrl = serverUrlOrSkip(), opts: { prefix?: string } = {}): Promise<FreshDatabase> {
  if (!adminUrl) throw new Error(`freshServerDatabase: no server. ${HOW_TO}`);
  const name = `${opts.prefix ?? 'tollgate_t'}_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  let dropped = false;
  return {
    url: u.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
