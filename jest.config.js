// Tests run from TypeScript sources through swc (fast, no type-check: `npm test` runs tsc first).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/validator', '<rootDir>/test', '<rootDir>/keycloak', '<rootDir>/scripts'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // jose and PGlite ship ESM only; swc turns them into CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@electric-sql/pglite)/)'],
  testTimeout: 30000,
  maxWorkers: 2,
};
