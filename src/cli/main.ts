/**
 * The `portcullis` command line, Kong's `kong` commands with the same names,
 * flags, messages and exit codes (issue 11, item 2). Every command parses its
 * arguments strictly (src/cli/args.ts): `-h`/`--help` prints its usage,
 * anything it does not know is an error naming it.
 */
import process from 'node:process';
import { parseArgs, ArgsError, CONF_FLAGS, SETTING_FLAGS, SETTING_FLAGS_HELP, type CommandSpec } from './args.ts';
import type { FlagMap } from './settings.ts';

const USAGE = `Usage: portcullis COMMAND [OPTIONS]

The available commands are:
  start [-c conf] [--run-migrations]   start the gateway (proxy :8000/:8443, Admin API 127.0.0.1:8001)
  stop [-p prefix]                     stop the node running at the prefix
  quit [-p prefix] [-t s] [-w s]       stop it gracefully (forced after the timeout)
  restart [-c conf]                    stop, then start
  reload [-c conf] [-p prefix]         read kong.conf and the declarative file again, no connection dropped
  health [-p prefix]                   check that the node at the prefix is running and healthy
  check <conf>                         validate a kong.conf
  migrations bootstrap|up|finish|list|status|reset   manage the database schema
  config init|parse|db_export|db_import              declarative configuration (kong.yml)
  version [-a]                         print the Kong version we match and ours
  demo                                 run the walkthrough locally: demo IdP, echo upstream, gateway
  dev idp|echo                         run the demo OpenID Provider / echo upstream

Run 'portcullis COMMAND --help' for a command's options. docs/cli.md describes them all.`;

const START: CommandSpec = {
  usage: `Usage: portcullis start [OPTIONS]

Start the gateway. In the foreground by default; with nginx_daemon = on it
returns once the node is up and runs in the background.

Options:
 --run-migrations         run migrations (bootstrap or up) before starting
${SETTING_FLAGS_HELP}`,
  flags: { ...SETTING_FLAGS, 'run-migrations': { type: 'boolean' } },
  positionals: [0, 0],
};

const SPECS: Record<string, CommandSpec> = {
  start: START,
  restart: { ...START, usage: START.usage.replace('portcullis start', 'portcullis restart').replace('Start the gateway.', 'Stop the node at the prefix (if running), then start it.') },
  stop: {
    usage: `Usage: portcullis stop [OPTIONS]

Stop the node running at the prefix (SIGTERM: in-flight requests finish).

Options:
 -p,--prefix DIR          prefix the node runs at (default: from -c, KONG_PREFIX, or ./data)
 -c,--conf FILE           kong.conf whose prefix to use`,
    flags: CONF_FLAGS,
    positionals: [0, 0],
  },
  quit: {
    usage: `Usage: portcullis quit [OPTIONS]

Gracefully quit the node running at the prefix (SIGQUIT: in-flight requests
finish). After the timeout it is killed.

Options:
 -p,--prefix DIR          prefix the node runs at
 -c,--conf FILE           kong.conf whose prefix to use
 -t,--timeout S           seconds before a forced stop (default 10)
 -w,--wait S              seconds to wait before quitting (default 0)`,
    flags: { ...CONF_FLAGS, timeout: { type: 'string', short: 't' }, wait: { type: 'string', short: 'w' } },
    positionals: [0, 0],
  },
  reload: {
    usage: `Usage: portcullis reload [OPTIONS]

Reload the node running at the prefix (SIGHUP): kong.conf and the declarative
file are read again; connections are kept. Settings bound at start
(listeners, database, workers) are reported and take effect on restart.

Options:
 -c,--conf FILE           kong.conf the node reads from now on
 -p,--prefix DIR          prefix the node runs at`,
    flags: CONF_FLAGS,
    positionals: [0, 0],
  },
  health: {
    usage: `Usage: portcullis health [OPTIONS]

Check that the node at the prefix runs and its Admin API and database answer.

Options:
 -p,--prefix DIR          prefix the node runs at
 -c,--conf FILE           kong.conf whose prefix to use`,
    flags: CONF_FLAGS,
    positionals: [0, 0],
  },
  check: {
    usage: `Usage: portcullis check <conf>

Check the validity of a kong.conf (with the environment's KONG_* variables).`,
    flags: {},
    positionals: [1, 1],
  },
  migrations: {
    usage: `Usage: portcullis migrations COMMAND [OPTIONS]

Manage the database schema (PostgreSQL or SQLite).

The available commands are:
  bootstrap                Bootstrap the database and run all migrations.
  up                       Run any new migrations.
  finish                   Finish running any pending migrations after 'up'.
  list                     List executed migrations (exit 3: needs bootstrap, 5: new migrations).
  status                   Same as list.
  reset                    Reset the database (drop Portcullis' tables).

Options:
 -y,--yes                 assume "yes" to prompts and run non-interactively
 -q,--quiet               suppress all output
${SETTING_FLAGS_HELP}`,
    flags: { ...SETTING_FLAGS, yes: { type: 'boolean', short: 'y' }, quiet: { type: 'boolean', short: 'q' } },
    positionals: [1, 1],
  },
  config: {
    usage: `Usage: portcullis config COMMAND [OPTIONS]

The available commands are:
  init [<file>]            write a commented kong.yml (default ./kong.yml)
  parse <file>             validate a declarative file and print every error
  db_import <file>         replace the stored configuration with a declarative file
  db_export [<file>]       export the stored configuration (stdout without a file)

Options (db_import, db_export):
${SETTING_FLAGS_HELP}`,
    flags: SETTING_FLAGS,
    positionals: [1, 2],
  },
  version: {
    usage: `Usage: portcullis version [OPTIONS]

Print the Kong version whose behaviour this release matches, and ours.

Options:
 -a,--all                 also the Node.js and V8 versions`,
    flags: { all: { type: 'boolean', short: 'a' } },
    positionals: [0, 0],
  },
  demo: {
    usage: `Usage: portcullis demo [OPTIONS]

Run the zero-trust walkthrough locally: demo IdP, echo upstream and gateway.

Options:
 --idp-port 9000  --echo-port 9100  --proxy-port 8000  --admin-port 8001
 --proxy-ssl-port P   also an HTTPS proxy listener (off by default)
 --idp-mtls-port P    also the IdP's mutual-TLS listener: certificate-bound tokens (off by default)
 --log-level notice  --session-secret S
 --database sqlite|postgres   postgres: the database of KONG_PG_* (an empty one: the demo
                              loads its configuration into it); other nodes may join it`,
    flags: Object.fromEntries(['idp-port', 'echo-port', 'proxy-port', 'admin-port', 'proxy-ssl-port', 'idp-mtls-port', 'log-level', 'session-secret', 'database'].map((f) => [f, { type: 'string' as const }])),
    positionals: [0, 0],
  },
};

