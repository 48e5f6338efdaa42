/**
 * basic-auth credential (Kong 3.x kong/plugins/basic-auth/daos.lua, entity
 * `basicauth_credentials`, Admin API `/basic-auths`, nested
 * `/consumers/{c}/basic-auth`): endpoint_key username (unique), password
 * required, consumer required with on_delete cascade, no updated_at.
 *
 * The password is stored as Kong stores it (its `transformations` on_write,
 * kong/plugins/basic-auth/crypto.lua): the hex SHA-1 of `password ..
 * consumer_id`. Keeping Kong's format means a database or a `db_export` moves
 * between Kong and Portcullis with working credentials, and decK dumps show
 * the same value Kong would. SHA-1 is weak for passwords; Kong's choice is
 * kept for compatibility (docs/admin-api.md says so). The hash is applied
 * where Kong applies it: Admin API writes that carry `password`
 * (src/admin/basicauth-credentials.ts) and declarative files unless
 * `_transform: false` (src/store/declarative/parse.ts).
 */
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import type { EntityDefinition } from './definition.ts';

export const basicauthCredentialSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  consumer: typedefs.foreign('consumers', { kong: { onDelete: 'cascade' }, description: 'The consumer the credential belongs to.' }),
  username: Type.String({ kong: { unique: true }, description: 'The username to use in the Basic Authentication.' }),
  password: Type.String({ kong: { encrypted: true }, description: 'The password to use in the Basic Authentication (stored hashed, as Kong: sha1(password .. consumer_id)).' }),
  tags: Type.Optional(typedefs.tags()),
});

/** Kong's crypto.hash(consumer_id, password): hex SHA-1 of the password salted with the consumer id. */
export function hashBasicAuthPassword(consumerId: string, password: string | null): string {
  return createHash('sha1')
    .update((password ?? '') + consumerId, 'utf8')
    .digest('hex');
}

export const basicauthCredentials: EntityDefinition = {
  name: 'basicauth_credentials',
  schema: basicauthCredentialSchema,
  endpointKey: 'username',
  uniques: ['username'],
  cacheKey: null,
  timestamps: 's',
};
