// Tests run from TypeScript sources through swc (fast, no type-check: `npm test` runs tsc first).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/validator', '<rootDir>/test', '<rootDir>/keycloak', '<rootDir>/scripts'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // jose ships ESM only and PGlite's CommonJS build uses import(): swc turns both into require() for jest
  // (otherwise PGlite needs --experimental-vm-modules).
  transformIgnorePatterns: ['/node_modules/(?!(jose|@electric-sql/pglite)/)'],
  // One temporary directory per run, removed at the end (tests and the servers they spawn use os.tmpdir()).
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  testTimeout: 30000,
  maxWorkers: 2,
};
