/** Key set (Kong 3.x kong/db/schema/entities/key_sets.lua, Admin API `/key-sets`): a named group of keys. */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import type { EntityDefinition } from './definition.ts';

export const keySetSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  name: Type.Optional(Type.String({ kong: { unique: true }, description: 'The name to associate with the given Key Set.' })),
  tags: Type.Optional(typedefs.tags()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
});

export const keySets: EntityDefinition = {
  name: 'key_sets',
  schema: keySetSchema,
  endpointKey: 'name',
  uniques: ['name'],
  cacheKey: null,
  timestamps: 's',
};
