// The part of autocannon's API the bench uses (the package ships no types).
declare module 'autocannon' {
  interface Result {
    duration: number;
    requests: { total: number; average: number };
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  interface Instance {
    on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
    stop(): void;
  }
  function autocannon(opts: Record<string, unknown>, cb: (err: Error | null, result: Result) => void): Instance;
  export = autocannon;
}
