// Every temporary file of a test run lives under one directory, removed when the run ends:
// os.tmpdir() follows TMPDIR, which jest's workers and every process they spawn inherit.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-test-run-'));
  // NGINX workers run as `nobody` when the tests run as root: they must traverse into it.
  fs.chmodSync(dir, 0o755);
  process.env.TOLLGATE_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
};
