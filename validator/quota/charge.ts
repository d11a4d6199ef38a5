// Stage 6: charge the user's daily tick quota on quota-charged routes (QUOTA_ROUTES).
import type { Logger } from 'pino';
import type { Config } from '../config';
import { AuthError, invalidRequest, unavailable } from '../errors';
import type { Metrics } from '../observability/metrics';
import { matchRoute } from '../lib/routes';
import type { Principal } from '../token/claims';
import { quotaDate, secondsUntilReset } from './day';
import type { ChargeResult } from '../store/types';

export interface ChargeOutcome {
  /** Headers for the 200: X-Ticks-Charged, X-Ticks-Remaining, RateLimit-*. Empty when the route is not charged. */
  headers: Record<string, string>;
  charged: number;
  /** The route is quota-charged (QUOTA_ROUTES), whatever was charged: such a grant is never cached. */
  quotaRoute: boolean;
}

const POSITIVE_INT = /^[1-9][0-9]{0,8}$/;

/**
 * The amount: `X-Max-Ticks` header or `max_ticks` query parameter of the original URI (the auth
 * subrequest has no body); neither → QUOTA_DEFAULT_TICKS. Both with different values, or anything
 * but a positive integer → 400 max_ticks_invalid (never a silent default: the upstream compares
 * the body's max_ticks with X-Ticks-Charged).
 */
export function ticksRequested(header: string | undefined, uri: string, defaultTicks: number): number {
  const q = uri.indexOf('?');
  const params = q >= 0 ? new URLSearchParams(uri.slice(q + 1)) : undefined;
  const fromQuery = params?.getAll('max_ticks') ?? [];
  const values = [...(header !== undefined ? [header.trim()] : []), ...fromQuery];
  if (values.length === 0) return defaultTicks;
  if (new Set(values).size > 1) throw invalidRequest('max_ticks_invalid', 'max_ticks is given more than once with different values');
  if (!POSITIVE_INT.test(values[0]!)) throw invalidRequest('max_ticks_invalid', 'max_ticks must be a positive whole number');
  return Number(values[0]);
}

/**
 * What this stage needs from the database: one atomic charge. The pipeline passes the store as this
 * (store/ticks.ts implements it), so the stage never loads the store or knows its other methods.
 */
export interface TickLedger {
  /**
   * Charge `ticks` to `userId` on `usageDate` (YYYY-MM-DD in QUOTA_TIMEZONE) in one atomic step, or
   * report why nothing was charged. With `chargeId`, a repeat of the same id charges nothing and
   * reports the original charge with `replayed: true`.
   */
  charge(userId: string, ticks: number, usageDate: string, chargeId?: string): Promise<ChargeResult>;
}

export interface QuotaStage {
  /**
   * `chargeId`: the front's id of the client request (the same on every retry of it); with it and
   * QUOTA_TRUST_CHARGE_ID, a retried decision is charged once (TickLedger.charge). Else every call charges.
   */
  (principal: Principal, method: string, path: string, uri: string, maxTicksHeader: string | undefined, chargeId?: string): Promise<ChargeOutcome>;
}

/** The outcome of a route that is not charged. */
export const NOT_CHARGED: ChargeOutcome = Object.freeze({ headers: Object.freeze({}) as Record<string, string>, charged: 0, quotaRoute: false });

/** Builds the stage. `now` is injectable for day-rollover tests. */
export function createQuotaStage(deps: { config: Config; ledger?: TickLedger; metrics: Metrics; log: Logger; now?: () => Date }): QuotaStage {
  const { config, ledger, metrics, log } = deps;
  const now = deps.now ?? (() => new Date());
  const { routes, defaultTicks, timezone, failOpen, trustChargeId } = config.quota;

  return async (principal, method, path, uri, maxTicksHeader, chargeId) => {
    if (!matchRoute(routes, method, path)) return NOT_CHARGED; // never touches the database
    let ticks: number;
    try {
      ticks = ticksRequested(maxTicksHeader, uri, defaultTicks);
    } catch (e) {
      metrics.quotaCharges.inc({ outcome: 'invalid' });
      throw e;
    }
    const at = now();
    const reset = secondsUntilReset(at, timezone);
    let result;
    const end = metrics.storeSeconds.startTimer({ op: 'charge' });
    try {
      if (!ledger) throw new Error('no quota store');
      // Only a front that sets the id itself and strips the client's may key charges on it: a
      // client that can pick the id could make two requests count as one (QUOTA_TRUST_CHARGE_ID).
      result = await ledger.charge(principal.userId, ticks, quotaDate(at, timezone), trustChargeId ? chargeId : undefined);
      metrics.storeUp.set(1);
    } catch (e) {
      metrics.storeUp.set(0);
      if (e instanceof AuthError) throw e;
      if (failOpen) {
        metrics.quotaCharges.inc({ outcome: 'fail_open' });
        log.warn({ sub: principal.userId, err: (e as Error).message }, 'quota store unavailable; QUOTA_FAIL_OPEN lets the request pass uncharged');
        return { headers: { 'X-Ticks-Charged': '0' }, charged: 0, quotaRoute: true };
      }
      metrics.quotaCharges.inc({ outcome: 'error' });
      log.error({ sub: principal.userId, err: (e as Error).message }, 'quota store unavailable; failing closed');
      throw unavailable('quota_unavailable', 'the quota store is unavailable');
    } finally {
      end();
    }
    const rate = {
      'RateLimit-Limit': String(result.limit),
      'RateLimit-Remaining': String(result.remaining),
      'RateLimit-Reset': String(reset),
    };
    if (result.status === 'exceeds_limit') {
      metrics.quotaCharges.inc({ outcome: 'invalid' });
      throw invalidRequest('max_ticks_invalid', `max_ticks ${ticks} exceeds the daily limit of ${result.limit}`);
    }
    if (result.status === 'exhausted') {
      metrics.quotaCharges.inc({ outcome: 'exhausted' });
      throw new AuthError('quota_exhausted', `daily quota exhausted: ${result.remaining} of ${result.limit} ticks left, ${ticks} requested`, {
        headers: { 'Retry-After': String(reset), ...rate },
      });
    }
    if (result.replayed) {
      // A front retried a decision that was already charged (e.g. the connection to NGINX broke
      // after the commit): grant it again with the same charge, count nothing twice.
      metrics.quotaCharges.inc({ outcome: 'replayed' });
      log.info({ sub: principal.userId, charge_id: chargeId, ticks: result.charged }, 'charge replayed: this request was already charged');
    } else {
      metrics.quotaCharges.inc({ outcome: 'charged' });
      metrics.ticksCharged.inc(result.charged);
    }
    return {
      headers: { 'X-Ticks-Charged': String(result.charged), 'X-Ticks-Remaining': String(result.remaining), ...rate },
      charged: result.charged,
      quotaRoute: true,
    };
  };
}