const MIGRATIONS_SUBS = new Set(['bootstrap', 'up', 'finish', 'list', 'status', 'reset']);
const CONFIG_SUBS = new Set(['init', 'parse', 'db_export', 'db_import']);

async function run(command: string, flags: FlagMap, positional: string[], rest: readonly string[]): Promise<number> {
  switch (command) {
    case 'start': {
      const { start } = await import('./commands/start.ts');
      return start(flags, rest);
    }
    case 'restart': {
      const { stop, prefixOf } = await import('./commands/node-control.ts');
      const { runningPid } = await import('./prefix.ts');
      if (runningPid(prefixOf(flags)) !== null) {
        const code = await stop(flags);
        if (code !== 0) return code;
      }
      const { start } = await import('./commands/start.ts');
      return start(flags, ['start', ...rest.slice(1)]);
    }
    case 'stop':
    case 'quit':
    case 'reload':
    case 'health': {
      const control = await import('./commands/node-control.ts');
      return control[command](flags);
    }
    case 'check': {
      const { check } = await import('./commands/check.ts');
      return check(positional[0]!);
    }
    case 'migrations': {
      const sub = positional[0]!;
      if (!MIGRATIONS_SUBS.has(sub)) throw new ArgsError(`unknown migrations command '${sub}'`);
      const { loadSettings } = await import('./settings.ts');
      const { settings, warnings } = loadSettings(flags);
      if (flags.quiet !== true) for (const w of warnings) process.stderr.write(`warn: ${w}\n`);
      const { migrationsCommand } = await import('./commands/migrations.ts');
      return migrationsCommand(sub as 'list', settings, { yes: flags.yes === true, quiet: flags.quiet === true });
    }
    case 'config': {
      const sub = positional[0]!;
      if (!CONFIG_SUBS.has(sub)) throw new ArgsError(`unknown config command '${sub}'`);
      const files = positional.slice(1);
      if ((sub === 'parse' || sub === 'db_import') && files.length === 0) throw new ArgsError(`config ${sub}: missing <file>`);
      const { config } = await import('./commands/config.ts');
      return config(sub as 'init', flags, files);
    }
    case 'version': {
      const { VERSION, KONG_COMPAT_VERSION } = await import('../version.ts');
      // `version` is Kong's release whose behaviour we match (scripts and tools compare it); ours follows.
      process.stdout.write(`Kong ${KONG_COMPAT_VERSION} (Portcullis ${VERSION})\n`);
      if (flags.all === true) process.stdout.write(`Portcullis: ${VERSION}\nKong: ${KONG_COMPAT_VERSION}\nNode.js: ${process.versions.node}\nV8: ${process.versions.v8}\n`);
      return 0;
    }
    case 'demo': {
      const { demo } = await import('./commands/demo.ts');
      return demo(flags);
    }
  }
  throw new ArgsError(`unknown command '${command}'`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (command === '--version' || command === '-v') return run('version', {}, [], []);
  if (command === 'dev') {
    const [what, ...rest] = args;
    const dev = await import('../dev/cli.ts');
    if (what === 'idp') return dev.runDevIdp(rest);
    if (what === 'echo') return dev.runDevEcho(rest);
    process.stderr.write('Usage: portcullis dev idp|echo [--host H] [--port P]\n');
    return what === '--help' || what === '-h' ? 0 : 2;
  }
  const spec = SPECS[command];
  if (spec === undefined) {
    process.stderr.write(`Error: unknown command '${command}'\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const parsed = parseArgs(args, spec);
    if (parsed.help) {
      process.stdout.write(spec.usage + '\n');
      return 0;
    }
    return await run(command, parsed.flags, parsed.positional, argv);
  } catch (err) {
    if (err instanceof ArgsError) {
      process.stderr.write(`Error: ${err.message}\n\n${spec.usage}\n`);
      return 2;
    }
    if ((err as Error).name === 'SettingsError') {
      process.stderr.write(`Error: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Long-running commands return -1 and keep the process alive.
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
