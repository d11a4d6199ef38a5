// Makes embedded PGlite loadable inside jest; import this before anything opens a store.
//
// Why: jest resolves `@electric-sql/pglite` to its CommonJS build (dist/*.cjs). jest.config's
// transform only matches .ts/.js/.mjs, so that file runs untransformed, and its internal
// `import("fs")` calls then need node's --experimental-vm-modules inside jest's VM
// (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG). Pointing jest at the ESM build instead lets
// @swc/jest turn those imports into require(). Production (plain node) is unaffected.
// A one-line fix in jest.config.js (`moduleNameMapper`, or `cjs` in the transform pattern)
// would make this file unnecessary.
import path from 'node:path';

const dist = path.dirname(require.resolve('@electric-sql/pglite'));
jest.mock('@electric-sql/pglite', () => jest.requireActual(path.join(dist, 'index.js')));
jest.mock('@electric-sql/pglite/node-postgres', () => jest.requireActual(path.join(dist, 'node-postgres/index.js')));
