/**
 * Kong's typedefs (kong/db/schema/typedefs.lua) as TypeBox builders. Entity
 * and plugin schemas are composed from these; they are the single source for
 * validation (ajv.ts), defaults and the Admin API's GET /schemas output
 * (admin-schema.ts).
 *
 * Kong-only facts that JSON Schema has no word for ride along in the `kong`
 * annotation: the Kong type when it differs from the JSON type (set, map,
 * foreign), a named custom check (checks.ts), uuid/auto/unique/timestamp
 * markers, and foreign references.
 */
import { Type, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import type { CheckName } from './checks.ts';
import type { EntityName, Protocol } from './entities/types.ts';

export interface KongAnnotation {
  /** Stored by this gateway for its own use, never shown in GET /schemas (a credential's expiry). */
  internal?: boolean;
  /** Kong field type when it is not the JSON one. */
  type?: 'set' | 'map' | 'foreign' | 'record';
  /** Named validator from checks.ts, run on the (string) value. */
  check?: CheckName;
  /** For maps: validator run on every key. */
  keysCheck?: CheckName;
  uuid?: boolean;
  auto?: boolean;
  unique?: boolean;
  timestamp?: boolean;
  /** Kong's starts_with, shown in GET /schemas (the check carries the message). */
  startsWith?: string;
  /** Foreign key target. */
  reference?: EntityName;
  onDelete?: 'cascade' | 'restrict';
  /** Kong's `referenceable` / `encrypted` markers, shown in GET /schemas. */
  referenceable?: boolean;
  encrypted?: boolean;
}

export type KongOptions = SchemaOptions & { kong?: KongAnnotation };

function merge(base: KongOptions, extra?: KongOptions): KongOptions {
  if (!extra) return base;
  const kong = base.kong || extra.kong ? { ...base.kong, ...extra.kong } : undefined;
  return kong ? { ...base, ...extra, kong } : { ...base, ...extra };
}

/** Every protocol Kong knows (constants.PROTOCOLS, sorted as Kong sorts it). */
export const PROTOCOLS = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp', 'ws', 'wss'] as const satisfies readonly Protocol[];
/** Protocols of the http subsystem: the plugin default. */
export const HTTP_PROTOCOLS = ['grpc', 'grpcs', 'http', 'https'] as const satisfies readonly Protocol[];

/** A string restricted to a list (Kong's one_of). */
export function OneOf<T extends string | number>(values: readonly T[], opts?: KongOptions) {
  const type = typeof values[0] === 'number' ? 'integer' : 'string';
  return Type.Unsafe<T>({ type, enum: [...values], ...opts });
}

export const typedefs = {
  uuid: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'uuid', uuid: true, auto: true } }, opts)),
  autoTimestampS: (opts?: KongOptions) =>
    Type.Integer(merge({ kong: { timestamp: true, auto: true }, description: 'Unix epoch when the resource was created.' }, opts)),
  autoTimestampMs: (opts?: KongOptions) => Type.Number(merge({ kong: { timestamp: true, auto: true } }, opts)),
  name: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'name', unique: true } }, opts)),
  utf8Name: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'utf8_name', unique: true } }, opts)),
  protocol: (opts?: KongOptions) => OneOf(PROTOCOLS, opts),
  host: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'host' } }, opts)),
  hostWithOptionalPort: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'host_with_optional_port' } }, opts)),
  wildcardHost: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'wildcard_host' } }, opts)),
  sni: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'sni' } }, opts)),
  ip: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'ip' } }, opts)),
  ipOrCidr: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'ip_or_cidr' } }, opts)),
  port: (opts?: KongOptions) => Type.Integer(merge({ minimum: 0, maximum: 65535 }, opts)),
  path: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'path', startsWith: '/' } }, opts)),
  url: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'url' } }, opts)),
  headerName: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'header_name' } }, opts)),
  cookieName: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'cookie_name' } }, opts)),
  timeout: (opts?: KongOptions) => Type.Integer(merge({ minimum: 0, maximum: 2 ** 31 - 2 }, opts)),
  certificate: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'certificate', referenceable: true } }, opts)),
  key: (opts?: KongOptions) => Type.String(merge({ kong: { check: 'key', referenceable: true, encrypted: true } }, opts)),
  tag: () => Type.String({ kong: { check: 'tag' } }),
  tags: (opts?: KongOptions) =>
    Type.Array(typedefs.tag(), merge({ kong: { type: 'set' }, description: 'An optional set of strings associated with the entity for grouping and filtering.' }, opts)),
  /** A set of protocols (plugins' `protocols`). */
  protocols: (values: readonly Protocol[] = PROTOCOLS, defaults: readonly Protocol[] = HTTP_PROTOCOLS, opts?: KongOptions) =>
    Type.Array(OneOf([...values].sort()), merge({ kong: { type: 'set' }, default: [...defaults] }, opts)),
  /** A foreign key: `{ "id": "<uuid>" }`. */
  foreign: (reference: EntityName, opts?: KongOptions) =>
    Type.Object(
      { id: Type.String({ kong: { check: 'uuid', uuid: true } }) },
      merge({ kong: { type: 'foreign', reference, onDelete: 'restrict' }, additionalProperties: true }, opts),
    ),
  httpMethod: () => Type.String({ kong: { check: 'http_method' } }),
  methods: (opts?: KongOptions) => Type.Array(typedefs.httpMethod(), merge({ kong: { type: 'set' } }, opts)),
  hosts: (opts?: KongOptions) => Type.Array(Type.String({ kong: { check: 'route_host' } }), opts),
  routerPaths: (opts?: KongOptions) => Type.Array(Type.String({ kong: { check: 'router_path' } }), opts),
  headers: (opts?: KongOptions) =>
    Type.Record(Type.String(), Type.Array(Type.String()), merge({ kong: { type: 'map', keysCheck: 'route_header_name' } }, opts)),
  /** sources / destinations of stream routes: records with at least one of ip, port. */
  endpoints: (opts?: KongOptions) =>
    Type.Array(
      Type.Object({ ip: Type.Optional(typedefs.ipOrCidr()), port: Type.Optional(typedefs.port()) }),
      merge({ kong: { type: 'set' } }, opts),
    ),
};

/** Read the `kong` annotation of a schema node. */
export function kongOf(schema: TSchema | Record<string, unknown>): KongAnnotation {
  return ((schema as { kong?: KongAnnotation }).kong ?? {}) as KongAnnotation;
}

/**
 * The schema a value is really checked against when a field is written as
 * `Type.Union([X, Type.Null()])` (nullable X): X, with the outer default and
 * description. Other schemas are returned as they are.
 */
export function effectiveSchema(schema: Record<string, unknown>): Record<string, unknown> {
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = schema[k];
    if (!Array.isArray(list)) continue;
    const nonNull = list.filter((b) => (b as Record<string, unknown>).type !== 'null') as Record<string, unknown>[];
    if (nonNull.length !== 1 || nonNull.length === list.length) return schema;
    const { [k]: _drop, ...outer } = schema;
    return { ...nonNull[0], ...outer };
  }
  return schema;
}
