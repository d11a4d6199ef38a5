// The route set every upstream serves, and how a test reads an upstream's answer.
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { REPO_ROOT } from '../root';

/** The handlers of the route set: `/api/admin/*` any method (protected), `POST /api/tasks` (charged), other `/api/*`. */
export type Handler = 'admin' | 'tasks' | 'other';
/** A handler, or `none`: the server answered without reaching one (404, 400, a parse error). */
export type Reading = Handler | 'none';

/** The request headers each upstream echoes back (lower case). */
export const IDENTITY_HEADERS = ['x-user-id', 'x-scopes', 'x-ticks-charged'] as const;

/** The JSON every upstream answers from a handler. */
export interface UpstreamReply {
  server: string;
  handler: Handler;
  /** The path the framework routed on, as the framework reports it. */
  path: string;
  /** The request target as the framework kept it (informational). */
  target?: string;
  /** IDENTITY_HEADERS it received (absent ones left out). */
  headers: Partial<Record<(typeof IDENTITY_HEADERS)[number], string>>;
}

export interface Upstream {
  name: string;
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT (for NGINX's upstream block). */
  host: string;
  /** Milliseconds from start() to the first routed answer. */
  startMs: number;
  /** The server process's PID (absent when it runs inside this process). */
  pid?: number;
  logs(): string;
  /** Kill by PID / close, and remove the server's temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** devkit/upstreams in the source tree (the .py and webapp files are not compiled to dist/). */
export const UPSTREAMS_DIR = path.join(REPO_ROOT, 'devkit', 'upstreams');

/** The part of an HTTP response replyOf reads (test/e2e/client's Res has it). */
export interface JsonResponse {
  status: number;
  headers: IncomingHttpHeaders;
  json<T>(): T;
}

/** The upstream's reply when `res` came from one of its handlers, else undefined. */
export function replyOf(res: JsonResponse): UpstreamReply | undefined {
  if (res.status !== 200 || !String(res.headers['content-type'] ?? '').includes('json')) return undefined;
  try {
    const j = res.json<UpstreamReply>();
    return typeof j.server === 'string' && ['admin', 'tasks', 'other'].includes(j.handler) ? j : undefined;
  } catch {
    return undefined;
  }
}

/** `p` (lower case) is `prefix`, or under it: after a "/", or after a "." in the last segment (a format suffix, as Rails reads `/api/admin.json`). */
export function under(p: string, prefix: string): boolean {
  return p === prefix || p.startsWith(prefix + '/') || (p.startsWith(prefix + '.') && !p.includes('/', prefix.length));
}

/**
 * Which handler the route set gives `method path` for an already canonical path, read as the
 * validator's rules read it: case-insensitively, with a format suffix belonging to the path before it.
 */
export function impliedHandler(method: string, canonical: string): Reading {
  const p = canonical.toLowerCase();
  if (under(p, '/api/admin')) return 'admin';
  if (method === 'POST' && under(p, '/api/tasks') && !p.startsWith('/api/tasks/')) return 'tasks';
  return p.startsWith('/api/') ? 'other' : 'none';
}
