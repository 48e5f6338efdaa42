/**
 * `config` of the basic-auth plugin, with Kong's names and defaults
 * (kong/plugins/basic-auth/schema.lua, Kong Gateway 3.x; `realm` since 3.6,
 * required, default "service").
 */
import { Type, type Static } from '@sinclair/typebox';

export const schema = Type.Object(
  {
    anonymous: Type.Union([Type.String(), Type.Null()], {
      default: null,
      description: 'An optional string (consumer UUID or username) value to use as an “anonymous” consumer if authentication fails. If empty (default null), the request will fail with an authentication failure `4xx`.',
    }),
    hide_credentials: Type.Boolean({ default: false, description: 'An optional boolean value telling the plugin to show or hide the credential from the upstream service. If `true`, the plugin will strip the credential from the request (i.e. the `Authorization` header) before proxying it.' }),
    realm: Type.String({ default: 'service', description: 'When authentication fails the plugin sends `WWW-Authenticate` header with `realm` attribute value.' }),
  },
  { additionalProperties: false },
);

export type BasicAuthConfig = Static<typeof schema>;
