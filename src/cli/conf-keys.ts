/**
 * Every kong.conf property (and so every KONG_* variable) we know, and what
 * it does here (issue 11, item 2; principle 13 — nothing accepted and
 * ignored):
 *   - SETTINGS: properties with an effect. Kong's own names, plus a few of
 *     ours written the same way (data_dir, workers, admin_token, …).
 *   - DEFAULT_ONLY: Kong properties for a feature we do not have; Kong's
 *     default value is accepted (it asks for nothing), any other value is
 *     refused with a message naming the property.
 *   - NO_EFFECT: Kong properties accepted with a warning that they have no
 *     effect, each with its reason (docs/cli.md lists them; a test keeps the
 *     two in step).
 * Anything else is warned about once as unknown.
 */

/** Properties with an effect: name → one line for the docs and help. */
export const SETTINGS: Readonly<Record<string, string>> = {
  prefix: 'working directory: pid file, .kong_env, logs, the SQLite database (also --data-dir / -p)',
  log_level: 'debug, info, notice, warn, error, crit, alert, emerg',
  plugins: 'bundled (default), a comma-separated list of plugin names (bundled may be one of them), or off',
  pluginserver_names: 'external plugin servers; for kong-js-pluginserver, its plugins run in-process (pluginserver_<name>_start_cmd names the directory)',
  plugins_path: 'Portcullis: directories (comma-separated) searched for custom plugins named in `plugins` (docs/plugins/writing-plugins.md)',
  proxy_listen: 'proxy listeners, Kong syntax ("0.0.0.0:8000, 0.0.0.0:8443 ssl") or off',
  admin_listen: 'Admin API listeners, or off',
  status_listen: 'status listeners (GET /status, /status/ready, /metrics; no Admin API), or off (our default; Kong\'s is 127.0.0.1:8007)',
  admin_gui_url: 'Kong Manager URL(s): the only origins the Admin API\'s CORS answers allow (default: any origin)',
  nginx_worker_processes: 'proxy worker processes: a number or auto (one per CPU)',
  nginx_daemon: 'on: `start` detaches and returns once the node is up; off (our default): runs in the foreground',
  database: 'sqlite (our default), postgres, or off (DB-less)',
  declarative_config: 'kong.yml loaded at start in DB-less mode (and again on reload)',
  pg_host: 'PostgreSQL host',
  pg_port: 'PostgreSQL port',
  pg_user: 'PostgreSQL user',
  pg_password: 'PostgreSQL password',
  pg_database: 'PostgreSQL database',
  pg_schema: 'PostgreSQL schema (default public)',
  pg_timeout: 'PostgreSQL connect timeout in milliseconds',
  trusted_ips: 'CIDRs whose X-Forwarded-* / real_ip_header are believed',
  real_ip_header: 'header holding the client address when the peer is trusted',
  real_ip_recursive: 'on: the last untrusted address of a list',
  headers: 'server_tokens, latency_tokens (or off)',
  ssl_cert: 'default certificate of the ssl proxy listeners',
  ssl_cert_key: 'its key',
  mem_cache_size: 'size of the node-wide kong_db_cache dictionary (proxy-cache memory strategy), nginx size syntax (128m)',
  nginx_http_lua_shared_dict: 'node-wide dictionaries "name size[, name size]" (proxy-cache memory.dictionary_name)',
  lua_shared_dict: 'Portcullis: same as nginx_http_lua_shared_dict',
  tracing_instrumentations: 'spans recorded for the opentelemetry plugin: off (default), all, or a list of request, router, http_client, balancer, plugin_rewrite, plugin_access, plugin_header_filter',
  tracing_sampling_rate: 'share of traces sampled, 0 to 1 (default 0.01); the opentelemetry plugin\'s sampling_rate overrides it',
  // Portcullis' own settings, written the same way.
  data_dir: 'Portcullis: same as prefix (kept for existing set-ups)',
  workers: 'Portcullis: same as nginx_worker_processes',
  admin_token: 'Portcullis: token the Admin API requires (Kong-Admin-Token header)',
  session_secret: 'Portcullis: secret for openid-connect session cookies (every node must share it)',
  redis_url: 'Portcullis: default Redis for sessions and rate limiting',
  admin_max_body: 'Portcullis: largest Admin API request body, bytes',
  max_header_size: 'Portcullis: largest request head, bytes',
};

