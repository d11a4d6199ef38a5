// Tests run from TypeScript sources through swc (fast, no type-check: `npm test` runs tsc first).
// Four tiers (docs/ARCHITECTURE.md), each a jest project, chosen by folder: `npm test` runs them
// all; `npm run test:unit` (and test:integration, test:e2e, test:reliability) runs one.

/** What every tier shares. */
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // jose ships ESM only and PGlite's CommonJS build uses import(): swc turns both into require() for jest
  // (otherwise PGlite needs --experimental-vm-modules).
  transformIgnorePatterns: ['/node_modules/(?!(jose|@electric-sql/pglite)/)'],
};

/** Each tier's folders under test/. A test found anywhere else runs with the integration tier. */
const TIERS = {
  // Pure computation: no process, no socket (test/unit-environment.js refuses both). Seconds.
  unit: ['unit'],
  // Through the validator's own HTTP listener (supertest), a spawned validator or CLI, a real
  // Postgres (embedded or server), the development IdP, deployment manifests and their tools.
  integration: ['validator', 'quota', 'integration', 'cli', 'deploy', 'review'],
  // A real front (NGINX, Caddy) before the validator and an upstream: what a client sees.
  e2e: ['e2e', 'perimeter'],
  // Faults, load, clocks, soak and property runs: slow on purpose.
  reliability: ['reliability'],
};

const folders = (names) => names.map((n) => `<rootDir>/test/${n}`);
const others = Object.entries(TIERS)
  .filter(([name]) => name !== 'integration')
  .flatMap(([, names]) => folders(names).map((f) => `${f}/`));

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...base, displayName: 'unit', roots: folders(TIERS.unit), testMatch: ['**/*.test.ts'], testEnvironment: '<rootDir>/test/unit-environment.js' },
    {
      ...base,
      displayName: 'integration',
      roots: ['<rootDir>/validator', '<rootDir>/test', '<rootDir>/keycloak', '<rootDir>/scripts', '<rootDir>/devkit'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...others],
    },
    { ...base, displayName: 'e2e', roots: folders(TIERS.e2e), testMatch: ['**/*.test.ts'] },
    { ...base, displayName: 'reliability', roots: folders(TIERS.reliability), testMatch: ['**/*.test.ts'] },
  ],
  // One temporary directory per run, removed at the end (tests and the servers they spawn use
  // os.tmpdir()): every tier, whichever runs.
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  testTimeout: 30000,
  maxWorkers: 2,
};
