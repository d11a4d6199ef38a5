// The ceiling of a user's daily tick limit: one constant for the config, the store and the CLI.

/**
 * Highest daily tick limit a profile may have (and QUOTA_DEFAULT_DAILY_TICKS may set). consume_ticks()
 * adds a charge (at most the limit) to ticks_used (at most the limit) in Postgres's 32-bit integer,
 * so twice the limit must stay below 2^31 − 1 or every charge of that user fails with an overflow.
 * migrations/003_limit_cap.sql enforces the same value with a CHECK; SQL cannot import it, so
 * test/unit/daily-limit.test.ts holds the two equal.
 */
export const MAX_DAILY_LIMIT = 1_000_000_000;
