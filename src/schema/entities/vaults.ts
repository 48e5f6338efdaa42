/**
 * Vault (Kong 3.x kong/db/schema/entities/vaults.lua, Admin API `/vaults`):
 * a named configuration of a vault implementation, referenced by its
 * `prefix` in `{vault://<prefix>/<resource>[/<key>]}`. endpoint_key prefix,
 * prefix matching Kong's `^[a-z][a-z%d-]-[a-z%d]+$` and not the name of a
 * bundled vault; `name` must be an installed vault (Kong's subschema_error
 * "vault '%s' is not installed"); `config` is the vault's own schema — for
 * the one vault Portcullis ships, Kong's `env` (kong/vaults/env/schema.lua):
 * `prefix` of the environment variable names. Resolution: src/vault/.
 */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import { VAULT_NAMES } from '../../vault/reference.ts';
import type { EntityDefinition } from './definition.ts';

export const vaultSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  prefix: Type.String({ pattern: '^[a-z][a-z0-9-]*?[a-z0-9]+$', kong: { unique: true }, description: "The unique prefix (or identifier) for this Vault configuration." }),
  name: Type.String({ description: "The name of the Vault that's going to be added." }),
  description: Type.Optional(Type.String({ description: 'The description of the Vault entity.' })),
  config: Type.Optional(
    Type.Object(
      {
        prefix: Type.Optional(Type.String({ pattern: '^[A-Za-z_-][A-Za-z0-9_-]*$', description: 'The prefix for the environment variable that the value will be stored in.' })),
      },
      { kong: { type: 'record' }, description: "The configuration properties for the Vault which can be found on the vaults' documentation page." },
    ),
  ),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  tags: Type.Optional(typedefs.tags()),
});

export const vaults: EntityDefinition = {
  name: 'vaults',
  schema: vaultSchema,
  endpointKey: 'prefix',
  uniques: ['prefix'],
  cacheKey: null,
  timestamps: 's',
  contextualDefaults(row) {
    if (row.config === undefined || row.config === null) row.config = {};
  },
  check(row, errors) {
    if (typeof row.name === 'string' && !(VAULT_NAMES as readonly string[]).includes(row.name) && errors.name === undefined) {
      errors.name = `vault '${row.name}' is not installed`;
    }
    if (typeof row.prefix === 'string' && (VAULT_NAMES as readonly string[]).includes(row.prefix) && errors.prefix === undefined) {
      errors.prefix = `expected none of: ${VAULT_NAMES.join(', ')}`;
    }
  },
};
