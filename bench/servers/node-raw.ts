// Ceiling: a raw node:http handler doing what a cached decision must do at least: SHA-256 of the
// Authorization header, one Map lookup, two headers.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { listenAndReport } from './ready';

const known = new Map<string, { sub: string; scopes: string }>();
// The repeated token the bench sends (BENCH_TOKEN) is "known"; anything else gets an anonymous answer.
if (process.env.BENCH_TOKEN)
  known.set(createHash('sha256').update(`Bearer ${process.env.BENCH_TOKEN}`).digest('base64url'), { sub: 'user-1', scopes: 'api:read,api:write' });

const server = http.createServer((req, res) => {
  const key = createHash('sha256')
    .update(req.headers.authorization ?? '')
    .digest('base64url');
  const hit = known.get(key);
  res.statusCode = 200;
  res.setHeader('X-User-Id', hit?.sub ?? 'anonymous');
  res.setHeader('X-Scopes', hit?.scopes ?? '');
  res.end();
});
listenAndReport(server, 'node-raw');
