/**
 * `portcullis` command line: start · config parse|db_export|db_import · version · health · dev idp|echo
 */
import { parseFlags } from './settings.ts';

const USAGE = `Usage: portcullis <command> [options]

Commands:
  start                       start the gateway (proxy :8000/:8443, Admin API 127.0.0.1:8001)
  config parse FILE           validate a declarative file (kong.yml) and print every error
  config db_export [FILE]     export the stored configuration as declarative YAML (stdout without FILE)
  config db_import FILE       replace the stored configuration with a declarative file
  version                     print the version
  health                      check a running gateway through its Admin API (exit 0 when healthy)
  demo                        run the whole walkthrough locally: demo IdP (:9000), echo (:9100), gateway (:8000/:8001)
  dev idp                     run the local demo OpenID Provider
  dev echo                    run the local echo upstream (like httpbin's /anything)

Options for start (flag › PORTCULLIS_* env › KONG_* env › default):
  --proxy-listen "0.0.0.0:8000, 0.0.0.0:8443 ssl"    --admin-listen 127.0.0.1:8001
  --database sqlite|postgres|off                     --declarative-config kong.yml (implies off)
  --data-dir ./data     --workers N (default: CPUs)   --log-level info
  --admin-token T       --trusted-ips CIDR,...        --session-secret S   --redis-url redis://...
  --pg-host --pg-port --pg-user --pg-password --pg-database
  --mem-cache-size 128m --lua-shared-dict "name size, ..."
See README.md for the full reference.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const { start } = await import('./commands/start.ts');
      return start(parseFlags(rest).flags);
    }
    case 'demo': {
      const { demo } = await import('./commands/demo.ts');
      return demo(parseFlags(rest).flags);
    }
    case 'config': {
      const { config } = await import('./commands/config.ts');
      return config(rest);
    }
    case 'version':
    case '--version':
    case '-v': {
      const { VERSION, KONG_COMPAT_VERSION } = await import('../version.ts');
      process.stdout.write(`Portcullis ${VERSION} (Kong ${KONG_COMPAT_VERSION} compatible Admin API)\n`);
      return 0;
    }
    case 'health': {
      const { health } = await import('./commands/health.ts');
      return health(parseFlags(rest).flags);
    }
    case 'dev': {
      const [what, ...args] = rest;
      const dev = await import('../dev/cli.ts');
      if (what === 'idp') return dev.runDevIdp(args);
      if (what === 'echo') return dev.runDevEcho(args);
      process.stderr.write('usage: portcullis dev idp|echo [--host H] [--port P]\n');
      return 2;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command '${command}'\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Long-running commands return -1 and keep the process alive.
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`portcullis: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
