// The load generator: autocannon at a fixed number of connections for a fixed time, in this
// process. Latencies are recorded from autocannon's per-response event into our own array
// (autocannon's histogram has 1 ms resolution; a cached decision takes well under that).
import autocannon from 'autocannon';

export interface LoadSpec {
  /** http(s)://127.0.0.1:port */
  url: string;
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Every request takes the next token of this pool (shared by all connections, in order). */
  tokens?: readonly string[];
  /** Where to start in the pool (rounds start further on, so no token repeats soon). */
  tokenOffset?: number;
  seconds: number;
  connections: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  mean: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Tokens consumed from the pool. */
  tokensUsed: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let lat = new Float64Array(1 << 16);
  let n = 0;
  const statuses: Record<string, number> = {};
  const pool = spec.tokens;
  let next = spec.tokenOffset ?? 0;
  const baseHeaders = { ...spec.headers };
  const requests = pool
    ? [
        {
          method: spec.method ?? 'GET',
          path: spec.path,
          headers: baseHeaders,
          setupRequest: (req: { headers?: Record<string, string> }) => {
            req.headers = { ...baseHeaders, authorization: `Bearer ${pool[next++ % pool.length]}` };
            return req;
          },
        },
      ]
    : undefined;
  const started = next;
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: spec.url + spec.path,
        method: spec.method ?? 'GET',
        headers: baseHeaders,
        requests: requests as never,
        connections: spec.connections,
        duration: spec.seconds,
        timeout: 10,
      },
      (err, r) => {
        if (err) return reject(err);
        const sorted = lat.subarray(0, n).sort();
        let sum = 0;
        for (let i = 0; i < n; i++) sum += sorted[i]!;
        const seconds = r.duration;
        resolve({
          requests: r.requests.total,
          seconds,
          rps: r.requests.total / seconds,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          mean: n ? sum / n : NaN,
          statuses,
          errors: r.errors,
          timeouts: r.timeouts,
          tokensUsed: next - started,
        });
      },
    );
    inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (n === lat.length) {
        const bigger = new Float64Array(lat.length * 2);
        bigger.set(lat);
        lat = bigger;
      }
      lat[n++] = ms;
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
  });
}
