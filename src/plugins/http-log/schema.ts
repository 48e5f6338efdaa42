/**
 * `config` of the http-log plugin, with Kong's names, types and defaults
 * (kong/plugins/http-log/schema.lua, Kong Gateway 3.9.3).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { typedefs } from '../../schema/typedefs.ts';
import { queueSchema } from '../../core/queue.ts';
import { customFieldsByLua, refuseLua } from '../log-plugin.ts';

function strEnum<const V extends readonly string[]>(values: V, dflt: V[number], description: string) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], default: dflt, description });
}

/** Kong 3.x deprecated fields (removed in 4.0): accepted, no default, translated by the queue (getPluginParams). */
function deprecated<T extends TSchema>(schema: T, description: string) {
  return Type.Optional(Type.Union([schema, Type.Null()], { description }));
}

export const schema = Type.Object(
  {
    http_endpoint: typedefs.url({
      description: 'An HTTP URL endpoint (including the protocol to use) to which the data is sent. User info in the URL (`http://user:password@host/`) is sent as HTTP Basic authentication.',
      kong: { referenceable: true, encrypted: true },
    }),
    method: strEnum(['POST', 'PUT', 'PATCH'] as const, 'POST', 'An optional method used to send data to the HTTP server. Supported values are `POST` (default), `PUT`, and `PATCH`.'),
    content_type: strEnum(
      ['application/json', 'application/json; charset=utf-8'] as const,
      'application/json',
      'Indicates the type of data sent. The only available option is `application/json`.',
    ),
    timeout: Type.Number({ default: 10000, description: 'An optional timeout in milliseconds when sending data to the upstream server.' }),
    keepalive: Type.Number({ default: 60000, description: 'An optional value in milliseconds that defines how long an idle connection will live before being closed.' }),
    retry_count: deprecated(Type.Integer(), 'Deprecated (no effect, as in Kong 3.x; a warning is logged): use config.queue.max_retry_time instead.'),
    queue_size: deprecated(Type.Integer(), 'Deprecated: use config.queue.max_batch_size instead.'),
    flush_timeout: deprecated(Type.Number(), 'Deprecated: use config.queue.max_coalescing_delay instead.'),
    headers: Type.Union(
      [Type.Record(typedefs.headerName(), Type.String({ kong: { referenceable: true } }), { kong: { type: 'map', keysCheck: 'header_name' } }), Type.Null()],
      {
        default: null,
        description:
          'An optional table of headers included in the HTTP message to the upstream server. Values are indexed by header name, and each header name accepts a single string.',
      },
    ),
    queue: queueSchema,
    custom_fields_by_lua: customFieldsByLua(),
  },
  { additionalProperties: false },
);

export type HttpLogConfig = Static<typeof schema>;

const FORBIDDEN_HEADERS: Record<string, string> = {
  host: "cannot contain 'Host' header",
  'content-length': "cannot contain 'Content-Length' header",
  'content-type': "cannot contain 'Content-Type' header",
};

/** The URL's userinfo (`user:password`), or null. */
export function userinfo(endpoint: string): string | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*)@/i.exec(endpoint);
  return m === null ? null : m[1]!;
}

/** Kong's header-name match_none rules and its custom_validator (userinfo and an Authorization header). */
export function check(config: HttpLogConfig): Record<string, unknown> {
  const lua = refuseLua(config);
  if (Object.keys(lua).length > 0) return lua;
  const headers = config.headers ?? {};
  const bad: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const msg = FORBIDDEN_HEADERS[name.toLowerCase()];
    if (msg !== undefined) bad[name] = msg;
  }
  if (Object.keys(bad).length > 0) return { headers: bad };
  if (userinfo(config.http_endpoint) !== null && Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
    return { '@config': "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed" };
  }
  return {};
}
