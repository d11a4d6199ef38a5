// `tollgate check`'s look at one issuer: discovery, the JWKS (its keys, their algorithms and `use`)
// and the IdP's clock. The fetching is the validator's own JwksStore (same timeout, no redirects,
// https rule on a discovered jwks_uri), watched through its fetch: what passes here passes at run time.
import type { JWK } from 'jose';
import type { Config, IssuerConfig } from '../config';
import { describeError } from '../observability/describe-error';
import { createLogger } from '../observability/logger';
import { createMetrics } from '../observability/metrics';
import { redactUrl } from '../observability/redact-url';
import { JwksStore, usable } from '../token/jwks';
import type { ProbeResult } from './types';

interface Seen {
  url: string;
  status?: number;
  body?: string;
  /** The response's Date header (ms), and our clock before sending and on receipt. */
  date?: number;
  sentAt: number;
  receivedAt?: number;
}

/** global fetch, recording each exchange (the body read from a clone, so the store still reads its own). */
function recordingFetch(seen: Seen[], base: typeof fetch): typeof fetch {
  return async (input, init) => {
    const s: Seen = { url: String(input instanceof Request ? input.url : input), sentAt: Date.now() };
    seen.push(s);
    const res = await base(input, init);
    s.receivedAt = Date.now();
    s.status = res.status;
    const date = Date.parse(res.headers.get('date') ?? '');
    if (!Number.isNaN(date)) s.date = date;
    s.body = await res
      .clone()
      .text()
      .catch(() => undefined);
    return res;
  };
}

/** `kid x (RSA, RS256, use sig)` */
function describeKey(k: JWK): string {
  const what = [k.kty, k.crv, k.alg, k.use && `use ${k.use}`].filter(Boolean).join(', ');
  return `${k.kid === undefined ? 'a key without kid' : `kid ${k.kid}`} (${what})`;
}

/** Why `k` verifies none of `algs`, in the order the store checks. */
function whyUnusable(k: JWK, algs: readonly string[]): string {
  if (k.use !== undefined && k.use !== 'sig') return `use ${k.use}, not sig`;
  if ('d' in k || 'p' in k || 'k' in k) return 'it carries private or symmetric key material';
  if (k.key_ops !== undefined && !k.key_ops.includes('verify')) return 'key_ops without verify';
  if (k.alg !== undefined && !algs.includes(k.alg)) return `alg ${k.alg} is not among ${algs.join(', ')}`;
  return `its type does not fit ${algs.join(', ')}`;
}

/** The clock probe from one exchange: the Date header is whole seconds, so the estimate is ±1 s plus the round trip. */
function clockProbe(issuer: string, s: Seen, toleranceS: number): ProbeResult {
  const ours = (s.sentAt + s.receivedAt!) / 2;
  const skewS = Math.round((s.date! + 500 - ours) / 1000);
  const rtt = s.receivedAt! - s.sentAt;
  const how = skewS === 0 ? 'agrees with ours' : `is ${Math.abs(skewS)} s ${skewS > 0 ? 'ahead of' : 'behind'} ours`;
  const detail = `the IdP's clock (Date header of ${redactUrl(s.url)}) ${how} (±${1 + Math.ceil(rtt / 1000)} s); AUTH_CLOCK_TOLERANCE_S=${toleranceS}`;
  const ok = Math.abs(skewS) <= toleranceS;
  return {
    name: 'clock',
    target: issuer,
    ok,
    detail,
    ...(ok ? {} : { hint: 'fix NTP on the IdP or on this host: tokens will look expired or not yet valid (exp, nbf, iat)' }),
  };
}

