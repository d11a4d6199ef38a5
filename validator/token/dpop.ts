// Stage 3c, DPoP (RFC 9449 §7): a token bound to a DPoP key (cnf.jkt), or any token of an issuer that
// requires DPoP, passes only as `Authorization: DPoP` with a proof of that key for this very request
// (dpop-proof.ts), seen for the first time (dpop-replay.ts) and, with AUTH_DPOP_NONCE, carrying a
// current server nonce (dpop-nonce.ts). It runs on every request: the verified-token cache keeps the
// token's verification, never a proof's.
import type { Config } from '../config';
import { invalidRequest } from '../errors';
import type { Metrics } from '../observability/metrics';
import { bindingOf } from './binding';
import { DpopNonces } from './dpop-nonce';
import { checkProof, proofRefused } from './dpop-proof';
import { createReplayGuard, type ProofLedger, type ReplayScope } from './dpop-replay';
import type { Credentials } from './extract';
import type { VerifiedToken } from './verify';

/** The request as the DPoP check needs it. */
export interface DpopInput {
  readonly credentials: Credentials;
  /** The DPoP header's value (the first) and how many came. */
  readonly proof?: string;
  readonly proofCount: number;
  /** The original request; undefined when the front sent none (then no proof can be checked). */
  readonly route?: { readonly method: string; readonly path: string };
}

export interface DpopStageDeps {
  config: Config;
  /** The store's proofs repository; undefined: a per-instance cache (AUTH_DPOP_REPLAY_CACHE_MAX). */
  ledger?: ProofLedger;
  metrics: Metrics;
  /** Clock, ms. */
  now: () => number;
}

export interface DpopStage {
  /**
   * Passes, resolving `true`, when the token needed a proof and the request carried a good one;
   * `false` when the token needs none (a bearer token that may pass as one). Throws the refusal.
   */
  check(input: DpopInput, verified: VerifiedToken): Promise<boolean>;
  /** Response headers of a grant: the next nonce (RFC 9449 §9: a 200 may carry one). */
  readonly grantHeaders: (nowMs: number) => Readonly<Record<string, string>>;
  readonly replayScope: ReplayScope;
}

const NONE = Object.freeze({});

export function createDpopStage({ config, ledger, metrics, now }: DpopStageDeps): DpopStage {
  const { dpop } = config.auth;
  const algs = dpop.algorithms;
  const leewayS = dpop.iatWindowS + config.auth.clockToleranceS;
  const nonces = dpop.nonceSecret === undefined ? undefined : new DpopNonces(dpop.nonceSecret, dpop.iatWindowS);
  const replay = createReplayGuard(ledger, dpop.replayCacheMax);
  const counted = <E>(outcome: string, e: E): E => {
    metrics.dpopProofs.inc({ outcome });
    return e;
  };

  async function check(input: DpopInput, verified: VerifiedToken): Promise<boolean> {
    const policy = verified.issuer.dpop ?? 'off';
    const jkt = bindingOf(verified)?.jkt;
    const dpopScheme = input.credentials.scheme === 'dpop';
    if (jkt === undefined) {
      if (policy === 'required')
        throw counted(
          'dpop_binding_mismatch',
          proofRefused('dpop_binding_mismatch', "this issuer's tokens must be DPoP-bound (cnf.jkt); this one is a bearer token", algs),
        );
      // RFC 9449 §7.1: the DPoP scheme is for DPoP-bound tokens only
      if (dpopScheme)
        throw counted(
          'dpop_binding_mismatch',
          proofRefused('dpop_binding_mismatch', 'Authorization: DPoP with a token that is not DPoP-bound (no cnf.jkt)', algs),
        );
      return false;
    }
    // Bound to a key tollgate will not check for this issuer: never a bearer token for that.
    if (policy === 'off')
      throw counted(
        'dpop_binding_mismatch',
        proofRefused('dpop_binding_mismatch', 'the token is DPoP-bound (cnf.jkt) and DPoP is not enabled for its issuer', algs),
      );
    // RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused (a downgrade)
    if (!dpopScheme)
      throw counted(
        'dpop_proof_missing',
        proofRefused('dpop_proof_missing', 'a DPoP-bound token must be sent as Authorization: DPoP with a DPoP proof, not as Bearer', algs),
      );
    if (input.route === undefined)
      throw invalidRequest('request_invalid', 'the original request is missing: a DPoP proof is checked against its method and URI');
    const nowMs = now();
    let proof;
    try {
      proof = checkProof(
        { proof: input.proof, proofCount: input.proofCount, method: input.route.method, path: input.route.path, accessToken: input.credentials.token },
        { algorithms: algs, publicOrigin: dpop.publicOrigin!, iatLeewayS: leewayS, nowS: nowMs / 1000 },
      );
    } catch (e) {
      throw counted((e as { code?: string }).code ?? 'error', e);
    }
    if (proof.thumbprint !== jkt)
      throw counted(
        'dpop_binding_mismatch',
        proofRefused('dpop_binding_mismatch', 'the DPoP proof is signed with another key than the one the token is bound to (cnf.jkt)', algs),
      );
    if (nonces && !nonces.accepts(proof.nonce, nowMs)) {
      const why = proof.nonce === undefined ? 'the DPoP proof needs a server nonce' : "the DPoP proof's nonce is stale or not ours";
      throw counted('dpop_nonce_required', proofRefused('dpop_nonce_required', why, algs, { 'DPoP-Nonce': nonces.current(nowMs) }));
    }
    // Remembered until the proof's iat leaves the window (+1 s for the rounding of iat): a replay
    // after that fails the iat check anyway.
    const expiresAtMs = (proof.iat + leewayS + 1) * 1000;
    if (!(await replay.firstUse(proof.thumbprint, proof.jti, verified.issuer.issuer, expiresAtMs, nowMs))) {
      throw counted('dpop_replayed', proofRefused('dpop_replayed', 'this DPoP proof was already used (jti)', algs));
    }
    metrics.dpopProofs.inc({ outcome: 'ok' });
    return true;
  }

  return {
    check,
    grantHeaders: nonces ? (nowMs) => ({ 'DPoP-Nonce': nonces.current(nowMs) }) : () => NONE,
    replayScope: replay.scope,
  };
}
