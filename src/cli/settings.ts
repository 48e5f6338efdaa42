/**
 * Start-up settings from flags, PORTCULLIS_* and Kong's KONG_* environment
 * variables, and a kong.conf file (so a Kong user's configuration works
 * unchanged). Precedence, highest first:
 *   flag › PORTCULLIS_* › KONG_* › kong.conf (`-c`) › default.
 * Kong's own precedence is env › file › default; flags and PORTCULLIS_* sit
 * above it so that an explicit command line or a Portcullis-specific
 * variable always wins over an inherited Kong environment.
 *
 * Every property name is known to src/cli/conf-keys.ts: with an effect,
 * accepted only at Kong's default, or accepted with a "no effect" warning;
 * anything else is warned about as unknown (principle 13).
 */
import process from 'node:process';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_ONLY, kindOf, noEffectReason } from './conf-keys.ts';
import { parseBool, parseList, readKongConf, type KongConf } from './kong-conf.ts';
import { SettingsError } from './settings-error.ts';
import { parseInstrumentations, parseSamplingRate } from '../core/tracing/instrumentations.ts';

export { SettingsError };

export type { ListenSpec, Settings } from '../settings.ts';
import type { ListenSpec, Settings } from '../settings.ts';

/** Default prefix (Kong: /usr/local/kong): ./data, where the SQLite database has always lived. */
export const DEFAULT_PREFIX = 'data';

/** Kong reads these when no `-c` is given (kong/conf_loader DEFAULT_PATHS). */
export const DEFAULT_CONF_PATHS: readonly string[] = ['/etc/kong/kong.conf', '/etc/kong.conf'];

const LOG_LEVELS = new Set(['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg']);

/** Kong's listen syntax: "0.0.0.0:8000 reuseport backlog=16384, [::]:8443 http2 ssl", or "off". */
export function parseListen(value: string, what: string): ListenSpec[] {
  const v = value.trim();
  if (v === '' || v === 'off') return [];
  const out: ListenSpec[] = [];
  for (const part of v.split(',')) {
    const words = part.trim().split(/\s+/);
    const addr = words[0] ?? '';
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(addr) ?? /^()()(\d{1,5})$/.exec(addr);
    if (m === null) throw new SettingsError(`${what}: cannot parse listen address '${addr}' (expected host:port)`);
    const port = Number(m[3]);
    if (port > 65535) throw new SettingsError(`${what}: port ${port} out of range`);
    out.push({ host: m[1] || m[2] || '0.0.0.0', port, ssl: words.includes('ssl') });
  }
  return out;
}

/** Kong's `headers` setting: "server_tokens, latency_tokens" or "off". */
function parseHeaders(v: string | undefined): { serverTokens: boolean; latencyTokens: boolean } {
  if (v === undefined) return { serverTokens: true, latencyTokens: true };
  const list = parseList(v.toLowerCase());
  if (list.includes('off')) return { serverTokens: false, latencyTokens: false };
  return { serverTokens: list.includes('server_tokens'), latencyTokens: list.includes('latency_tokens') };
}

/** Kong's `plugins`: "bundled" (default), "off", or a list that may include "bundled". */
function parsePlugins(v: string | undefined): string[] | null {
  if (v === undefined) return null;
  const list = parseList(v);
  if (list.length === 1 && list[0] === 'off') return [];
  if (list.includes('off')) throw new SettingsError(`plugins: 'off' cannot be combined with other values (got '${v}')`);
  if (list.includes('bundled')) return list.length === 1 ? null : ['bundled', ...list.filter((p) => p !== 'bundled')];
  return list;
}

/**
 * Kong's plugin servers: `pluginserver_names = js` and, per name,
 * `pluginserver_<name>_start_cmd` (else `_query_cmd`). Only kong-js-pluginserver
 * is understood: its `--plugins-directory` (`-d`) is where the plugins are,
 * and they run in-process. Another server (Go, Python) is refused by name.
 */
export function parsePluginServers(pick: (key: string) => string | undefined): { name: string; directory: string }[] {
  const names = parseList(pick('pluginserver_names') ?? '');
  const out: { name: string; directory: string }[] = [];
  for (const name of names) {
    const key = name.replace(/-/g, '_');
    const cmdKey = pick(`pluginserver_${key}_start_cmd`) !== undefined ? `pluginserver_${key}_start_cmd` : `pluginserver_${key}_query_cmd`;
    const cmd = pick(cmdKey);
    if (cmd === undefined) {
      throw new SettingsError(`pluginserver_names: '${name}' needs pluginserver_${key}_start_cmd naming kong-js-pluginserver and its --plugins-directory (Portcullis runs JavaScript plugins in-process)`);
    }
    const argv = cmd.trim().split(/\s+/);
    const server = argv.findIndex((a) => /(^|\/)kong-js-pluginserver(\.js)?$/.test(a));
    if (server === -1) {
      throw new SettingsError(`${cmdKey} = ${cmd}: only kong-js-pluginserver (JavaScript plugins) is supported; Portcullis runs its plugins in-process and cannot start other plugin servers`);
    }
    let directory: string | null = null;
    for (let i = server + 1; i < argv.length; i++) {
      const a = argv[i]!;
      const eq = /^--?plugins-directory=(.*)$/.exec(a);
      if (eq !== null) directory = eq[1]!;
      else if ((a === '-d' || a === '--plugins-directory' || a === '-plugins-directory') && i + 1 < argv.length) directory = argv[++i]!;
    }
    if (directory === null) throw new SettingsError(`${cmdKey} = ${cmd}: no --plugins-directory (-d) to load the plugins from`);
    out.push({ name, directory });
  }
  return out;
}

