// Shared by the bench servers: tell the parent (over IPC) which port we listen on, stop on SIGTERM.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1:0, reports `{ port }` to the parent, closes on SIGTERM. */
export function listenAndReport(server: Server, name: string): void {
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.send?.({ port, name });
  });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

/** The decision the baselines and peers answer with: 200 and two identity headers. */
export const IDENTITY = { 'X-User-Id': 'user-1', 'X-Scopes': 'api:read,api:write' } as const;
