// `tollgate check`'s look at each RFC 7662 introspection endpoint: the request the validator makes
// (its client credentials, its timeout, no redirects) about a token nobody issued. A 200 with a
// boolean `active` means the endpoint answers and accepts our credentials; the validator would
// otherwise refuse every token of that issuer with 503 introspection_unavailable.
import { randomBytes } from 'node:crypto';
import type { Config } from '../config';
import { describeError } from '../observability/describe-error';
import { redactUrl } from '../observability/redact-url';
import { introspectionRequest } from '../token/introspect';
import type { ProbeResult } from './types';

export async function probeIntrospection(config: Config, base: typeof fetch = fetch): Promise<ProbeResult[]> {
  const introspected = config.auth.issuers.filter((i) => i.introspection);
  return Promise.all(
    introspected.map(async (issuer): Promise<ProbeResult> => {
      const cfg = issuer.introspection!;
      const target = redactUrl(cfg.url);
      const fail = (detail: string, hint: string): ProbeResult => ({ name: 'introspection', target, ok: false, detail, hint });
      try {
        const res = await base(cfg.url, introspectionRequest(cfg, `tollgate-check-${randomBytes(16).toString('hex')}`));
        if (res.status === 401 || res.status === 403)
          return fail(
            `answered ${res.status}: the client credentials were refused`,
            `check the client id and secret of ${issuer.issuer}'s introspection (AUTH_INTROSPECTION_CLIENT_ID/_SECRET or the entry's introspection)`,
          );
        if (res.status !== 200)
          return fail(
            `answered ${res.status}`,
            "the URL must be the IdP's RFC 7662 introspection endpoint (Keycloak: <realm>/protocol/openid-connect/token/introspect)",
          );
        const body = (await res.json().catch(() => undefined)) as { active?: unknown } | undefined;
        if (typeof body?.active !== 'boolean') return fail('the answer has no boolean "active"', "the URL must be the IdP's RFC 7662 introspection endpoint");
        return { name: 'introspection', target, ok: true, detail: `answers with our client credentials (a token it never issued: active ${body.active})` };
      } catch (e) {
        return fail(describeError(e), 'check that this host reaches the URL (DNS, egress rules, TLS trust)');
      }
    }),
  );
}