function positiveInt(v: string, key: string, max: number): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new SettingsError(`${key}: expected a whole number from 1 to ${max} (got '${v}')`);
  return n;
}

/** nginx's size syntax as Kong uses it: "128m", "512k", "1g", or bytes. */
export function parseSize(value: string, what: string): number {
  const m = /^\s*(\d+)\s*([kmg]?)\s*$/i.exec(value);
  if (m === null) throw new SettingsError(`${what}: expected a size such as 128m, 512k or 1g (got '${value}')`);
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
}

/** "name size[, name size]…" (Kong: nginx_http_lua_shared_dict = "name size"). */
export function parseSharedDicts(value: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (value === undefined) return out;
  for (const part of value.split(/[,;]/)) {
    const words = part.trim().split(/\s+/);
    if (words.length === 1 && words[0] === '') continue;
    if (words.length !== 2) throw new SettingsError(`lua_shared_dict: expected "name size" (got '${part.trim()}')`);
    out[words[0]!] = parseSize(words[1]!, `lua_shared_dict ${words[0]}`);
  }
  return out;
}

function tracingSetting(parse: () => number): number {
  try {
    return parse();
  } catch (err) {
    throw new SettingsError((err as Error).message);
  }
}

/**
 * Kong's `admin_gui_url` ("http://127.0.0.1:8003, https://example.com/manager")
 * reduced to origins, as Kong's conf_loader makes `admin_gui_origin` of it:
 * scheme://host[:port], the path dropped.
 */
export function parseAdminGuiOrigins(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const item of parseList(value)) {
    let url: URL | null = null;
    try {
      url = new URL(item);
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
      throw new SettingsError(`admin_gui_url: expected <scheme>://<host>[:<port>][<path>] with scheme http or https (got '${item}')`);
    }
    out.push(url.origin);
  }
  return out;
}

export interface FlagMap {
  [flag: string]: string | boolean | undefined;
}

/** kebab-case flag of a property: `proxy_listen` → `proxy-listen`. */
const flagOf = (key: string): string => key.replace(/_/g, '-');

