/**
 * `config` of the redirect plugin, with Kong's names and defaults
 * (kong/plugins/redirect/schema.lua, Kong Gateway 3.9).
 */
import { Type, type Static } from '@sinclair/typebox';
import { typedefs } from '../../schema/typedefs.ts';

export const schema = Type.Object(
  {
    status_code: Type.Integer({ minimum: 100, maximum: 599, default: 301, description: 'The response code to send. Must be an integer between 100 and 599.' }),
    location: typedefs.url({ description: 'The URL to redirect to' }),
    keep_incoming_path: Type.Boolean({ default: false, description: "Use the incoming request's path and query string in the redirect URL" }),
  },
  { additionalProperties: false },
);

export type RedirectConfig = Static<typeof schema>;
