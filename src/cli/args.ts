/**
 * Strict command-line parsing (issue 11, item 2): every command declares its
 * flags; an unknown flag, a missing value or an extra argument is an error
 * naming it (with the command's usage, exit 2), and `-h`/`--help` anywhere
 * prints the usage (exit 0). Nothing on a command line is silently ignored.
 */
import { SETTINGS } from './conf-keys.ts';
import type { FlagMap } from './settings.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** One-letter alias, e.g. `c` for `-c`. */
  short?: string;
}

export interface CommandSpec {
  usage: string;
  flags: Readonly<Record<string, FlagSpec>>;
  /** Positional arguments allowed: [min, max]. */
  positionals: readonly [number, number];
}

export class ArgsError extends Error {
  override name = 'ArgsError';
}

export type Parsed = { help: true } | { help: false; flags: FlagMap; positional: string[] };

export function parseArgs(argv: readonly string[], spec: CommandSpec): Parsed {
  if (argv.includes('-h') || argv.includes('--help')) return { help: true };
  const byShort = new Map<string, string>();
  for (const [name, f] of Object.entries(spec.flags)) if (f.short !== undefined) byShort.set(f.short, name);
  const flags: FlagMap = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      inline = eq === -1 ? undefined : a.slice(eq + 1);
    } else if (a.startsWith('-') && a.length > 1) {
      const long = byShort.get(a.slice(1));
      if (long === undefined) throw new ArgsError(`unknown option '${a}'`);
      name = long;
    } else {
      positional.push(a);
      continue;
    }
    const f = spec.flags[name];
    if (f === undefined) throw new ArgsError(`unknown option '${a.split('=')[0]}'`);
    if (f.type === 'boolean') {
      if (inline !== undefined && !['true', 'false', 'on', 'off'].includes(inline)) throw new ArgsError(`option '--${name}' takes no value (got '${inline}')`);
      flags[name] = inline === undefined || inline === 'true' || inline === 'on';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ArgsError(`option '${a}' needs a value`);
    flags[name] = value;
  }
  const [min, max] = spec.positionals;
  if (positional.length > max) throw new ArgsError(`unexpected argument '${positional[max]}'`);
  if (positional.length < min) throw new ArgsError('missing argument');
  return { help: false, flags, positional };
}

/** -c/--conf and -p/--prefix, as Kong's commands take them. */
export const CONF_FLAGS: Readonly<Record<string, FlagSpec>> = {
  conf: { type: 'string', short: 'c' },
  prefix: { type: 'string', short: 'p' },
};

/** Every setting of conf-keys.ts as a --kebab-case flag (`--proxy-listen`, `--pg-host`, …), plus -c and -p. */
export const SETTING_FLAGS: Readonly<Record<string, FlagSpec>> = {
  ...Object.fromEntries(Object.keys(SETTINGS).map((k) => [k.replace(/_/g, '-'), { type: 'string' } as FlagSpec])),
  ...CONF_FLAGS,
};

export const SETTING_FLAGS_HELP = `Settings (flag › PORTCULLIS_* › KONG_* › kong.conf › default; docs/cli.md lists every property):
 -c,--conf FILE           kong.conf to read (default: /etc/kong/kong.conf when it exists)
 -p,--prefix DIR          prefix: pid file, .kong_env, logs, SQLite database (default ./data)
 --proxy-listen "0.0.0.0:8000, 0.0.0.0:8443 ssl"   --admin-listen 127.0.0.1:8001
 --database sqlite|postgres|off   --declarative-config kong.yml   --plugins bundled,...
 --pg-host --pg-port --pg-user --pg-password --pg-database --pg-schema --pg-timeout
 --nginx-worker-processes N|auto  --log-level info   --nginx-daemon on|off
 --admin-token T  --trusted-ips CIDR,...  --session-secret S  --redis-url redis://...
 (every kong.conf property of docs/cli.md is also a --kebab-case flag)`;