/** Kong properties accepted only at Kong's default value: property → [default, what is missing]. */
export const DEFAULT_ONLY: Readonly<Record<string, readonly [string, string]>> = {
  role: ['traditional', 'hybrid mode (control_plane / data_plane) is not implemented'],
  stream_listen: ['off', 'TCP/TLS/UDP stream proxying is not implemented'],
  router_flavor: ['traditional_compatible', 'only the traditional_compatible router is implemented'],
  pg_ssl: ['off', 'TLS to PostgreSQL is not implemented'],
  dedicated_config_processing: ['on', 'configuration is always built by the primary process'],
};

/** Kong properties accepted with a warning that they have no effect here, with the reason. */
export const NO_EFFECT: Readonly<Record<string, string>> = {
  proxy_access_log: 'nginx log file; the access log is written to stdout as JSON lines',
  proxy_error_log: 'nginx log file; logs go to stdout/stderr (or <prefix>/logs when nginx_daemon = on)',
  admin_access_log: 'nginx log file; see proxy_access_log',
  admin_error_log: 'nginx log file; see proxy_error_log',
  status_access_log: 'nginx log file; the status listener writes no access log',
  status_error_log: 'nginx log file; see proxy_error_log',
  admin_gui_listen: 'Kong Manager is not served by Portcullis; serve a Kong Manager build yourself (docs/kong-manager.md)',
  admin_gui_path: 'Kong Manager is not served by Portcullis; serve a Kong Manager build yourself (docs/kong-manager.md)',
  admin_gui_api_url: 'Kong Manager is not served by Portcullis; set ADMIN_API_URL in its kconfig.js (docs/kong-manager.md)',
  anonymous_reports: 'Portcullis never sends usage reports',
  nginx_user: 'there is no nginx; run the process as the user you want',
  lua_package_path: 'no Lua',
  lua_package_cpath: 'no Lua',
  lua_socket_pool_size: 'no Lua; upstream pools are sized per origin',
  lua_ssl_trusted_certificate: 'no Lua; Node uses its own CA store (NODE_EXTRA_CA_CERTS)',
  lua_ssl_verify_depth: 'no Lua',
  lua_ssl_protocols: 'no Lua',
  lua_max_req_headers: 'no Lua',
  lua_max_resp_headers: 'no Lua',
  lua_max_uri_args: 'no Lua',
  lua_max_post_args: 'no Lua',
  ssl_cipher_suite: 'Node\'s TLS defaults are used',
  ssl_ciphers: 'Node\'s TLS defaults are used',
  ssl_protocols: 'Node\'s TLS defaults are used',
  ssl_prefer_server_ciphers: 'Node\'s TLS defaults are used',
  ssl_session_tickets: 'Node\'s TLS defaults are used',
  ssl_session_timeout: 'Node\'s TLS defaults are used',
  ssl_session_cache_size: 'Node\'s TLS defaults are used',
  ssl_dhparam: 'Node\'s TLS defaults are used',
  admin_ssl_cert: 'the Admin API listens on plain HTTP only',
  admin_ssl_cert_key: 'the Admin API listens on plain HTTP only',
  db_update_frequency: 'PostgreSQL LISTEN/NOTIFY pushes changes; nothing is polled',
  db_update_propagation: 'PostgreSQL LISTEN/NOTIFY pushes changes; nothing is polled',
  db_cache_ttl: 'entities are compiled into the runtime, not cached with a TTL',
  db_cache_neg_ttl: 'entities are compiled into the runtime, not cached with a TTL',
  db_resurrect_ttl: 'entities are compiled into the runtime, not cached with a TTL',
  db_cache_warmup_entities: 'every entity is loaded at start',
  pg_max_concurrent_queries: 'the pg pool has a fixed size',
  pg_semaphore_timeout: 'the pg pool has a fixed size',
  pg_keepalive_timeout: 'the pg pool manages its connections',
  pg_pool_size: 'the pg pool has a fixed size',
  pg_backlog: 'the pg pool has a fixed size',
  pg_ssl_verify: 'TLS to PostgreSQL is not implemented (pg_ssl must be off)',
  dns_resolver: 'the operating system resolver is used',
  dns_hostsfile: 'the operating system resolver is used',
  dns_order: 'the operating system resolver is used',
  dns_valid_ttl: 'the operating system resolver is used',
  dns_stale_ttl: 'the operating system resolver is used',
  dns_cache_size: 'the operating system resolver is used',
  dns_not_found_ttl: 'the operating system resolver is used',
  dns_error_ttl: 'the operating system resolver is used',
  dns_no_sync: 'the operating system resolver is used',
  worker_consistency: 'workers receive whole configuration snapshots from the primary',
  worker_state_update_frequency: 'workers receive whole configuration snapshots from the primary',
  upstream_keepalive_pool_size: 'upstream pools are sized per origin by the gateway',
  upstream_keepalive_max_requests: 'upstream pools are sized per origin by the gateway',
  upstream_keepalive_idle_timeout: 'upstream pools are sized per origin by the gateway',
  error_default_type: 'the answer type follows the Accept header; the default is JSON',
  untrusted_lua: 'no Lua',
  untrusted_lua_sandbox_requires: 'no Lua',
  untrusted_lua_sandbox_environment: 'no Lua',
  vaults: 'secret vaults are not implemented',
  cluster_listen: 'hybrid mode is not implemented (role must be traditional)',
  cluster_cert: 'hybrid mode is not implemented (role must be traditional)',
  cluster_cert_key: 'hybrid mode is not implemented (role must be traditional)',
  cluster_mtls: 'hybrid mode is not implemented (role must be traditional)',
  cluster_control_plane: 'hybrid mode is not implemented (role must be traditional)',
};

