// Express 5 as an upstream: the route set written the way an ordinary Express app writes it,
// with Express's defaults (routing is case-insensitive and not strict about a trailing slash).
import express, { type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IDENTITY_HEADERS, type Handler, type Upstream } from './routes';

/** Runs in this process (no PID of its own): stop() closes the listener and its connections. */
export async function startExpress(): Promise<Upstream> {
  const t0 = Date.now();
  const app = express();
  app.disable('x-powered-by');
  const reply =
    (handler: Handler) =>
    (req: Request, res: Response): void => {
      const headers: Record<string, string> = {};
      for (const h of IDENTITY_HEADERS) if (req.headers[h] !== undefined) headers[h] = String(req.headers[h]);
      res.json({ server: 'express', handler, path: req.path, target: req.originalUrl, headers });
    };
  // '/api/admin/*splat' alone needs at least one character after the slash (path-to-regexp 8);
  // the bare prefix is listed too, as apps that protect a whole subtree do.
  app.all(['/api/admin', '/api/admin/*splat'], reply('admin'));
  app.post('/api/tasks', reply('tasks'));
  app.all('/api/*splat', reply('other'));
  // anything else: Express's own 404 (finalhandler)

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    name: 'express',
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    startMs: Date.now() - t0,
    logs: () => '',
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
