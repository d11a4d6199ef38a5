#!/usr/bin/env node
// `tollgate <command>` (package.json "bin"; `npx tollgate …` in a checkout after the build, and in the
// production image): one entry for the operator's commands. Each lives in its own module and is
// loaded only when asked for, so `tollgate check` never loads PGlite or Express.

const USAGE = `usage: tollgate <command> [arguments]

  check [--json]                         is this configuration fit to run? every problem at once,
                                         then the issuers, JWKS, clock, database and NGINX probed
  explain [TOKEN|-] [--method M --uri U] why a token is granted or refused, stage by stage
  migrate                                apply pending database migrations
  quota <show|set-limit|reset|top> …     daily tick quotas (tollgate quota --help)

Each command reads .env, keys.env and the environment as the validator does; \`tollgate <command> --help\` says more.`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Command> = {
  check: () => (require('./check') as typeof import('./check')).main,
  explain: () => (require('./explain') as typeof import('./explain')).main,
  migrate: () => (require('./migrate') as typeof import('./migrate')).main,
  quota: () => (require('./quota') as typeof import('./quota')).main,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    (cmd === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return cmd === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!load) {
    process.stderr.write(`tollgate: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}\n`);
    return 2;
  }
  return load()(args);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`tollgate: ${err.message}\n`);
      process.exit(1);
    },
  );
}
