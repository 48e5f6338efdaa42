/**
 * `config` of the key-auth plugin, with Kong's names and defaults
 * (kong/plugins/key-auth/schema.lua, Kong Gateway 3.x).
 */
import { Type, type Static } from '@sinclair/typebox';
import { typedefs } from '../../schema/typedefs.ts';

export const schema = Type.Object(
  {
    key_names: Type.Array(typedefs.headerName(), {
      minItems: 1,
      default: ['apikey'],
      description: 'Describes an array of parameter names where the plugin will look for a key. The key names may only contain [a-z], [A-Z], [0-9], [_] underscore, and [-] hyphen.',
    }),
    hide_credentials: Type.Boolean({ default: false, description: 'An optional boolean value telling the plugin to show or hide the credential from the upstream service. If `true`, the plugin strips the credential from the request.' }),
    anonymous: Type.Union([Type.String(), Type.Null()], {
      default: null,
      description: 'An optional string (consumer UUID or username) value to use as an “anonymous” consumer if authentication fails. If empty (default null), the request will fail with an authentication failure `4xx`.',
    }),
    key_in_header: Type.Boolean({ default: true, description: 'If enabled (default), the plugin reads the request header and tries to find the key in it.' }),
    key_in_query: Type.Boolean({ default: true, description: 'If enabled (default), the plugin reads the query parameter in the request and tries to find the key in it.' }),
    key_in_body: Type.Boolean({ default: false, description: 'If enabled, the plugin reads the request body. Supported MIME types: `application/www-form-urlencoded`, `application/json`.' }),
    run_on_preflight: Type.Boolean({ default: true, description: 'A boolean value that indicates whether the plugin should run (and try to authenticate) on `OPTIONS` preflight requests. If set to `false`, then `OPTIONS` requests are always allowed.' }),
    realm: Type.Union([Type.String(), Type.Null()], {
      default: null,
      description: 'When authentication fails the plugin sends `WWW-Authenticate` header with `realm` attribute value.',
    }),
  },
  { additionalProperties: false },
);

export type KeyAuthConfig = Static<typeof schema>;
