/**
 * `config` of the response-ratelimiting plugin, with Kong's names, types and
 * defaults (kong/plugins/response-ratelimiting/schema.lua, Kong Gateway 3.9.3).
 *
 * Only `policy: local` is implemented. `cluster` and `redis` are Kong's
 * values and are accepted by the JSON schema, but check() refuses them with a
 * message naming the field; the `redis` record and the deprecated `redis_*`
 * shorthands are therefore not offered (they would have no effect).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
export type Period = (typeof PERIODS)[number];

export const LIMIT_BY = ['consumer', 'credential', 'ip'] as const;
export type LimitBy = (typeof LIMIT_BY)[number];

export const POLICIES = ['local', 'cluster', 'redis'] as const;
export type Policy = (typeof POLICIES)[number];

function strEnum<const V extends readonly string[]>(values: V, dflt: V[number], description: string) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], default: dflt, description });
}

function period<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()], { default: null });
}

const limitRecord = Type.Object(
  {
    second: period(Type.Number({ exclusiveMinimum: 0 })),
    minute: period(Type.Number({ exclusiveMinimum: 0 })),
    hour: period(Type.Number({ exclusiveMinimum: 0 })),
    day: period(Type.Number({ exclusiveMinimum: 0 })),
    month: period(Type.Number({ exclusiveMinimum: 0 })),
    year: period(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);

export const schema = Type.Object(
  {
    header_name: Type.String({ default: 'x-kong-limit', description: 'The name of the response header used to increment the counters.' }),
    limit_by: strEnum(
      LIMIT_BY,
      'consumer',
      'The entity that will be used when aggregating the limits: `consumer`, `credential`, `ip`. If the `consumer` or the `credential` cannot be determined, the system will always fallback to `ip`.',
    ),
    policy: strEnum(POLICIES, 'local', 'The rate-limiting policies to use for retrieving and incrementing the limits. Portcullis implements `local` only.'),
    fault_tolerant: Type.Boolean({
      default: true,
      description:
        'A boolean value that determines if the requests should be proxied even if Kong has troubles connecting a third-party datastore. If `true`, requests will be proxied anyway, effectively disabling the rate-limiting function until the datastore is working again. If `false`, then the clients will see `500` errors.',
    }),
    block_on_first_violation: Type.Boolean({
      default: false,
      description:
        'A boolean value that determines if the requests should be blocked as soon as one limit is being exceeded. This will block requests that are supposed to consume other limits too.',
    }),
    hide_client_headers: Type.Boolean({ default: false, description: 'Optionally hide informative response headers.' }),
    limits: Type.Record(Type.String(), limitRecord, { minProperties: 1, description: 'A map that defines rate limits for the plugin.' }),
  },
  { additionalProperties: false },
);

export type ResponseRateLimitingConfig = Static<typeof schema>;
export type LimitConfig = Static<typeof limitRecord>;

/**
 * Kong's entity checks and custom validator (messages are Kong's), plus the
 * refusal of the policies Portcullis does not implement.
 */
export function check(config: ResponseRateLimitingConfig): Record<string, unknown> {
  const errors: Record<string, unknown> = {};
  if (config.policy !== 'local') {
    errors.policy = `policy '${config.policy}' is not supported by Portcullis' response-ratelimiting; only 'local' is`;
  }
  const limits: Record<string, unknown> = {};
  for (const [name, limit] of Object.entries(config.limits)) {
    if (!PERIODS.some((p) => typeof limit[p] === 'number')) {
      limits[name] = {
        '@entity': ["at least one of these fields must be non-empty: 'second', 'minute', 'hour', 'day', 'month', 'year'"],
      };
      continue;
    }
    outer: for (let i = 0; i < PERIODS.length; i++) {
      const v1 = limit[PERIODS[i]!];
      if (typeof v1 !== 'number') continue;
      for (let j = i + 1; j < PERIODS.length; j++) {
        const v2 = limit[PERIODS[j]!];
        if (typeof v2 === 'number' && v2 < v1) {
          limits[name] = `the limit for ${PERIODS[j]}(${v2.toFixed(1)}) cannot be lower than the limit for ${PERIODS[i]}(${v1.toFixed(1)})`;
          break outer;
        }
      }
    }
  }
  if (Object.keys(limits).length > 0) errors.limits = limits;
  return errors;
}
