/**
 * Plugin (kong/db/schema/entities/plugins.lua, Kong 3.x). `config` is
 * abstract here: validate.ts checks it against the plugin module's own
 * TypeBox schema (src/plugins/index.ts), as Kong does with plugin subschemas.
 *
 * `consumer_group` is Kong Gateway Enterprise's (3.4+): a plugin scoped to a
 * consumer group applies to the callers of that group (precedence in
 * src/core/pipeline/plan.ts). Only plugins whose module allows it
 * (`scopes.consumer_group`) may set it; a plugin is scoped to a consumer or
 * to a consumer group, never both (Kong's precedence has no such
 * combination).
 */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import { addEntityError, type EntityDefinition } from './definition.ts';
import { notSupported } from './not-supported.ts';

export const pluginSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  name: Type.String({ description: "The name of the Plugin that's going to be added." }),
  instance_name: Type.Optional(typedefs.utf8Name()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  route: Type.Optional(typedefs.foreign('routes', { kong: { onDelete: 'cascade' }, description: 'If set, the plugin will only activate when receiving requests via the specified route.' })),
  service: Type.Optional(typedefs.foreign('services', { kong: { onDelete: 'cascade' }, description: 'If set, the plugin will only activate when receiving requests via one of the routes belonging to the specified service.' })),
  consumer: Type.Optional(typedefs.foreign('consumers', { kong: { onDelete: 'cascade' }, description: 'If set, the plugin will activate only for requests where the specified has been authenticated.' })),
  consumer_group: Type.Optional(
    typedefs.foreign('consumer_groups', {
      kong: { onDelete: 'cascade' },
      description: 'If set, the plugin will activate only for requests where the specified consumer group has been authenticated.',
    }),
  ),
  config: Type.Object({}, { additionalProperties: true, description: 'The configuration properties for the Plugin.' }),
  protocols: typedefs.protocols(),
  enabled: Type.Boolean({ default: true, description: 'Whether the plugin is applied.' }),
  tags: Type.Optional(typedefs.tags()),
  ordering: Type.Optional(
    Type.Object(
      {
        before: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()), { kong: { type: 'map' } })),
        after: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()), { kong: { type: 'map' } })),
      },
      { description: 'Dynamic plugin ordering: which plugins this one runs before or after, per phase.' },
    ),
  ),
});

export const plugins: EntityDefinition = {
  name: 'plugins',
  schema: pluginSchema,
  endpointKey: 'instance_name',
  uniques: ['instance_name'],
  cacheKey: ['name', 'route', 'service', 'consumer', 'consumer_group'],
  timestamps: 's',
  check(row, errors) {
    // Kong Enterprise's dynamic ordering; plugins run in Kong's static priority order here.
    notSupported(errors, 'ordering', row.ordering, 'dynamic plugin ordering');
    const set = (v: unknown) => v !== undefined && v !== null;
    if (set(row.consumer) && set(row.consumer_group)) addEntityError(errors, "only one or none of these fields must be set: 'consumer', 'consumer_group'");
  },
};
