/**
 * `config` of the tcp-log plugin, with Kong's names, types and defaults
 * (kong/plugins/tcp-log/schema.lua, Kong Gateway 3.9.3).
 */
import { Type, type Static } from '@sinclair/typebox';
import { typedefs } from '../../schema/typedefs.ts';
import { customFieldsByLua, refuseLua } from '../log-plugin.ts';

export const schema = Type.Object(
  {
    host: typedefs.host({ description: 'The IP address or host name to send data to.' }),
    port: typedefs.port({ description: 'The port to send data to on the upstream server.' }),
    timeout: Type.Number({ default: 10000, description: 'An optional timeout in milliseconds when sending data to the upstream server.' }),
    keepalive: Type.Number({ default: 60000, description: 'An optional value in milliseconds that defines how long an idle connection lives before being closed.' }),
    tls: Type.Boolean({ default: false, description: 'Indicates whether to perform a TLS handshake against the remote server.' }),
    tls_sni: Type.Union([Type.String(), Type.Null()], {
      default: null,
      description: 'An optional string that defines the SNI (Server Name Indication) hostname to send in the TLS handshake.',
    }),
    custom_fields_by_lua: customFieldsByLua(),
  },
  { additionalProperties: false },
);

export type TcpLogConfig = Static<typeof schema>;

export const check = (config: TcpLogConfig): Record<string, unknown> => refuseLua(config);
