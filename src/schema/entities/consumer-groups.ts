/**
 * Consumer groups. Not in Kong OSS (no kong/db/schema/entities/consumer_groups.lua
 * in any 3.x tag of Kong/kong): the shape is Kong Gateway Enterprise's —
 * `consumer_groups` (name unique, endpoint_key name, timestamps, tags) and the
 * membership entity `consumer_group_consumers` (consumer_group + consumer,
 * both cascading; Kong's primary key is the pair, ours is a surrogate id with
 * the pair as cache_key). Admin API: src/admin/consumer-groups.ts.
 */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import type { EntityDefinition } from './definition.ts';

export const consumerGroupSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  name: Type.String({ kong: { unique: true }, description: 'The name of the consumer group.' }),
  tags: Type.Optional(typedefs.tags()),
});

export const consumerGroups: EntityDefinition = {
  name: 'consumer_groups',
  schema: consumerGroupSchema,
  endpointKey: 'name',
  uniques: ['name'],
  cacheKey: null,
  timestamps: 's',
};

export const consumerGroupConsumerSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  consumer_group: typedefs.foreign('consumer_groups', { kong: { onDelete: 'cascade' }, description: 'The group.' }),
  consumer: typedefs.foreign('consumers', { kong: { onDelete: 'cascade' }, description: 'The consumer in the group.' }),
});

export const consumerGroupConsumers: EntityDefinition = {
  name: 'consumer_group_consumers',
  schema: consumerGroupConsumerSchema,
  endpointKey: null,
  uniques: [],
  cacheKey: ['consumer_group', 'consumer'],
  timestamps: 's',
};
