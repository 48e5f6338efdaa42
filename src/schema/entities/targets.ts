/**
 * Target (kong/db/schema/entities/targets.lua, Kong 3.x): one host:port of an
 * upstream. Kong stores its timestamps in milliseconds (auto_timestamp_ms)
 * and appends the default port 8000 to a target given without one.
 */
import { Type } from '@sinclair/typebox';
import { normalizeIp } from '../checks.ts';
import { typedefs } from '../typedefs.ts';
import type { EntityDefinition } from './definition.ts';

export const targetSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampMs()),
  updated_at: Type.Optional(typedefs.autoTimestampMs()),
  upstream: typedefs.foreign('upstreams', { kong: { onDelete: 'cascade' }, description: 'The unique identifier or the name of the upstream for which to update the target.' }),
  target: Type.String({ kong: { check: 'target' }, description: 'The target address (ip or hostname) and port.' }),
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, default: 100, description: 'The weight this target gets within the upstream loadbalancer (0-65535).' })),
  tags: Type.Optional(typedefs.tags()),
});

const DEFAULT_TARGET_PORT = 8000;

/** kong/db/dao/targets.lua format_target: host:port with the default port, ipv6 in brackets. */
export function formatTarget(target: string): string {
  const r = normalizeIp(target);
  if (!r.ok) return target;
  const host = r.value.type === 'ipv6' ? `[${r.value.host}]` : r.value.host;
  return `${host}:${r.value.port ?? DEFAULT_TARGET_PORT}`;
}

export const targets: EntityDefinition = {
  name: 'targets',
  schema: targetSchema,
  endpointKey: null,
  uniques: [],
  cacheKey: ['upstream', 'target'],
  timestamps: 'ms',
  finalize(row) {
    if (typeof row.target === 'string') row.target = formatTarget(row.target);
  },
};
