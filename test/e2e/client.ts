// A tiny HTTP(S) client for the e2e tests: raw paths (no URL normalisation, so ../ and %2e
// reach NGINX as written), any header, the gateway's CA, one connection per request.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

export interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Raw header list, to count duplicates (e.g. two WWW-Authenticate). */
  rawHeaders: string[];
  body: string;
  json<T = Record<string, unknown>>(): T;
  /** How many times a header occurs (case-insensitive). */
  count(name: string): number;
}

export interface ReqOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM to trust (https only). */
  ca?: Buffer;
  /** A TLS client certificate and its key, PEM (https only; request() only). */
  cert?: Buffer;
  key?: Buffer;
  /** TLS server name (SNI) to send (https only; request() only). Node sends none for an IP address. */
  servername?: string;
}

/** `base` is `https://127.0.0.1:8443`; `path` is sent exactly as given. */
export function request(base: string, path: string, opts: ReqOptions = {}): Promise<Res> {
  const url = new URL(base);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.headers,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        servername: opts.servername,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            json: <T>() => JSON.parse(body) as T,
            count: (name) => res.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name.toLowerCase()).length,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Like request(), but writes the request line itself, so `target` goes out byte for byte even
 * where Node's client would not send it as given ("" becomes "/" there). One connection,
 * `Connection: close`; the answer is read to the end (chunked bodies are de-chunked).
 * `target` and header values are written as Latin-1 (one byte per character). `timeoutMs`
 * defaults to 5000.
 */
export function rawRequest(base: string, target: string, opts: ReqOptions & { timeoutMs?: number } = {}): Promise<Res> {
  const url = new URL(base);
  const method = opts.method ?? 'GET';
  const body = opts.body ?? '';
  // a Host among opts.headers replaces the base URL's (one Host either way)
  const ownHost = Object.keys(opts.headers ?? {}).some((k) => k.toLowerCase() === 'host');
  const head = [`${method} ${target} HTTP/1.1`, ...(ownHost ? [] : [`Host: ${url.host}`]), 'Connection: close'];
  for (const [k, v] of Object.entries(opts.headers ?? {})) head.push(`${k}: ${v}`);
  if (body || method === 'POST' || method === 'PUT' || method === 'PATCH') head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const bytes = Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), Buffer.from(body)]);
  return new Promise((resolve, reject) => {
    const port = Number(url.port);
    const sock =
      url.protocol === 'https:'
        ? tls.connect({ host: url.hostname, port, ca: opts.ca, ALPNProtocols: ['http/1.1'] })
        : net.connect({ host: url.hostname, port });
    const chunks: Buffer[] = [];
    let timedOut: Error | undefined;
    sock.setTimeout(opts.timeoutMs ?? 5000, () => {
      timedOut = new Error(`no complete answer to ${method} ${JSON.stringify(target)} within ${opts.timeoutMs ?? 5000} ms`);
      sock.destroy();
    });
    sock.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => sock.write(bytes));
    sock.on('data', (c: Buffer) => chunks.push(c));
    // a reset after a complete answer (some servers close hard) still yields that answer
    let failure: Error | undefined;
    sock.on('error', (err) => (failure = err));
    sock.on('close', () => {
      if (timedOut || (failure && Buffer.concat(chunks).indexOf('\r\n\r\n') < 0)) return reject(timedOut ?? failure);
      try {
        resolve(parseRawResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** A whole HTTP/1.x answer → Res (status 0 when the server sent no status line). */
function parseRawResponse(buf: Buffer): Res {
  const end = buf.indexOf('\r\n\r\n');
  const headText = buf.subarray(0, end < 0 ? buf.length : end).toString('latin1');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(headText);
  const rawHeaders: string[] = [];
  const headers: http.IncomingHttpHeaders = {};
  for (const line of m ? headText.split('\r\n').slice(1) : []) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    rawHeaders.push(name, value);
    const k = name.toLowerCase();
    const prev = headers[k];
    headers[k] = prev === undefined ? value : `${Array.isArray(prev) ? prev.join(', ') : prev}, ${value}`;
  }
  let raw = m && end >= 0 ? buf.subarray(end + 4) : buf;
  if (/(?:^|,)\s*chunked\s*$/i.test(String(headers['transfer-encoding'] ?? ''))) {
    const parts: Buffer[] = [];
    for (let at = 0; ; ) {
      const eol = raw.indexOf('\r\n', at);
      const size = eol < 0 ? 0 : parseInt(raw.subarray(at, eol).toString('latin1'), 16);
      if (!size) break;
      parts.push(raw.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    raw = Buffer.concat(parts);
  }
  const body = raw.toString('utf8');
  return {
    status: m ? Number(m[1]) : 0,
    headers,
    rawHeaders,
    body,
    json: <T>() => JSON.parse(body) as T,
    count: (name) => rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name.toLowerCase()).length,
  };
}
