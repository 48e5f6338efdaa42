/**
 * `config` of the cors plugin, with Kong's names and defaults
 * (kong/plugins/cors/schema.lua, Kong Gateway 3.9).
 */
import { Type, type Static } from '@sinclair/typebox';

export const METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;
export type Method = (typeof METHODS)[number];

const strings = (description: string) => Type.Union([Type.Array(Type.String()), Type.Null()], { default: null, description });

export const schema = Type.Object(
  {
    origins: strings('List of allowed domains for the `Access-Control-Allow-Origin` header. If you want to allow all origins, add `*` as a single value to this configuration field. The accepted values can either be flat strings or PCRE regexes.'),
    headers: strings('Value for the `Access-Control-Allow-Headers` header.'),
    exposed_headers: strings('Value for the `Access-Control-Expose-Headers` header. If not specified, no custom headers are exposed.'),
    methods: Type.Union([Type.Array(Type.Unsafe<Method>({ type: 'string', enum: [...METHODS] })), Type.Null()], {
      default: [...METHODS],
      description: "'Value for the `Access-Control-Allow-Methods` header. Available options include `GET`, `HEAD`, `PUT`, `PATCH`, `POST`, `DELETE`, `OPTIONS`, `TRACE`, `CONNECT`. By default, all options are allowed.'",
    }),
    max_age: Type.Union([Type.Number(), Type.Null()], { default: null, description: 'Indicates how long the results of the preflight request can be cached, in `seconds`.' }),
    credentials: Type.Boolean({ default: false, description: 'Flag to determine whether the `Access-Control-Allow-Credentials` header should be sent with `true` as the value.' }),
    private_network: Type.Boolean({ default: false, description: 'Flag to determine whether the `Access-Control-Allow-Private-Network` header should be sent with `true` as the value.' }),
    preflight_continue: Type.Boolean({ default: false, description: 'A boolean value that instructs the plugin to proxy the `OPTIONS` preflight request to the Upstream service.' }),
    allow_origin_absent: Type.Boolean({ default: true, description: "A boolean value that skip cors response headers when origin header of request is empty" }),
  },
  { additionalProperties: false },
);

export type CorsConfig = Static<typeof schema>;

/** Characters of a plain origin; anything else makes an entry a regex (Kong: `[^A-Za-z0-9.:/-]`). */
export const PLAIN_ORIGIN = /^[A-Za-z0-9.:/-]+$/;

/** Kong's validate_asterisk_or_regex on each origin. */
export function check(config: CorsConfig): Record<string, unknown> {
  const origins = config.origins;
  if (!Array.isArray(origins)) return {};
  const errors: (string | null)[] = [];
  let bad = false;
  origins.forEach((o, i) => {
    if (o === '*' || PLAIN_ORIGIN.test(o)) return;
    try {
      new RegExp(o);
    } catch {
      // Kong reports array errors by position.
      while (errors.length < i) errors.push(null);
      errors[i] = `'${o}' is not a valid regex`;
      bad = true;
    }
  });
  return bad ? { origins: errors } : {};
}
