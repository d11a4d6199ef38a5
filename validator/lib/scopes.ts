// The one definition of a scope that tollgate can forward and match: shared by the token's claims
// and the route rules, so a rule can never name a scope that no token could satisfy.

/**
 * RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ), minus the comma (%x2C). The RFC allows a
 * comma inside a scope, but X-Scopes is comma-joined (RFC 9110 list syntax), so `x,admin` would
 * reach the upstream as two scopes `x` and `admin`.
 */
export const SCOPE_TOKEN = /^[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+$/;