/**
 * Kong's nginx directive injection (`nginx_http_client_body_buffer_size`,
 * `nginx_main_worker_rlimit_nofile`, …): there is no nginx to inject into.
 */
export const NO_EFFECT_PREFIXES: readonly string[] = [
  'nginx_main_', 'nginx_events_', 'nginx_http_', 'nginx_proxy_', 'nginx_admin_', 'nginx_status_', 'nginx_upstream_',
  'nginx_location_', 'nginx_stream_', 'nginx_sproxy_', 'nginx_supstream_', 'nginx_debug_',
];
export const NO_EFFECT_PREFIX_REASON = 'nginx directive injection: there is no nginx';

/** Per-server properties of Kong's plugin servers: `pluginserver_<name>_<suffix>`. */
const PLUGINSERVER_KEY = /^pluginserver_[a-z0-9_]+_(start_cmd|query_cmd|socket)$/;
export const PLUGINSERVER_SOCKET_REASON = 'no plugin server is started: kong-js-pluginserver plugins run in-process';

export type KeyKind = 'setting' | 'default-only' | 'no-effect' | 'unknown';

export function kindOf(key: string): KeyKind {
  if (Object.hasOwn(SETTINGS, key)) return 'setting';
  const ps = PLUGINSERVER_KEY.exec(key);
  if (ps !== null) return ps[1] === 'socket' ? 'no-effect' : 'setting';
  if (Object.hasOwn(DEFAULT_ONLY, key)) return 'default-only';
  if (Object.hasOwn(NO_EFFECT, key) || NO_EFFECT_PREFIXES.some((p) => key.startsWith(p))) return 'no-effect';
  return 'unknown';
}

export function noEffectReason(key: string): string {
  if (PLUGINSERVER_KEY.test(key)) return PLUGINSERVER_SOCKET_REASON;
  return NO_EFFECT[key] ?? NO_EFFECT_PREFIX_REASON;
}
