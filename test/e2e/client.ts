// A tiny HTTP(S) client for the e2e tests: raw paths (no URL normalisation, so ../ and %2e
// reach NGINX as written), any header, the gateway's CA, one connection per request.
import http from 'node:http';
import https from 'node:https';

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
