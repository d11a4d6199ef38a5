// listenUnix binds under a umask that leaves no more than LISTEN_SOCKET_MODE, so the socket is never
// open to more than that, even for an instant before its chmod, and the process umask is restored.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listenUnix } from '../../validator/http/unix-socket';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-uds-unit-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each([
  ['0600', 0o600],
  ['0660', 0o660],
  ['0666', 0o666],
])('mode %s under the widest process umask (000): the umask at bind leaves only the mode, then is restored', async (_name, mode) => {
  const before = process.umask(0);
  const seen: number[] = [];
  // the umask in force when bind() runs, i.e. inside server.listen()
  const { Server } = await import('node:net');
  const listen = Server.prototype.listen;
  const spy = jest.spyOn(Server.prototype, 'listen').mockImplementation(function (this: InstanceType<typeof Server>, ...args: unknown[]) {
    const now = process.umask(0);
    process.umask(now);
    seen.push(now);
    return (listen as (...a: unknown[]) => InstanceType<typeof Server>).apply(this, args);
  });
  let server: Awaited<ReturnType<typeof listenUnix>> | undefined;
  try {
    const file = path.join(dir, `s-${mode.toString(8)}.sock`);
    server = await listenUnix(file, mode, (_req, res) => res.end(), {});
    expect(seen).toEqual([0o777 & ~mode]);
    expect(process.umask()).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(mode);
  } finally {
    if (server) await new Promise((r) => server!.close(r));
    spy.mockRestore();
    process.umask(before);
  }
});
