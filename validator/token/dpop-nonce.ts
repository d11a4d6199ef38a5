// Server-provided DPoP nonces (RFC 9449 §9) without shared state: a nonce is an HMAC of the current
// time step under AUTH_DPOP_NONCE_SECRET, so every instance with the same secret issues and accepts
// the same values, and no client can make one up or keep one for longer than two steps.
import { createHmac } from 'node:crypto';

/** A nonce of the previous, current or next step passes: instances' clocks may differ by a little. */
const ACCEPTED_STEPS = [-1, 0, 1];

export class DpopNonces {
  /** Nonces by step, the few around now (a check is then a string comparison). */
  private readonly bySteps = new Map<number, string>();

  /**
   * `secret`: the HMAC key (AUTH_DPOP_NONCE_SECRET); `stepS`: how long one nonce is issued, seconds
   * (the iat window: a proof made with a nonce is then at most about two windows old).
   */
  constructor(
    private readonly secret: Uint8Array,
    private readonly stepS: number,
  ) {}

  private nonceOf(step: number): string {
    let n = this.bySteps.get(step);
    if (n === undefined) {
      // 128 bits of the MAC are plenty for a value that lives minutes; the label keeps the key to one use.
      n = createHmac('sha256', this.secret).update(`tollgate dpop nonce ${step}`).digest().subarray(0, 16).toString('base64url');
      if (this.bySteps.size >= 8) this.bySteps.delete(this.bySteps.keys().next().value as number);
      this.bySteps.set(step, n);
    }
    return n;
  }

  private stepAt(nowMs: number): number {
    return Math.floor(nowMs / 1000 / this.stepS);
  }

  /** The nonce to hand out now (in `DPoP-Nonce`). */
  current(nowMs: number): string {
    return this.nonceOf(this.stepAt(nowMs));
  }

  /** Whether `nonce` is one this secret issued for a step around now. */
  accepts(nonce: string | undefined, nowMs: number): boolean {
    if (nonce === undefined) return false;
    const step = this.stepAt(nowMs);
    return ACCEPTED_STEPS.some((d) => this.nonceOf(step + d) === nonce);
  }
}
