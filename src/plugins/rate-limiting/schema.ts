/**
 * `config` of the rate-limiting plugin, with Kong's names, types and defaults
 * (kong/plugins/rate-limiting/schema.lua and kong/tools/redis/schema.lua,
 * Kong Gateway 3.9).
 *
 * The Redis connection is the 3.x `redis` record. The pre-3.6 flat fields
 * (`redis_host`, `redis_port`, …) are Kong's deprecated shorthands: accepted
 * on input without defaults, and translated into `redis` by compile() (a
 * shorthand that is present wins, as Kong's shorthand translation does).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { checkRedisConnection, nodeList, redisMode, type RedisConnectionConfig } from '../../redis/connection.ts';
import { typedefs } from '../../schema/typedefs.ts';

export const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
export type Period = (typeof PERIODS)[number];

export const LIMIT_BY = ['consumer', 'credential', 'ip', 'service', 'header', 'path'] as const;
export type LimitBy = (typeof LIMIT_BY)[number];

export const POLICIES = ['local', 'cluster', 'redis'] as const;
export type Policy = (typeof POLICIES)[number];

/** Kong's SYNC_RATE_REALTIME: every request reads and increments the store. */
export const SYNC_RATE_REALTIME = -1;

function nullable<T extends TSchema>(schema: T, description: string) {
  return Type.Union([schema, Type.Null()], { default: null, description });
}

function limit(period: Period) {
  return nullable(Type.Number({ exclusiveMinimum: 0 }), `The number of HTTP requests that can be made per ${period}.`);
}

function strEnum<const V extends readonly string[]>(values: V, dflt: V[number], description: string) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], default: dflt, description });
}

function shorthand<T extends TSchema>(schema: T, replacement: string) {
  return Type.Optional(Type.Union([schema, Type.Null()], { description: `Deprecated: use config.redis.${replacement} instead.` }));
}

function redisNode(hostKey: 'ip' | 'host') {
  return Type.Object(
    {
      [hostKey]: Type.String({ default: '127.0.0.1', description: 'A string representing a host name, such as example.com.' }),
      port: typedefs.port({ default: 6379, description: 'An integer representing a port number between 0 and 65535, inclusive.' }),
    },
    { additionalProperties: false },
  );
}

export const redisSchema = Type.Object(
  {
    host: nullable(typedefs.host(), 'A string representing a host name, such as example.com.'),
    port: typedefs.port({ default: 6379, description: 'An integer representing a port number between 0 and 65535, inclusive.' }),
    timeout: typedefs.timeout({ default: 2000, description: 'A timeout in milliseconds for connecting, sending and reading.' }),
    username: nullable(
      Type.String({ kong: { referenceable: true } }),
      "Username to use for Redis connections. If undefined, ACL authentication won't be performed. This requires Redis v6.0.0+. To be compatible with Redis v5.x.y, you can set it to `default`.",
    ),
    password: nullable(Type.String({ minLength: 0, kong: { referenceable: true, encrypted: true } }), 'Password to use for Redis connections. If undefined, no AUTH commands are sent to Redis.'),
    database: Type.Integer({ default: 0, description: 'Database to use for the Redis connection when using the `redis` strategy' }),
    ssl: Type.Boolean({ default: false, description: 'If set to true, uses SSL to connect to Redis.' }),
    ssl_verify: Type.Boolean({ default: false, description: 'If set to true, verifies the validity of the server SSL certificate.' }),
    server_name: nullable(typedefs.sni(), 'A string representing an SNI (server name indication) value for TLS.'),
    // Redis Sentinel and Cluster, with the names and shapes of Kong Enterprise's redis record (shared by
    // rate-limiting-advanced and openid-connect): OSS Kong's rate-limiting has no HA fields.
    sentinel_master: nullable(Type.String({ minLength: 1 }), 'Sentinel master to use for Redis connections. Defining this value implies using Redis Sentinel.'),
    sentinel_role: Type.Union([Type.Unsafe<'any' | 'master' | 'slave'>({ type: 'string', enum: ['any', 'master', 'slave'] }), Type.Null()], {
      default: null,
      description: 'Sentinel role to use for Redis connections. `any` and `master` connect to the master (counters are written).',
    }),
    sentinel_nodes: nullable(Type.Array(redisNode('host'), { minItems: 1 }), 'Sentinel node addresses to use for Redis connections when the `redis` strategy is defined.'),
    sentinel_username: nullable(Type.String({ minLength: 1, kong: { referenceable: true } }), 'Sentinel username to authenticate with a Redis Sentinel instance (Redis 6.2+ ACL).'),
    sentinel_password: nullable(Type.String({ minLength: 1, kong: { referenceable: true, encrypted: true } }), 'Sentinel password to authenticate with a Redis Sentinel instance.'),
    cluster_nodes: nullable(Type.Array(redisNode('ip'), { minItems: 1 }), 'Cluster addresses to use for Redis connections. Defining this field implies using a Redis Cluster.'),
    cluster_max_redirections: Type.Integer({ default: 5, description: 'Maximum retry attempts for redirection.' }),
    connection_is_proxied: Type.Boolean({ default: false, description: 'If the connection to Redis is proxied (e.g. Envoy), set it to `true`; `host` and `port` then name the proxy.' }),
  },
  { additionalProperties: false, default: {}, description: 'Redis configuration' },
);

