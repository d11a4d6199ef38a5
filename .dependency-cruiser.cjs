// The layers of validator/ as rules that `npm run lint:layers` (and so CI) checks: imports point down only.
//
//   entry points   cli/  server.ts              (wire real parts; nothing in validator/ imports them)
//        |         probes/                      (start-up and `tollgate check` probes: used by the entry points only)
//   http           http/
//   pipeline       pipeline.ts  reload.ts  debug-facts.ts  explain/
//   stages         token/   policy/ quota/      (policy and quota read token's types only)
//   store          store/                       (above it, only store/types.ts, and only `import type`)
//   config         config/
//   lib            lib/                         (pure: imports lib only, no package, no node: module)
//   base           errors.ts  reasons.ts (+ reasons-gateway.ts)  observability/
//
// A layer may import any layer below it, never one above. devkit/ (the test and dev machinery) may
// import validator/; validator/ imports none of devkit/, test/, bench/, scripts/. No cycles (inside
// config/, type-only ones: see no-circular-at-runtime). TypeScript 7 has no compiler API, so the
// sources are parsed with swc, which marks `import type` (rules below rely on it).

const V = '^validator/';
const ENTRY = '^validator/(cli/|server\\.ts$)';
const PROBES = '^validator/probes/';
const HTTP = '^validator/http/';
const PIPELINE = '^validator/((pipeline|reload|debug-facts)\\.ts$|explain/)';
const TOKEN = '^validator/token/';
const STAGES = '^validator/(token|policy|quota)/';
const STORE = '^validator/store/';
const STORE_TYPES = '^validator/store/types\\.ts$';
const CONFIG = '^validator/config/';
const LIB = '^validator/lib/';
const BASE = '^validator/((errors|reasons|reasons-gateway)\\.ts$|observability/)';

/** A layer that imports, inside validator/, nothing but the paths in `allowed`. */
const only = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: V, pathNot: allowed },
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle (type-only ones too) means two modules are one: merge them or move the shared part down.',
      severity: 'error',
      from: { path: '^(validator|devkit)/', pathNot: CONFIG },
      to: { circular: true },
    },
    {
      // Inside config/ only type-only cycles are let through: the table (schema.ts) derives
      // VariableName from itself and draws its parsers from the modules that also name variables,
      // so their `import type` of VariableName or Reading closes a loop that the compiler erases.
      name: 'no-circular-at-runtime',
      comment: 'config/ may have type-only cycles (erased by the compiler), never one that loads at run time.',
      severity: 'error',
      from: { path: CONFIG },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'validator-not-tooling',
      comment: 'The service ships without devkit/, test/, bench/ and scripts/.',
      severity: 'error',
      from: { path: V },
      to: { path: '^(devkit|test|bench|scripts|keycloak)/' },
    },
    {
      name: 'devkit-not-its-users',
      comment: 'devkit/ is what tests, bench and scripts share: it imports none of them.',
      severity: 'error',
      from: { path: '^devkit/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'entry-points-not-imported',
      comment: 'cli/ and server.ts wire the real parts; inside validator/ only one CLI module imports another.',
      severity: 'error',
      from: { path: V, pathNot: '^validator/cli/' },
      to: { path: ENTRY },
    },
    {
      name: 'probes-only-from-entry-points',
      comment: 'probes/ checks a deployment from outside the request path (start-up, `tollgate check`).',
      severity: 'error',
      from: { path: V, pathNot: `${ENTRY}|${PROBES}` },
      to: { path: PROBES },
    },
    only('http-layer', HTTP, `${HTTP}|${PIPELINE}|${STAGES}|${STORE_TYPES}|${CONFIG}|${LIB}|${BASE}`,
      'http/ serves decisions; it reaches the store through its types only (the entry point passes a real one).'),
    only('pipeline-layer', PIPELINE, `${PIPELINE}|${STAGES}|${STORE_TYPES}|${CONFIG}|${LIB}|${BASE}`,
      'The pipeline runs the stages and knows nothing of HTTP.'),
    only('token-stage', TOKEN, `${TOKEN}|${STORE_TYPES}|${CONFIG}|${LIB}|${BASE}`,
      'token/ is the first stage: it imports no other stage.'),
    only('policy-stage', '^validator/policy/', `^validator/policy/|${TOKEN}|${STORE_TYPES}|${CONFIG}|${LIB}|${BASE}`,
      'policy/ judges a verified principal; a stage that needs data asks through a small interface.'),
    only('quota-stage', '^validator/quota/', `^validator/quota/|${TOKEN}|${STORE_TYPES}|${CONFIG}|${LIB}|${BASE}`,
      'quota/ charges through the store interface in store/types.ts, never the store itself.'),
    {
      name: 'stages-read-token-types-only',
      comment: "policy/ and quota/ take the token stage's output (Principal) as a type; they never call into it.",
      severity: 'error',
      from: { path: '^validator/(policy|quota)/' },
      to: { path: TOKEN, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'store-types-type-only',
      comment: 'Above the store, store/types.ts is an interface to code against: `import type` only, so no driver is loaded.',
      severity: 'error',
      from: { path: `${HTTP}|${PIPELINE}|${STAGES}` },
      to: { path: STORE_TYPES, dependencyTypesNot: ['type-only'] },
    },
    only('store-layer', STORE, `${STORE}|${CONFIG}|${LIB}|${BASE}`,
      'store/ is repositories over one pool; it depends on lib, errors, reasons and observability.'),
    {
      name: 'store-config-types-only',
      comment: 'The store is handed its options; it reads config types, never the configuration reader.',
      severity: 'error',
      from: { path: STORE },
      to: { path: CONFIG, dependencyTypesNot: ['type-only'] },
    },
    only('config-layer', CONFIG, `${CONFIG}|${LIB}|${BASE}`,
      'config/ parses the environment with lib\'s pure parsers; it knows no stage.'),
    only('lib-pure', LIB, LIB, 'lib/ is pure functions (paths, routes, scopes, subject): it imports lib only.'),
    {
      name: 'lib-no-packages',
      comment: 'lib/ stays pure: no npm package, no node: module.',
      severity: 'error',
      from: { path: LIB },
      to: { pathNot: V },
    },
    only('base-layer', BASE, BASE, 'errors, reasons and observability are the floor: they import nothing else of validator/.'),
  ],
  options: {
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
