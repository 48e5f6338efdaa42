/**
 * `config` of the request-termination plugin, with Kong's names and defaults
 * (kong/plugins/request-termination/schema.lua, Kong Gateway 3.x).
 */
import { Type, type Static } from '@sinclair/typebox';
import { typedefs } from '../../schema/typedefs.ts';

const optionalString = (description: string) => Type.Union([Type.String(), Type.Null()], { default: null, description });

export const schema = Type.Object(
  {
    status_code: Type.Integer({ minimum: 100, maximum: 599, default: 503, description: 'The response code to send. Must be an integer between 100 and 599.' }),
    message: optionalString('The message to send, if using the default response generator.'),
    content_type: optionalString('Content type of the raw response configured with `config.body`.'),
    body: optionalString('The raw response body to send. This is mutually exclusive with the `config.message` field.'),
    echo: Type.Boolean({ default: false, description: 'When set, the plugin will echo a copy of the request back to the client. The main usecase for this is debugging.' }),
    // Kong: { trigger = typedefs.header_name } (schema.lua:25 in 3.9.3) — gates every mode, not only echo
    trigger: Type.Union([typedefs.headerName(), Type.Null()], {
      default: null,
      description: 'A string representing an HTTP header name. When set, the plugin only activates (terminates) when this header or query parameter is present in the request.',
    }),
  },
  { additionalProperties: false },
);

export type RequestTerminationConfig = Static<typeof schema>;

const present = (v: string | null | undefined): boolean => typeof v === 'string' && v.length > 0;

/** Kong's custom_validator on the config record (reported as `config: "<message>"`). */
export function check(config: RequestTerminationConfig): Record<string, unknown> {
  const fail = (m: string) => ({ '@config': m });
  if (present(config.message) && (present(config.content_type) || present(config.body))) return fail('message cannot be used with content_type or body');
  if (present(config.content_type) && !present(config.body)) return fail('content_type requires a body');
  if (config.echo && (present(config.content_type) || present(config.body))) return fail('echo cannot be used with content_type and body');
  return {};
}
