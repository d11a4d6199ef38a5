// The validator's optional Unix domain socket (LISTEN_SOCKET): a second node:http server with the
// same listener and limits as the TCP one. A socket file left by a validator that died is replaced;
// one that a live process answers on, or a file that is not a socket, is never touched.
import fs from 'node:fs';
import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import net from 'node:net';
import { ConfigError } from '../errors';

/** What is at `file` now: nothing, a socket nobody answers on (stale), a live socket, or something else. */
async function probe(file: string): Promise<'none' | 'stale' | 'live' | 'other'> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw e;
  }
  if (!st.isSocket()) return 'other';
  return new Promise((resolve) => {
    const c = net.connect(file);
    c.once('connect', () => {
      c.destroy();
      resolve('live');
    });
    // ECONNREFUSED: the file outlived its process (SIGKILL, OOM, a crash skip the unlink on close)
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'stale' : 'live'));
  });
}

/**
 * Listens on the Unix socket `file` with `mode` permissions. Throws a ConfigError naming
 * LISTEN_SOCKET when another process answers there or the path is not a socket. libuv removes the
 * file when the server closes.
 */
export async function listenUnix(file: string, mode: number, listener: RequestListener, opts: ServerOptions): Promise<Server> {
  const found = await probe(file);
  if (found === 'live') throw new ConfigError('LISTEN_SOCKET', `another process is listening on ${file}; stop it or choose another path`);
  if (found === 'other') throw new ConfigError('LISTEN_SOCKET', `${file} exists and is not a socket; it is left alone: remove it or choose another path`);
  if (found === 'stale') fs.unlinkSync(file);
  const server = createServer(opts, listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // bind() creates the file with the process umask, in this call: a umask that leaves no more
    // than `mode` means the socket is never, even for an instant, open to anyone `mode` excludes
    // (a container's umask 000 would otherwise make it 0777 until the chmod below).
    const umask = process.umask(0o777 & ~mode);
    try {
      server.listen(file, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  // the exact mode (the umask can only take bits away: 0666 under umask 0111 is 0666 anyway)
  try {
    fs.chmodSync(file, mode);
  } catch (e) {
    server.close();
    throw e;
  }
  return server;
}