/** Probes one issuer's discovery (when its JWKS URL is discovered), JWKS and clock. */
async function probeIssuer(issuer: IssuerConfig, config: Config, base: typeof fetch = fetch): Promise<ProbeResult[]> {
  const target = issuer.issuer;
  if (issuer.kind === 'hs256') {
    return [
      {
        name: 'keys',
        target,
        ok: true,
        skipped: true,
        detail: `HS256 with a shared secret of ${issuer.hmacSecret?.length ?? 0} bytes (AUTH_JWT_SECRET): nothing to fetch`,
      },
    ];
  }
  const seen: Seen[] = [];
  const store = new JwksStore({
    issuer: issuer.issuer,
    jwksUrl: issuer.jwksUrl,
    production: config.env === 'production',
    algorithms: issuer.jwksAlgorithms,
    ...config.auth.jwks,
    metrics: createMetrics({ defaults: false }),
    log: createLogger('silent'),
    fetch: recordingFetch(seen, base),
  });
  try {
    await store.refresh().catch(() => undefined);
  } finally {
    store.close();
  }
  const status = store.status();
  const results: ProbeResult[] = [];
  const discoveryUrl = `${issuer.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const discovery = seen.find((s) => s.url === discoveryUrl);
  const jwks = seen.find((s) => s !== discovery);
  if (!issuer.jwksUrl) {
    // discovery failed when the store never went on to fetch a JWKS
    const ok = jwks !== undefined;
    results.push({
      name: 'discovery',
      target: redactUrl(discoveryUrl),
      ok,
      detail: ok ? `jwks_uri ${redactUrl(jwks.url)}` : (status.lastError ?? 'no answer'),
      ...(ok ? {} : { hint: 'AUTH_ISSUER must be the exact `iss` of the tokens, whose /.well-known/openid-configuration names it; or set AUTH_JWKS_URL' }),
    });
  }
  if (jwks || issuer.jwksUrl) results.push(jwksProbe(issuer, jwks, status.ready, status.lastError));
  const dated = [discovery, jwks].find((s) => s?.date !== undefined && s.receivedAt !== undefined);
  if (dated) results.push(clockProbe(target, dated, config.auth.clockToleranceS));
  else results.push({ name: 'clock', target, ok: true, skipped: true, detail: 'no answer from the IdP carried a Date header' });
  return results;
}

function jwksProbe(issuer: IssuerConfig, s: Seen | undefined, ready: boolean, lastError: string | undefined): ProbeResult {
  const target = redactUrl(s?.url ?? issuer.jwksUrl!);
  const algs = issuer.jwksAlgorithms;
  let keys: JWK[] = [];
  try {
    const body = JSON.parse(s?.body ?? '') as { keys?: unknown };
    if (Array.isArray(body?.keys)) keys = body.keys.filter((k): k is JWK => typeof k === 'object' && k !== null);
  } catch {
    /* not JSON: the store's error says so */
  }
  const good = keys.filter((k) => algs.some((a) => usable(k, a)));
  const bad = keys.filter((k) => !good.includes(k));
  const listed = [
    ...good.map((k) => `${describeKey(k)} verifies ${algs.filter((a) => usable(k, a)).join(', ')}`),
    ...bad.map((k) => `${describeKey(k)} is not used: ${whyUnusable(k, algs)}`),
  ];
  if (ready)
    return {
      name: 'jwks',
      target,
      ok: true,
      detail: `${good.length} usable signing key${good.length === 1 ? '' : 's'} for ${algs.join(', ')}: ${listed.join('; ')}`,
    };
  // Supabase projects still on the legacy secret publish no asymmetric key: HS256 tokens verify without one.
  if (issuer.kind === 'supabase' && issuer.hmacSecret && s?.status === 200) {
    return {
      name: 'jwks',
      target,
      ok: true,
      detail: `no asymmetric signing key published${listed.length ? ` (${listed.join('; ')})` : ''}; HS256 tokens verify with SUPABASE_JWT_SECRET`,
    };
  }
  const why = lastError ?? (s ? `answered ${s.status}` : 'not fetched');
  const hint = keys.length
    ? `publish a signing key for ${algs.join(', ')} at the IdP, or allow its algorithm (AUTH_ALGORITHMS)`
    : 'check that this host reaches the URL (DNS, egress rules, TLS trust) and that it serves {"keys": [...]}';
  return { name: 'jwks', target, ok: false, detail: listed.length ? `${why}: ${listed.join('; ')}` : why, hint };
}

/** probeIssuer for every configured issuer, in parallel; an unexpected error becomes a failed probe. */
export async function probeIssuers(config: Config, base?: typeof fetch): Promise<ProbeResult[]> {
  const each = await Promise.all(
    config.auth.issuers.map((i) =>
      probeIssuer(i, config, base).catch((e): ProbeResult[] => [{ name: 'jwks', target: i.issuer, ok: false, detail: describeError(e) }]),
    ),
  );
  return each.flat();
}
