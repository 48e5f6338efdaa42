/**
 * Upstream (kong/db/schema/entities/upstreams.lua, Kong 3.x): a virtual
 * hostname balancing over targets, with active/passive health checks.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { OneOf, typedefs } from '../typedefs.ts';
import { conditional, distinct, oneOfValues, requiredValue, type EntityDefinition } from './definition.ts';

const HASH_ON = ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'] as const;

const seconds = (def: number) => Type.Number({ minimum: 0, maximum: 65535, default: def });
const counter = (def: number) => Type.Integer({ minimum: 0, maximum: 255, default: def });
const statuses = (def: number[]) => Type.Array(Type.Integer({ minimum: 100, maximum: 999 }), { default: def });
const record = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { default: {} });

const healthchecks = Type.Object(
  {
    active: record({
      type: OneOf(['tcp', 'http', 'https', 'grpc', 'grpcs'] as const, { default: 'http' }),
      timeout: seconds(1),
      concurrency: Type.Integer({ minimum: 1, maximum: 2 ** 31, default: 10 }),
      http_path: typedefs.path({ default: '/' }),
      https_sni: Type.Optional(typedefs.sni()),
      https_verify_certificate: Type.Boolean({ default: true }),
      headers: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()), { kong: { type: 'map', keysCheck: 'header_name' } })),
      healthy: record({
        interval: seconds(0),
        http_statuses: statuses([200, 302]),
        successes: counter(0),
      }),
      unhealthy: record({
        interval: seconds(0),
        http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505]),
        tcp_failures: counter(0),
        timeouts: counter(0),
        http_failures: counter(0),
      }),
    }),
    passive: record({
      type: OneOf(['tcp', 'http', 'https', 'grpc', 'grpcs'] as const, { default: 'http' }),
      healthy: record({
        http_statuses: statuses([200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308]),
        successes: counter(0),
      }),
      unhealthy: record({
        http_statuses: statuses([429, 500, 503]),
        tcp_failures: counter(0),
        timeouts: counter(0),
        http_failures: counter(0),
      }),
    }),
    threshold: Type.Number({ minimum: 0, maximum: 100, default: 0 }),
  },
  { default: {}, description: 'The array of healthchecks configurations.' },
);

export const upstreamSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  name: Type.String({ kong: { check: 'upstream_name', unique: true }, description: 'This is a hostname, which must be equal to the host of a Service.' }),
  algorithm: Type.Optional(OneOf(['consistent-hashing', 'least-connections', 'round-robin', 'latency'] as const, { default: 'round-robin', description: 'Which load balancing algorithm to use.' })),
  hash_on: Type.Optional(OneOf(HASH_ON, { default: 'none', description: 'What to use as hashing input.' })),
  hash_fallback: Type.Optional(OneOf(HASH_ON, { default: 'none', description: 'What to use as hashing input if the primary hash_on does not return a hash.' })),
  hash_on_header: Type.Optional(typedefs.headerName()),
  hash_fallback_header: Type.Optional(typedefs.headerName()),
  hash_on_cookie: Type.Optional(typedefs.cookieName()),
  hash_on_cookie_path: Type.Optional(typedefs.path({ default: '/' })),
  hash_on_query_arg: Type.Optional(Type.String()),
  hash_fallback_query_arg: Type.Optional(Type.String()),
  hash_on_uri_capture: Type.Optional(Type.String()),
  hash_fallback_uri_capture: Type.Optional(Type.String()),
  slots: Type.Optional(Type.Integer({ minimum: 10, maximum: 2 ** 16, default: 10000, description: 'The number of slots in the load balancer algorithm.' })),
  healthchecks: Type.Optional(healthchecks),
  tags: Type.Optional(typedefs.tags()),
  host_header: Type.Optional(typedefs.host({ description: 'The hostname to be used as Host header when proxying requests through Kong.' })),
  client_certificate: Type.Optional(typedefs.foreign('certificates', { description: 'If set, the certificate to be used as client certificate while TLS handshaking to the upstream server.' })),
  use_srv_name: Type.Optional(Type.Boolean({ default: false, description: 'If set, the balancer will use SRV hostname as the proxy upstream host.' })),
});

const is = (value: string) => (v: unknown) => v === value;

/**
 * Kong's shorthand_fields (upstreams.lua), applied to the input in order:
 * `algorithm: least-connections | latency` clears `hash_on`; then a given
 * `hash_on` picks the algorithm — `none` → round-robin, anything else →
 * consistent-hashing (so `{hash_on: header, …}` alone hashes, as in Kong).
 */
