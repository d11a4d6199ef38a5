// What the database is to a configuration: whether any decision asks it something, and whether its
// outage makes decisions fail. Readiness, the start-up checks and `tollgate check` read it here.
import type { Config } from './index';

export interface DatabaseRole {
  /** Some decision asks the database (a charge, a Supabase confirmation). */
  readonly used: boolean;
  /** Its outage refuses requests (503): readiness then depends on it. */
  readonly needed: boolean;
  readonly why: string;
}

/**
 * Charged routes fail closed (503 quota_unavailable) unless QUOTA_FAIL_OPEN lets them pass
 * uncharged; a Supabase issuer that needs confirmed users, and DPoP's replay check, fail closed
 * either way (fail-open covers charges, never who the user is or whether a proof was seen).
 */
export function databaseRole(config: Config): DatabaseRole {
  const supabase = config.auth.issuers.some((i) => i.kind === 'supabase');
  const charged = config.quota.routes.length > 0;
  const dpop = config.auth.dpop.enabled;
  const used = supabase || charged || dpop;
  if (supabase && !config.supabase?.allowUnconfirmed)
    return { used, needed: true, why: 'Supabase users are confirmed in auth.users (QUOTA_FAIL_OPEN does not cover that)' };
  // DPoP proofs are remembered there (token/dpop-replay.ts): without it a replay could pass, so it fails closed.
  if (dpop) return { used, needed: true, why: 'DPoP proofs are checked for replay there (QUOTA_FAIL_OPEN does not cover that)' };
  if (!charged) return { used, needed: false, why: 'no charged routes (QUOTA_ROUTES)' };
  if (config.quota.failOpen) return { used, needed: false, why: 'QUOTA_FAIL_OPEN=true: charged routes pass uncharged while it is down' };
  return { used, needed: true, why: 'charged routes (QUOTA_ROUTES) fail closed without it' };
}
