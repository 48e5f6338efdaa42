/**
 * The one table of fields accepted for compatibility with Kong and having no
 * effect in Portcullis (ARCHITECTURE principle 13), each with its reason.
 *
 * test/unit/schema/field-effects.test.ts walks every entity and plugin schema
 * and fails for a field that is neither read by the code nor listed here, and
 * for an entry here naming a field that no longer exists; docs/compatibility.md
 * holds renderNoEffectTable()'s output (the same test keeps them equal).
 *
 * `field` is a dotted path inside the schema (`config` fields for plugins);
 * a path ending in `.*` covers every field below it.
 */
export interface NoEffectEntry {
  /** `routes`, `upstreams`, … or `plugins/<name>`. */
  schema: string;
  field: string;
  reason: string;
}

const BUFFERING = 'Portcullis streams bodies both ways (Kong with buffering off); there is no nginx buffer to turn on or off. An upstream that needs Content-Length on requests gets it whenever the client sent one';
const NGINX_POOL = 'nginx cosocket pool tuning; ioredis keeps one multiplexed connection per distinct Redis configuration';

export const NO_EFFECT: readonly NoEffectEntry[] = [
  { schema: 'routes', field: 'request_buffering', reason: BUFFERING },
  { schema: 'routes', field: 'response_buffering', reason: BUFFERING },
  { schema: 'plugins/proxy-cache', field: 'strategy', reason: "its only value is 'memory' (Kong OSS's one strategy), which is the only store there is" },
  { schema: 'plugins/openid-connect', field: 'redis.keepalive_pool_size', reason: NGINX_POOL },
  { schema: 'plugins/openid-connect', field: 'redis.keepalive_backlog', reason: NGINX_POOL },
  { schema: 'plugins/openid-connect', field: 'redis.send_timeout', reason: 'ioredis has one per-command timeout, set from read_timeout (connect_timeout bounds connecting)' },
  { schema: 'plugins/openid-connect', field: 'session_redis_send_timeout', reason: 'deprecated spelling of redis.send_timeout (see there)' },
  { schema: 'plugins/openid-connect', field: 'redis.cloud_authentication.*', reason: 'read only with cloud_authentication.auth_provider, which is refused' },
  { schema: 'plugins/openid-connect', field: 'cluster_cache_redis.*', reason: 'read only with cluster_cache_strategy = redis, which is refused' },
  { schema: 'plugins/openid-connect', field: 'cluster_cache_redis', reason: 'read only with cluster_cache_strategy = redis, which is refused' },
  { schema: 'plugins/openid-connect', field: 'tls_client_auth_ssl_verify', reason: 'read only with tls_client_auth, which is refused' },
  { schema: 'plugins/openid-connect', field: 'session_memcached_prefix', reason: 'read only with session_storage = memcached, which is refused' },
  { schema: 'plugins/openid-connect', field: 'session_memcached_socket', reason: 'read only with session_storage = memcached, which is refused' },
  { schema: 'plugins/openid-connect', field: 'session_memcached_host', reason: 'read only with session_storage = memcached, which is refused' },
  { schema: 'plugins/openid-connect', field: 'session_memcached_port', reason: 'read only with session_storage = memcached, which is refused' },
  { schema: 'plugins/openid-connect', field: 'session_memcached_ssl', reason: 'read only with session_storage = memcached, which is refused' },
  { schema: 'plugins/openid-connect', field: 'session_memcached_ssl_verify', reason: 'read only with session_storage = memcached, which is refused' },
  { schema: 'plugins/prometheus', field: 'ai_metrics', reason: "no Portcullis plugin produces AI data (Kong's ai-proxy family is not shipped), so there is nothing to count; Kong exports no ai_llm_* series then either" },
];

/** Does an entry cover this field path? */
export function coveredByNoEffect(schema: string, path: string): NoEffectEntry | undefined {
  return NO_EFFECT.find((e) => e.schema === schema && (e.field === path || (e.field.endsWith('.*') && path.startsWith(e.field.slice(0, -1)))));
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

/** The Markdown table docs/compatibility.md carries between its markers. */
export function renderNoEffectTable(): string {
  const rows = NO_EFFECT.map((e) => `| \`${e.schema}\` | \`${e.field}\` | ${escapeCell(e.reason)} |`);
  return ['| Schema | Field | Why it has no effect |', '|---|---|---|', ...rows].join('\n');
}
