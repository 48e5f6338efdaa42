/**
 * `config` of the proxy-cache plugin, with Kong's names, types and defaults
 * (kong/plugins/proxy-cache/schema.lua, Kong Gateway 3.9).
 *
 * Kong's open-source plugin has one strategy, `memory` (strategies.STRATEGY_TYPES);
 * any other value is refused by the schema with Kong's one_of message
 * ("expected one of: memory"). `memory.dictionary_name` names an nginx
 * shared dict in Kong; here it names a node-wide dictionary of the node's
 * shared state, with its own byte budget (mem_cache_size for Kong's
 * `kong_db_cache`, lua_shared_dict for others; see memory-store.ts).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { OneOf } from '../../schema/typedefs.ts';

export const STRATEGIES = ['memory'] as const;
export const REQUEST_METHODS = ['HEAD', 'GET', 'POST', 'PATCH', 'PUT'] as const;

function nullable<T extends TSchema>(schema: T, description: string) {
  return Type.Union([schema, Type.Null()], { default: null, description });
}

export const schema = Type.Object(
  {
    response_code: Type.Array(Type.Integer({ minimum: 100, maximum: 900 }), {
      default: [200, 301, 404],
      minItems: 1,
      description: 'Upstream response status code considered cacheable.',
    }),
    request_method: Type.Array(OneOf(REQUEST_METHODS), {
      default: ['GET', 'HEAD'],
      description: 'Downstream request methods considered cacheable.',
    }),
    content_type: Type.Array(Type.String(), {
      default: ['text/plain', 'application/json'],
      description:
        'Upstream response content types considered cacheable. The plugin performs an **exact match** against each specified value.',
    }),
    // Kong: gt = 0 on an integer.
    cache_ttl: Type.Integer({ default: 300, minimum: 1, description: 'TTL, in seconds, of cache entities.' }),
    strategy: OneOf(STRATEGIES, { description: 'The backing data store in which to hold cache entities.' }),
    cache_control: Type.Boolean({ default: false, description: 'When enabled, respect the Cache-Control behaviors defined in RFC7234.' }),
    ignore_uri_case: Type.Boolean({ default: false }),
    storage_ttl: nullable(
      Type.Integer(),
      'Number of seconds to keep resources in the storage backend. This value is independent of `cache_ttl` or resource TTLs defined by Cache-Control behaviors.',
    ),
    memory: Type.Object(
      {
        dictionary_name: Type.String({
          default: 'kong_db_cache',
          description:
            'The name of the shared dictionary in which to hold cache entities when the memory strategy is selected. Note that this dictionary currently must be defined manually in the Kong Nginx template.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    vary_query_params: nullable(
      Type.Array(Type.String()),
      'Relevant query parameters considered for the cache key. If undefined, all params are taken into consideration.',
    ),
    vary_headers: nullable(Type.Array(Type.String()), 'Relevant headers considered for the cache key. If undefined, none of the headers are taken into consideration.'),
    response_headers: Type.Object(
      {
        age: Type.Boolean({ default: true }),
        'X-Cache-Status': Type.Boolean({ default: true }),
        'X-Cache-Key': Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {}, description: 'Caching related diagnostic headers that should be included in cached responses' },
    ),
  },
  { additionalProperties: false },
);

export type ProxyCacheConfig = Static<typeof schema>;