function hashOnShorthands(input: Record<string, unknown>): void {
  if (input.algorithm === 'least-connections' || input.algorithm === 'latency') input.hash_on = null;
  if (!('hash_on' in input) || input.hash_on === undefined) return;
  if (input.hash_on === null) input.hash_on = 'none';
  else if (input.hash_on === 'none') input.algorithm = 'round-robin';
  else if (typeof input.hash_on === 'string') input.algorithm = 'consistent-hashing';
}

/**
 * Kong fields Portcullis does not implement are refused, naming the field
 * (ARCHITECTURE principle 13: never accepted and ignored).
 */
function refuseUnsupported(row: Record<string, unknown>, errors: Record<string, unknown>): void {
  const active = ((row.healthchecks as { active?: { type?: unknown } } | undefined)?.active ?? {}) as { type?: unknown };
  if (active.type === 'grpc' || active.type === 'grpcs') {
    const hc = (errors.healthchecks ??= {}) as Record<string, unknown>;
    const a = (hc.active ??= {}) as Record<string, unknown>;
    a.type = `'${String(active.type)}' active health checks are not supported by Portcullis (use 'http', 'https' or 'tcp')`;
  }
  if (row.use_srv_name === true) errors.use_srv_name = 'use_srv_name is not supported by Portcullis: targets are resolved through A/AAAA records only (no SRV)';
  if (row.client_certificate !== null && row.client_certificate !== undefined) {
    errors.client_certificate = 'client_certificate on upstreams is not supported by Portcullis (no client certificate is presented to targets)';
  }
}

export const upstreams: EntityDefinition = {
  name: 'upstreams',
  schema: upstreamSchema,
  endpointKey: 'name',
  uniques: ['name'],
  cacheKey: null,
  timestamps: 's',
  shorthands: hashOnShorthands,
  check(row, errors) {
    conditional(row, errors, 'hash_on', is('header'), 'hash_on_header', requiredValue);
    conditional(row, errors, 'hash_fallback', is('header'), 'hash_fallback_header', requiredValue);
    conditional(row, errors, 'hash_on', is('cookie'), 'hash_on_cookie', requiredValue);
    conditional(row, errors, 'hash_fallback', is('cookie'), 'hash_on_cookie', requiredValue);
    conditional(row, errors, 'hash_on', is('none'), 'hash_fallback', oneOfValues(['none']));
    conditional(row, errors, 'hash_on', is('cookie'), 'hash_fallback', oneOfValues(['none']));
    conditional(row, errors, 'hash_on', is('consumer'), 'hash_fallback', oneOfValues(['none', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']));
    conditional(row, errors, 'hash_on', is('ip'), 'hash_fallback', oneOfValues(['none', 'consumer', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']));
    conditional(row, errors, 'hash_on', is('path'), 'hash_fallback', oneOfValues(['none', 'consumer', 'ip', 'header', 'cookie', 'query_arg', 'uri_capture']));
    conditional(row, errors, 'hash_on', is('query_arg'), 'hash_on_query_arg', requiredValue);
    conditional(row, errors, 'hash_fallback', is('query_arg'), 'hash_fallback_query_arg', requiredValue);
    conditional(row, errors, 'hash_on', is('uri_capture'), 'hash_on_uri_capture', requiredValue);
    conditional(row, errors, 'hash_fallback', is('uri_capture'), 'hash_fallback_uri_capture', requiredValue);
    distinct(row, errors, ['hash_on_header', 'hash_fallback_header']);
    distinct(row, errors, ['hash_on_query_arg', 'hash_fallback_query_arg']);
    distinct(row, errors, ['hash_on_uri_capture', 'hash_fallback_uri_capture']);
    refuseUnsupported(row, errors);
  },
};
