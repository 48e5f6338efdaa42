/** Consumer (kong/db/schema/entities/consumers.lua, Kong 3.x). */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import { atLeastOneOf, type EntityDefinition } from './definition.ts';

export const consumerSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  username: Type.Optional(Type.String({ kong: { unique: true }, description: 'The unique username of the Consumer.' })),
  custom_id: Type.Optional(Type.String({ kong: { unique: true }, description: 'Field for storing an existing ID for the Consumer.' })),
  tags: Type.Optional(typedefs.tags()),
});

export const consumers: EntityDefinition = {
  name: 'consumers',
  schema: consumerSchema,
  endpointKey: 'username',
  uniques: ['username', 'custom_id'],
  cacheKey: null,
  timestamps: 's',
  check(row, errors) {
    atLeastOneOf(row, errors, ['custom_id', 'username']);
  },
};
