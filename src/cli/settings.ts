/**
 * Start-up settings from flags, PORTCULLIS_* and Kong's own KONG_* environment
 * variables (so a Kong user's environment works unchanged). Precedence:
 * flag › PORTCULLIS_* › KONG_* › default.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

export interface ListenSpec {
  host: string;
  port: number;
  ssl: boolean;
}

export interface Settings {
  proxyListen: ListenSpec[];
  adminListen: ListenSpec[];
  database: 'sqlite' | 'postgres' | 'off';
  dataDir: string;
  declarativeConfig: string | null;
  pg: { host: string; port: number; user: string; password: string; database: string; schema: string | null };
  workers: number;
  logLevel: string;
  adminToken: string | null;
  trustedIps: string[];
  realIpHeader: string;
  realIpRecursive: boolean;
  redisUrl: string | null;
  sessionSecret: string | null;
  sslCert: string | null;
  sslCertKey: string | null;
  headers: { serverTokens: boolean; latencyTokens: boolean };
  adminMaxBodyBytes: number;
  maxHeaderSize: number;
  /** Kong's mem_cache_size: bytes of the `kong_db_cache` dictionary (proxy-cache's default). */
  memCacheSize: number;
  /** Kong's lua_shared_dict declarations: dictionary name → bytes. */
  sharedDicts: Record<string, number>;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

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

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return ['1', 'true', 'on', 'yes'].includes(v.toLowerCase());
}

/** Kong's `headers` setting: "server_tokens, latency_tokens" or "off". */
function parseHeaders(v: string | undefined): { serverTokens: boolean; latencyTokens: boolean } {
  if (v === undefined) return { serverTokens: true, latencyTokens: true };
  const list = v.split(',').map((s) => s.trim().toLowerCase());
  if (list.includes('off')) return { serverTokens: false, latencyTokens: false };
  return { serverTokens: list.includes('server_tokens'), latencyTokens: list.includes('latency_tokens') };
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

export interface FlagMap {
  [flag: string]: string | boolean | undefined;
}

/** Parse `--name value`, `--name=value` and boolean `--flag`. Positional args are returned separately. */
export function parseFlags(argv: string[]): { flags: FlagMap; positional: string[] } {
  const flags: FlagMap = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq !== -1) flags[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags[a.slice(2)] = argv[++i]!;
    else flags[a.slice(2)] = true;
  }
  return { flags, positional };
}

export function resolveSettings(flags: FlagMap, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Settings {
  const pick = (flag: string, name: string): string | undefined => {
    const f = flags[flag];
    if (typeof f === 'string') return f;
    if (f === true) return 'true';
    return env[`PORTCULLIS_${name}`] ?? env[`KONG_${name}`];
  };
  const declarativeConfig = pick('declarative-config', 'DECLARATIVE_CONFIG') ?? null;
  let database = (pick('database', 'DATABASE') ?? (declarativeConfig !== null ? 'off' : 'sqlite')).toLowerCase();
  if (database === 'postgresql') database = 'postgres';
  if (database !== 'sqlite' && database !== 'postgres' && database !== 'off') {
    throw new SettingsError(`database: expected one of sqlite, postgres, off (got '${database}')`);
  }
  const workersRaw = pick('workers', 'WORKERS') ?? pick('nginx-worker-processes', 'NGINX_WORKER_PROCESSES');
  let workers = availableParallelism();
  if (workersRaw !== undefined && workersRaw !== 'auto') {
    workers = Number(workersRaw);
    if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new SettingsError(`workers: expected a whole number from 1 to 256 (got '${workersRaw}')`);
  }
  const trusted = pick('trusted-ips', 'TRUSTED_IPS');
  return {
    proxyListen: parseListen(pick('proxy-listen', 'PROXY_LISTEN') ?? '0.0.0.0:8000, 0.0.0.0:8443 ssl', 'proxy_listen'),
    adminListen: parseListen(pick('admin-listen', 'ADMIN_LISTEN') ?? '127.0.0.1:8001', 'admin_listen'),
    database,
    dataDir: resolve(cwd, pick('data-dir', 'DATA_DIR') ?? pick('prefix', 'PREFIX') ?? 'data'),
    declarativeConfig: declarativeConfig !== null ? resolve(cwd, declarativeConfig) : null,
    pg: {
      host: pick('pg-host', 'PG_HOST') ?? '127.0.0.1',
      port: Number(pick('pg-port', 'PG_PORT') ?? 5432),
      user: pick('pg-user', 'PG_USER') ?? 'postgres',
      password: pick('pg-password', 'PG_PASSWORD') ?? '',
      database: pick('pg-database', 'PG_DATABASE') ?? 'portcullis',
      schema: pick('pg-schema', 'PG_SCHEMA') ?? null,
    },
    workers,
    logLevel: pick('log-level', 'LOG_LEVEL') ?? 'info',
    adminToken: pick('admin-token', 'ADMIN_TOKEN') ?? null,
    trustedIps: trusted ? trusted.split(',').map((s) => s.trim()).filter(Boolean) : [],
    realIpHeader: (pick('real-ip-header', 'REAL_IP_HEADER') ?? 'X-Real-IP').toLowerCase(),
    realIpRecursive: bool(pick('real-ip-recursive', 'REAL_IP_RECURSIVE'), false),
    redisUrl: pick('redis-url', 'REDIS_URL') ?? null,
    sessionSecret: pick('session-secret', 'SESSION_SECRET') ?? null,
    sslCert: pick('ssl-cert', 'SSL_CERT') ?? null,
    sslCertKey: pick('ssl-cert-key', 'SSL_CERT_KEY') ?? null,
    headers: parseHeaders(pick('headers', 'HEADERS')),
    adminMaxBodyBytes: Number(pick('admin-max-body', 'ADMIN_MAX_BODY') ?? 10 * 1024 * 1024),
    maxHeaderSize: Number(pick('max-header-size', 'MAX_HEADER_SIZE') ?? 32 * 1024),
    memCacheSize: parseSize(pick('mem-cache-size', 'MEM_CACHE_SIZE') ?? '128m', 'mem_cache_size'),
    sharedDicts: parseSharedDicts(pick('lua-shared-dict', 'NGINX_HTTP_LUA_SHARED_DICT')),
  };
}
