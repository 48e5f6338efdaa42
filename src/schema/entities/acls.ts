/**
 * ACL group membership (Kong 3.x kong/plugins/acl/daos.lua, entity `acls`):
 * one row per (consumer, group). Kong's DAO: no endpoint_key (the Admin API's
 * `/consumers/{c}/acls/{group}` finds a row by its cache key, consumer +
 * group — src/admin/acls.ts), cache_key { consumer, group } (a consumer is in
 * a group once), consumer required with on_delete cascade, created_at in
 * seconds, no updated_at. Read by the acl plugin (src/core/runtime.ts builds
 * consumer → groups).
 */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import type { EntityDefinition } from './definition.ts';

export const aclSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  consumer: typedefs.foreign('consumers', { kong: { onDelete: 'cascade' }, description: 'The consumer in the group.' }),
  group: Type.String({ description: 'The name of the group the consumer belongs to.' }),
  tags: Type.Optional(typedefs.tags()),
});

export const acls: EntityDefinition = {
  name: 'acls',
  schema: aclSchema,
  endpointKey: null,
  uniques: [],
  cacheKey: ['consumer', 'group'],
  timestamps: 's',
};
