// LISTEN_SOCKET and LISTEN_SOCKET_MODE: a Unix domain socket the validator listens on beside HOST:PORT,
// for a front on the same host or pod (NGINX's auth subrequest skips TCP, docs/GATEWAY.md). Rows of
// the one table in schema.ts, spread in place after PORT.
import path from 'node:path';
import { ConfigError } from '../errors';
import type { Parser } from './parsers';
import type { VariableDef } from './schema';

/**
 * Linux's sockaddr_un holds 108 bytes including the final NUL (unix(7)); a longer path fails
 * bind() with a message that names no variable.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/** An absolute path of at most MAX_SOCKET_PATH_BYTES bytes. */
export const socketPath: Parser<string> = (raw, name) => {
  // Relative would depend on the working directory, and NGINX must name the very same file.
  if (!path.isAbsolute(raw)) throw new ConfigError(name, `must be an absolute path (NGINX names the same file), got ${JSON.stringify(raw)}`);
  if (raw.endsWith('/')) throw new ConfigError(name, `must name a file, not a directory, got ${JSON.stringify(raw)}`);
  const bytes = Buffer.byteLength(raw);
  if (bytes > MAX_SOCKET_PATH_BYTES) throw new ConfigError(name, `is ${bytes} bytes long; a Unix socket path may have at most ${MAX_SOCKET_PATH_BYTES}`);
  return raw;
};

/** File permission bits written in octal (`0660`, `660`); only read and write bits make sense on a socket. */
export const socketMode: Parser<number> = (raw, name) => {
  const v = raw.trim();
  if (!/^0?[0-7]{3}$/.test(v)) throw new ConfigError(name, `must be octal permission bits such as 0660, got ${JSON.stringify(raw)}`);
  return parseInt(v, 8);
};

const v = <T>(d: VariableDef<T>): VariableDef<T> => Object.freeze(d);

export const LISTEN_SOCKET_VARIABLES = {
  LISTEN_SOCKET: v({
    group: 'server',
    parse: socketPath,
    optional: true,
    doc: 'Absolute path of a Unix domain socket to listen on as well as `HOST`:`PORT` (which stays for `/metrics`, health probes and other fronts). For NGINX on the same host or pod: `server unix:<path>;` in `GATEWAY_VALIDATOR_SERVERS` saves TCP on every auth subrequest. Its directory must exist. A socket file left by a stopped validator is replaced; if a process still answers on it, start-up is refused. Removed on shutdown. Unset: TCP only. Read at start-up only.',
  }),
  LISTEN_SOCKET_MODE: v({
    group: 'server',
    parse: socketMode,
    default: '0660',
    doc: "Permissions of `LISTEN_SOCKET` (octal). Connecting needs write permission: with `0660`, NGINX's workers must share the socket's group (a set-group-id directory of NGINX's group gives the socket that group, as compose.yaml does). Read at start-up only.",
  }),
};
