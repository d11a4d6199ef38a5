// The verify stage's checks as `tollgate explain` lists them: their order, which one a refusal
// belongs to, and what each looks at in the decoded token and the configuration.
import type { AuthError } from '../errors';
import { show, when, type ExpectContext } from './expect';

/** The verify stage's checks in the order TokenVerifier (and jose inside it) makes them. */
export const VERIFY_STEPS = ['header', 'issuer', 'algorithm', 'key', 'signature', 'audience', 'lifetime', 'subject'] as const;
export type VerifyStep = (typeof VERIFY_STEPS)[number];

/** Which check refused, from the reason (and, where one code has several places, the message). */
export function stepOf(e: AuthError): VerifyStep {
  switch (e.code as string) {
    case 'issuer_mismatch':
      return 'issuer';
    case 'algorithm_not_allowed':
      return /none/.test(e.message) ? 'header' : 'algorithm';
    case 'key_not_found':
    case 'keys_unavailable':
      return 'key';
    case 'signature_invalid':
      return 'signature';
    case 'audience_mismatch':
      return 'audience';
    case 'token_expired':
    case 'token_not_yet_valid':
    case 'claim_invalid':
      return 'lifetime';
    case 'claim_missing':
      return /\bsub\b/.test(e.message) ? 'subject' : 'lifetime';
    case 'token_malformed':
      return e.message === 'token is malformed' ? 'signature' : 'header';
    default:
      return 'header';
  }
}

/** What one verify check looks at, from the decoded token and the configuration. */
export function describeStep(step: VerifyStep, c: ExpectContext): string {
  const { header: h, payload: p, issuer: i, nowS } = c;
  switch (step) {
    case 'header':
      return `alg ${show(h?.alg)}, typ ${show(h?.typ)}, kid ${show(h?.kid)}`;
    case 'issuer':
      return `iss ${show(p?.iss)}${i ? ` (a configured ${i.kind} issuer)` : ''}`;
    case 'algorithm':
      return `alg ${show(h?.alg)}${i ? `, allowed ${[...i.jwksAlgorithms, ...(i.hmacSecret ? ['HS256'] : [])].join(', ')}` : ''}`;
    case 'key':
      if (i?.kind === 'hs256' || (h?.alg === 'HS256' && i?.hmacSecret)) return 'the configured HS256 secret (not shown)';
      return `kid ${show(h?.kid)} in the issuer's JWKS`;
    case 'signature':
      return 'the signature (not shown) against that key';
    case 'audience': {
      const claim = (i as { audienceClaim?: string } | undefined)?.audienceClaim ?? 'aud';
      return `${claim} ${show(p?.[claim])}${i ? `, accepted ${i.audiences.map((a) => show(a)).join(', ')}` : ''}`;
    }
    case 'lifetime':
      return [`exp ${when(p?.exp, nowS)}`, p?.nbf !== undefined && `nbf ${when(p.nbf, nowS)}`, p?.iat !== undefined && `iat ${when(p.iat, nowS)}`]
        .filter(Boolean)
        .join(', ');
    case 'subject':
      return `sub ${show(p?.sub)}`;
  }
}
