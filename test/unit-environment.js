// The unit tier's test environment: jest's node environment in which starting a process or opening
// a socket (listening, connecting, fetch) throws, so that `npm run test:unit` stays a few seconds
// of pure computation on any machine. A test that needs either belongs in test/integration.
// Node's core modules are shared by every test file a worker runs: patched in setup(), restored in
// teardown() (which jest runs even when the file's tests fail).
const childProcess = require('node:child_process');
const net = require('node:net');
const NodeEnvironment = require('jest-environment-node').TestEnvironment;

const HINT = 'unit tests start no process and open no socket: move this test to test/integration (docs/ARCHITECTURE.md)';
const refuse = (what) =>
  function refused() {
    throw new Error(`${what}: ${HINT}`);
  };

const PROCESS_FUNCTIONS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'];

class UnitEnvironment extends NodeEnvironment {
  async setup() {
    await super.setup();
    this.saved = [];
    const patch = (target, name, replacement) => {
      this.saved.push([target, name, target[name]]);
      target[name] = replacement;
    };
    for (const f of PROCESS_FUNCTIONS) patch(childProcess, f, refuse(`child_process.${f}`));
    // http(s) servers are net.Servers and every client connection (pg, undici's fetch) is a net.Socket.
    patch(net.Server.prototype, 'listen', refuse('listen'));
    patch(net.Socket.prototype, 'connect', refuse('connect'));
    // The test's own global: a test that injects its fetch is unaffected.
    this.global.fetch = refuse('fetch');
  }

  async teardown() {
    for (const [target, name, original] of (this.saved ?? []).reverse()) target[name] = original;
    await super.teardown();
  }
}

module.exports = UnitEnvironment;
