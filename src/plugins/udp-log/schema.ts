/**
 * `config` of the udp-log plugin, with Kong's names, types and defaults
 * (kong/plugins/udp-log/schema.lua, Kong Gateway 3.9.3).
 */
import { Type, type Static } from '@sinclair/typebox';
import { typedefs } from '../../schema/typedefs.ts';
import { customFieldsByLua, refuseLua } from '../log-plugin.ts';

export const schema = Type.Object(
  {
    host: typedefs.host({ description: 'A string representing a host name, such as example.com.' }),
    port: typedefs.port({ description: 'An integer representing a port number between 0 and 65535, inclusive.' }),
    timeout: Type.Number({ default: 10000, description: 'An optional timeout in milliseconds when sending data to the upstream server.' }),
    custom_fields_by_lua: customFieldsByLua(),
  },
  { additionalProperties: false },
);

export type UdpLogConfig = Static<typeof schema>;

export const check = (config: UdpLogConfig): Record<string, unknown> => refuseLua(config);
