/**
 * `config` of the hmac-auth plugin, with Kong's names and defaults
 * (kong/plugins/hmac-auth/schema.lua, Kong Gateway 3.x: `algorithms`
 * defaults to all four, hmac-sha1 included — 3.0.0 through 3.9.3 and master,
 * schema.lua:4-9/30 in 3.9.3; `realm` since 3.6).
 */
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../../schema/typedefs.ts';

export const HMAC_ALGORITHMS = ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;

export const schema = Type.Object(
  {
    hide_credentials: Type.Boolean({ default: false, description: 'An optional boolean value telling the plugin to show or hide the credential from the upstream service.' }),
    clock_skew: Type.Number({ exclusiveMinimum: 0, default: 300, description: 'Clock skew in seconds to prevent replay attacks.' }),
    anonymous: Type.Union([Type.String(), Type.Null()], {
      default: null,
      description: 'An optional string (consumer UUID or username) value to use as an “anonymous” consumer if authentication fails.',
    }),
    validate_request_body: Type.Boolean({ default: false, description: 'A boolean value telling the plugin to enable body validation (the Digest header).' }),
    enforce_headers: Type.Array(Type.String(), { default: [], description: 'A list of headers that the client should at least use for HTTP signature creation.' }),
    algorithms: Type.Array(OneOf(HMAC_ALGORITHMS), { default: [...HMAC_ALGORITHMS], description: 'A list of HMAC digest algorithms that the user wants to support. Allowed values are `hmac-sha1`, `hmac-sha256`, `hmac-sha384`, and `hmac-sha512`.' }),
    realm: Type.Union([Type.String(), Type.Null()], {
      default: null,
      description: 'When authentication fails the plugin sends `WWW-Authenticate` header with `realm` attribute value.',
    }),
  },
  { additionalProperties: false },
);

export type HmacAuthConfig = Static<typeof schema>;
