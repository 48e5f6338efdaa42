/**
 * The gateway's start-up settings, whatever they were read from: the CLI
 * builds them (src/cli/settings.ts: flags, PORTCULLIS_*, KONG_*, kong.conf),
 * the gateway and the cluster only read them. Kept out of src/cli so that the
 * arrows run one way: cli → gateway → core.
 */
export interface ListenSpec {
  host: string;
  port: number;
  ssl: boolean;
}

export interface Settings {
  proxyListen: ListenSpec[];
  adminListen: ListenSpec[];
  /** Kong's status_listen: /status, /status/ready and /metrics without the Admin API (none: off). */
  statusListen: ListenSpec[];
  database: 'sqlite' | 'postgres' | 'off';
  /** Kong's prefix: pid file, .kong_env, logs and the SQLite database. */
  dataDir: string;
  declarativeConfig: string | null;
  pg: { host: string; port: number; user: string; password: string; database: string; schema: string | null; timeoutMs?: number; autoMigrate?: boolean };
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
  /** Kong's admin_gui_origin: the origins of `admin_gui_url`, the only ones the Admin API's CORS answers allow (empty: any). */
  adminGuiOrigins: string[];
  maxHeaderSize: number;
  /** Kong's `plugins`: null = bundled (every plugin we ship); else the enabled names. */
  plugins: string[] | null;
  /**
   * Kong's external plugin servers (`pluginserver_names`, `pluginserver_<name>_start_cmd`):
   * for each kong-js-pluginserver, the plugins directory its command line names.
   * Portcullis loads those plugins in-process instead of starting the server.
   */
  pluginServers: { name: string; directory: string }[];
  /** Portcullis' `plugins_path`: directories searched for custom plugins named in `plugins`. */
  pluginsPath: string[];
  /** Kong's `nginx_daemon`: `start` detaches once the node is up. */
  daemon: boolean;
  /** Kong's mem_cache_size: bytes of the `kong_db_cache` dictionary (proxy-cache's default). */
  memCacheSize: number;
  /** Kong's lua_shared_dict declarations: dictionary name → bytes. */
  sharedDicts: Record<string, number>;
  /** Kong's tracing_instrumentations as a mask (src/core/tracing/instrumentations.ts); 0 = off. */
  tracingInstrumentations: number;
  /** Kong's tracing_sampling_rate. */
  tracingSamplingRate: number;
  /** The kong.conf read, if any (absolute path): `reload` reads it again. */
  confPath: string | null;
}