export const schema = Type.Object(
  {
    second: limit('second'),
    minute: limit('minute'),
    hour: limit('hour'),
    day: limit('day'),
    month: limit('month'),
    year: limit('year'),
    limit_by: strEnum(LIMIT_BY, 'consumer', 'The entity that is used when aggregating the limits.'),
    header_name: nullable(typedefs.headerName(), 'A string representing an HTTP header name.'),
    path: nullable(typedefs.path(), 'A string representing a URL path, such as /path/to/resource.'),
    policy: strEnum(POLICIES, 'local', 'The rate-limiting policies to use for retrieving and incrementing the limits.'),
    fault_tolerant: Type.Boolean({
      default: true,
      description:
        'A boolean value that determines if the requests should be proxied even if Kong has troubles connecting a third-party data store. If `true`, requests will be proxied anyway, effectively disabling the rate-limiting function until the data store is working again. If `false`, then the clients will see `500` errors.',
    }),
    redis: redisSchema,
    hide_client_headers: Type.Boolean({ default: false, description: 'Optionally hide informative response headers.' }),
    error_code: Type.Number({ default: 429, exclusiveMinimum: 0, description: 'Set a custom error code to return when the rate limit is exceeded.' }),
    error_message: Type.String({ default: 'API rate limit exceeded', description: 'Set a custom error message to return when the rate limit is exceeded.' }),
    sync_rate: Type.Number({ default: SYNC_RATE_REALTIME, description: 'How often to sync counter data to the central data store. A value of -1 results in synchronous behavior.' }),
    // Deprecated shorthands (Kong 3.6+), translated into `redis` by compile().
    redis_host: shorthand(Type.String(), 'host'),
    redis_port: shorthand(Type.Integer({ minimum: 0, maximum: 65535 }), 'port'),
    redis_password: shorthand(Type.String({ minLength: 0, kong: { referenceable: true, encrypted: true } }), 'password'),
    redis_username: shorthand(Type.String(), 'username'),
    redis_ssl: shorthand(Type.Boolean(), 'ssl'),
    redis_ssl_verify: shorthand(Type.Boolean(), 'ssl_verify'),
    redis_server_name: shorthand(Type.String(), 'server_name'),
    redis_timeout: shorthand(Type.Integer({ minimum: 0 }), 'timeout'),
    redis_database: shorthand(Type.Integer(), 'database'),
  },
  { additionalProperties: false },
);

export type RateLimitingConfig = Static<typeof schema>;
export type RedisConfig = Static<typeof redisSchema>;

/** The `redis` record with the deprecated flat shorthands applied over it. */
export function effectiveRedis(config: RateLimitingConfig): RedisConfig {
  const r: RedisConfig = { ...(config.redis ?? ({} as RedisConfig)) };
  if (config.redis_host != null) r.host = config.redis_host;
  if (config.redis_port != null) r.port = config.redis_port;
  if (config.redis_password != null) r.password = config.redis_password;
  if (config.redis_username != null) r.username = config.redis_username;
  if (config.redis_ssl != null) r.ssl = config.redis_ssl;
  if (config.redis_ssl_verify != null) r.ssl_verify = config.redis_ssl_verify;
  if (config.redis_server_name != null) r.server_name = config.redis_server_name;
  if (config.redis_timeout != null) r.timeout = config.redis_timeout;
  if (config.redis_database != null) r.database = config.redis_database;
  r.port ??= 6379;
  r.timeout ??= 2000;
  r.database ??= 0;
  r.ssl ??= false;
  r.ssl_verify ??= false;
  r.host ??= null;
  r.username ??= null;
  r.password ??= null;
  r.server_name ??= null;
  r.sentinel_master ??= null;
  r.sentinel_role ??= null;
  r.sentinel_nodes ??= null;
  r.sentinel_username ??= null;
  r.sentinel_password ??= null;
  r.cluster_nodes ??= null;
  r.cluster_max_redirections ??= 5;
  r.connection_is_proxied ??= false;
  return r;
}

