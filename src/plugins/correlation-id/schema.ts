/**
 * `config` of the correlation-id plugin, with Kong's names and defaults
 * (kong/plugins/correlation-id/schema.lua, Kong Gateway 3.x).
 */
import { Type, type Static } from '@sinclair/typebox';
import { typedefs } from '../../schema/typedefs.ts';

export const GENERATORS = ['uuid', 'uuid#counter', 'tracker'] as const;
export type Generator = (typeof GENERATORS)[number];

export const schema = Type.Object(
  {
    header_name: typedefs.headerName({ default: 'Kong-Request-ID', description: 'The HTTP header name to use for the correlation ID.' }),
    generator: Type.Unsafe<Generator>({
      type: 'string',
      enum: [...GENERATORS],
      default: 'uuid#counter',
      description: 'The generator to use for the correlation ID. Accepted values are `uuid`, `uuid#counter`, and `tracker`.',
    }),
    echo_downstream: Type.Boolean({ default: false, description: 'Whether to echo the header back to downstream (the client).' }),
  },
  { additionalProperties: false },
);

export type CorrelationIdConfig = Static<typeof schema>;
