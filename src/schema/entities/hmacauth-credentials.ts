/**
 * hmac-auth credential (Kong 3.x kong/plugins/hmac-auth/daos.lua, entity
 * `hmacauth_credentials`, Admin API `/hmac-auths`, nested
 * `/consumers/{c}/hmac-auth`): endpoint_key username (unique), secret
 * generated when omitted, consumer required with on_delete cascade, no updated_at.
 */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import type { EntityDefinition } from './definition.ts';
import { randomKey } from './random-secret.ts';

export const hmacauthCredentialSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  consumer: typedefs.foreign('consumers', { kong: { onDelete: 'cascade' }, description: 'The consumer the credential belongs to.' }),
  username: Type.String({ kong: { unique: true }, description: 'The username of the HMAC credential.' }),
  secret: Type.Optional(Type.String({ kong: { auto: true }, description: 'The HMAC secret; generated when omitted.' })),
  tags: Type.Optional(typedefs.tags()),
});

export const hmacauthCredentials: EntityDefinition = {
  name: 'hmacauth_credentials',
  schema: hmacauthCredentialSchema,
  endpointKey: 'username',
  uniques: ['username'],
  cacheKey: null,
  timestamps: 's',
  contextualDefaults(row) {
    if (row.secret === undefined || row.secret === null) row.secret = randomKey();
  },
};
