// Removes the run's temporary directory (see global-setup.js), whatever the tests left in it.
const fs = require('node:fs');

module.exports = async () => {
  const dir = process.env.TOLLGATE_TEST_TMPDIR;
  if (dir && dir.includes('tollgate-test-run-')) fs.rmSync(dir, { recursive: true, force: true });
};