function conditional(errors: Record<string, unknown>, ifField: string, field: string, nested?: string): void {
  if (nested !== undefined) {
    const sub = (errors[field] as Record<string, unknown> | undefined) ?? {};
    sub[nested] = 'required field missing';
    errors[field] = sub;
  } else {
    errors[field] = 'required field missing';
  }
  const list = (errors['@entity'] as string[] | undefined) ?? [];
  const msg = `failed conditional validation given value of field 'config.${ifField}'`;
  if (!list.includes(msg)) list.push(msg);
  errors['@entity'] = list;
}

/**
 * Kong's entity checks and custom validator: at least one limit, limits not
 * decreasing with the period, sync_rate rules, and the fields a policy or a
 * limit_by needs. Messages are Kong's.
 */
export function check(config: RateLimitingConfig): Record<string, unknown> {
  const errors: Record<string, unknown> = {};
  const entity: string[] = [];
  if (!PERIODS.some((p) => typeof config[p] === 'number')) {
    entity.push("at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'");
  }
  outer: for (let i = 0; i < PERIODS.length; i++) {
    const v1 = config[PERIODS[i]!];
    if (typeof v1 !== 'number') continue;
    for (let j = i + 1; j < PERIODS.length; j++) {
      const v2 = config[PERIODS[j]!];
      if (typeof v2 === 'number' && v2 < v1) {
        entity.push(`The limit for ${PERIODS[j]}(${v2.toFixed(1)}) cannot be lower than the limit for ${PERIODS[i]}(${v1.toFixed(1)})`);
        break outer;
      }
    }
  }
  const syncRate = config.sync_rate ?? SYNC_RATE_REALTIME;
  if (config.policy !== 'redis' && syncRate !== SYNC_RATE_REALTIME) entity.push('sync_rate can only be used with the redis policy');
  if (config.policy === 'redis' && syncRate !== SYNC_RATE_REALTIME && syncRate < 0.02) entity.push('sync_rate must be greater than 0.02, or -1 to disable');
  if (entity.length > 0) errors['@entity'] = entity;

  if (config.policy === 'redis') {
    const redis = effectiveRedis(config);
    // Sentinel and Cluster find their servers themselves: host is required only without them.
    const ha = redisMode(connectionOf(redis)) !== 'standalone';
    if (redis.host === null && !ha) conditional(errors, 'policy', 'redis', 'host');
    if (redis.port === null) conditional(errors, 'policy', 'redis', 'port');
    if (redis.timeout === null) conditional(errors, 'policy', 'redis', 'timeout');
  }
  const haErrors = checkRedisConnection(connectionOf(effectiveRedis(config)));
  if (Object.keys(haErrors).length > 0) errors.redis = { ...((errors.redis as Record<string, unknown> | undefined) ?? {}), ...haErrors };
  if (config.limit_by === 'header' && config.header_name == null) conditional(errors, 'limit_by', 'header_name');
  if (config.limit_by === 'path' && config.path == null) conditional(errors, 'limit_by', 'path');
  return errors;
}

/** The rate-limiting `redis` record as a connection (Kong's one `timeout` bounds connecting and each command). */
export function connectionOf(r: RedisConfig): RedisConnectionConfig {
  return {
    host: r.host,
    port: r.port,
    username: r.username,
    password: r.password,
    database: r.database,
    ssl: r.ssl,
    ssl_verify: r.ssl_verify,
    server_name: r.server_name,
    connect_timeout: r.timeout,
    command_timeout: r.timeout,
    sentinel_master: r.sentinel_master,
    sentinel_role: r.sentinel_role,
    sentinel_nodes: nodeList(r.sentinel_nodes, 'host'),
    sentinel_username: r.sentinel_username,
    sentinel_password: r.sentinel_password,
    cluster_nodes: nodeList(r.cluster_nodes, 'ip'),
    cluster_max_redirections: r.cluster_max_redirections,
    connection_is_proxied: r.connection_is_proxied,
  };
}
