// The repository's root directory, the same whether this file runs from its source (jest, through
// swc) or from the build (dist/devkit/root.js): every path to the checkout starts here.
import path from 'node:path';

const up = path.resolve(__dirname, '..');

/** The checkout: the directory holding package.json, nginx/, migrations/ and dist/. */
export const REPO_ROOT = path.basename(up) === 'dist' ? path.dirname(up) : up;

/** A path inside the build output (`dist/…`), e.g. `distPath('validator', 'server.js')`. */
export const distPath = (...segments: string[]): string => path.join(REPO_ROOT, 'dist', ...segments);
