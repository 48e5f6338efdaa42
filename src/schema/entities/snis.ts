/** SNI (kong/db/schema/entities/snis.lua, Kong 3.x): a server name bound to a certificate. */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import type { EntityDefinition } from './definition.ts';

export const sniSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  name: typedefs.wildcardHost({ kong: { unique: true }, description: 'The SNI name to associate with the given certificate.' }),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  tags: Type.Optional(typedefs.tags()),
  certificate: typedefs.foreign('certificates', { description: 'The id (a UUID) of the certificate with which to associate the SNI hostname.' }),
});

export const snis: EntityDefinition = {
  name: 'snis',
  schema: sniSchema,
  endpointKey: 'name',
  uniques: ['name'],
  cacheKey: null,
  timestamps: 's',
};