export function resolveSettings(flags: FlagMap, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), conf: KongConf | null = null): Settings {
  const pick = (key: string): string | undefined => {
    const f = flags[flagOf(key)];
    if (typeof f === 'string') return f;
    if (f === true) return 'true';
    const upper = key.toUpperCase();
    return env[`PORTCULLIS_${upper}`] ?? env[`KONG_${upper}`] ?? conf?.values.get(key);
  };
  for (const [key, [dflt, missing]] of Object.entries(DEFAULT_ONLY)) {
    const v = pick(key);
    if (v !== undefined && v.trim().toLowerCase() !== dflt) throw new SettingsError(`${key} = ${v}: only '${dflt}' is supported (${missing})`);
  }
  const declarativeConfig = pick('declarative_config') ?? null;
  let database = (pick('database') ?? (declarativeConfig !== null ? 'off' : 'sqlite')).toLowerCase();
  if (database === 'postgresql') database = 'postgres';
  if (database !== 'sqlite' && database !== 'postgres' && database !== 'off') {
    throw new SettingsError(`database: expected one of sqlite, postgres, off (got '${database}')`);
  }
  const workersRaw = pick('workers') ?? pick('nginx_worker_processes');
  const workers = workersRaw === undefined || workersRaw === 'auto' ? availableParallelism() : positiveInt(workersRaw, 'nginx_worker_processes', 256);
  const logLevel = (pick('log_level') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.has(logLevel)) throw new SettingsError(`log_level: expected one of ${[...LOG_LEVELS].join(', ')} (got '${logLevel}')`);
  const trusted = pick('trusted_ips');
  const realIpRecursive = pick('real_ip_recursive');
  const daemon = pick('nginx_daemon');
  const pgTimeout = pick('pg_timeout');
  const pgPort = pick('pg_port');
  const statusListen = parseListen(pick('status_listen') ?? 'off', 'status_listen');
  if (statusListen.some((l) => l.ssl)) throw new SettingsError('status_listen: ssl is not supported (the status listener serves plain HTTP)');
  return {
    proxyListen: parseListen(pick('proxy_listen') ?? '0.0.0.0:8000, 0.0.0.0:8443 ssl', 'proxy_listen'),
    adminListen: parseListen(pick('admin_listen') ?? '127.0.0.1:8001', 'admin_listen'),
    // Kong's default is 127.0.0.1:8007; ours is off (docs/cli.md): a port nobody asked for stays closed.
    statusListen,
    database,
    dataDir: resolve(cwd, pick('data_dir') ?? pick('prefix') ?? DEFAULT_PREFIX),
    declarativeConfig: declarativeConfig !== null ? resolve(cwd, declarativeConfig) : null,
    pg: {
      host: pick('pg_host') ?? '127.0.0.1',
      port: pgPort === undefined ? 5432 : positiveInt(pgPort, 'pg_port', 65535),
      // Kong's defaults (user and database `kong`), so a Kong user's environment finds its database.
      user: pick('pg_user') ?? 'kong',
      password: pick('pg_password') ?? '',
      database: pick('pg_database') ?? 'kong',
      schema: pick('pg_schema') ?? null,
      ...(pgTimeout !== undefined ? { timeoutMs: positiveInt(pgTimeout, 'pg_timeout', 3_600_000) } : {}),
    },
    workers,
    logLevel,
    adminToken: pick('admin_token') ?? null,
    trustedIps: trusted ? parseList(trusted) : [],
    realIpHeader: (pick('real_ip_header') ?? 'X-Real-IP').toLowerCase(),
    realIpRecursive: realIpRecursive === undefined ? false : parseBool(realIpRecursive, 'real_ip_recursive'),
    redisUrl: pick('redis_url') ?? null,
    sessionSecret: pick('session_secret') ?? null,
    sslCert: pick('ssl_cert') ?? null,
    sslCertKey: pick('ssl_cert_key') ?? null,
    headers: parseHeaders(pick('headers')),
    adminMaxBodyBytes: Number(pick('admin_max_body') ?? 10 * 1024 * 1024),
    adminGuiOrigins: parseAdminGuiOrigins(pick('admin_gui_url')),
    maxHeaderSize: Number(pick('max_header_size') ?? 32 * 1024),
    plugins: parsePlugins(pick('plugins')),
    pluginServers: parsePluginServers(pick),
    pluginsPath: parseList(pick('plugins_path') ?? '').map((d) => resolve(cwd, d)),
    daemon: daemon === undefined ? false : parseBool(daemon, 'nginx_daemon'),
    confPath: conf?.path ?? null,
    memCacheSize: parseSize(pick('mem_cache_size') ?? '128m', 'mem_cache_size'),
    sharedDicts: parseSharedDicts(pick('lua_shared_dict') ?? pick('nginx_http_lua_shared_dict')),
    tracingInstrumentations: tracingSetting(() => parseInstrumentations(pick('tracing_instrumentations') ?? 'off')),
    tracingSamplingRate: tracingSetting(() => parseSamplingRate(pick('tracing_sampling_rate') ?? '0.01')),
  };
}

/** What to tell the operator about names we accept without an effect, or do not know (once, at start). */
export function settingsWarnings(env: NodeJS.ProcessEnv, conf: KongConf | null): string[] {
  const out: string[] = [];
  const describe = (key: string, where: string): void => {
    const kind = kindOf(key);
    if (kind === 'no-effect') out.push(`${where} has no effect in Portcullis: ${noEffectReason(key)}`);
    else if (kind === 'unknown') out.push(`${where} is not a setting Portcullis knows; it is ignored`);
  };
  if (conf !== null) for (const key of conf.values.keys()) describe(key, `property '${key}' in ${conf.path}`);
  for (const name of Object.keys(env).sort()) {
    if (name.startsWith('KONG_') && env[name] !== undefined) describe(name.slice(5).toLowerCase(), `environment variable ${name}`);
  }
  return out;
}

/** The kong.conf to read: `-c FILE` (must exist), else Kong's default paths when present. */
export function confFileOf(flags: FlagMap, cwd: string): string | null {
  const c = flags.conf;
  if (typeof c === 'string') return resolve(cwd, c);
  if (c === true) throw new SettingsError('-c/--conf needs a file name');
  return DEFAULT_CONF_PATHS.find((p) => existsSync(p)) ?? null;
}

export interface LoadedSettings {
  settings: Settings;
  warnings: string[];
}

/** Everything a command needs: flags, environment and the kong.conf they point at. */
export function loadSettings(flags: FlagMap, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LoadedSettings {
  const path = confFileOf(flags, cwd);
  const conf = path === null ? null : readKongConf(path);
  return { settings: resolveSettings(flags, env, cwd, conf), warnings: settingsWarnings(env, conf) };
}
