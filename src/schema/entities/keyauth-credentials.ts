/**
 * key-auth credential (Kong 3.x kong/plugins/key-auth/daos.lua, entity
 * `keyauth_credentials`, Admin API `/key-auths`, nested
 * `/consumers/{consumer}/key-auth`): a consumer's API key.
 *
 * Kong's DAO: endpoint_key = "key", key unique and `auto` (a random
 * 32-hex-character string when omitted), consumer required with on_delete
 * cascade, created_at in seconds, no updated_at, and `ttl = true`: a
 * credential may be given a lifetime in seconds, after which it is gone
 * (Admin API 404, proxy 401). Kong keeps the expiry in the database and
 * serves `ttl` as the seconds left; here the expiry is `ttl_expires_at`
 * (epoch seconds) inside the row, and the Admin API presents `ttl` as the
 * seconds left (src/admin/keyauth-credentials.ts).
 */
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import { credentialExpired } from './credential-ttl.ts';
import type { EntityDefinition } from './definition.ts';
import { randomKey } from './random-secret.ts';
import { clock } from '../../shared/clock.ts';

/**
 * Kong's ttl bounds for DAO options (kong/db/dao/init.lua validate_options_value:
 * an integer 0 ≤ ttl ≤ 100000000; 0 is no expiry, kong/db/strategies/postgres get_ttl_value).
 */
export const MAX_TTL = 100_000_000;
/** Kong's message for a ttl out of bounds (an "invalid options" error, code 11). */
export const TTL_MESSAGE = `must be an integer between 0 and ${MAX_TTL}`;

export const keyauthCredentialSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  consumer: typedefs.foreign('consumers', { kong: { onDelete: 'cascade' }, description: 'The consumer the key belongs to.' }),
  key: Type.Optional(Type.String({ minLength: 1, kong: { unique: true, auto: true, referenceable: true, encrypted: true }, description: 'The API key; generated when omitted.' })),
  ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_TTL, description: 'The number of seconds the key is going to be valid; 0: no expiry.' })),
  // Internal: when the ttl runs out (epoch seconds). Set from `ttl` on every write.
  ttl_expires_at: Type.Optional(Type.Number({ kong: { internal: true } })),
  tags: Type.Optional(typedefs.tags()),
});

export { randomKey };

export const keyauthCredentials: EntityDefinition = {
  name: 'keyauth_credentials',
  schema: keyauthCredentialSchema,
  endpointKey: 'key',
  uniques: ['key'],
  cacheKey: null,
  timestamps: 's',
  contextualDefaults(row) {
    if (row.key === undefined || row.key === null) row.key = randomKey();
  },
  finalize(row) {
    row.ttl_expires_at = typeof row.ttl === 'number' && row.ttl > 0 ? clock.now() / 1000 + row.ttl : null;
  },
  publicView: (row) => publicCredential(row),
};

/**
 * The credential as Kong serves it: `ttl` is the whole seconds left (rounded
 * up, so a fresh credential shows the ttl it was given), null when it never expires;
 * null for a credential whose ttl has run out (Kong no longer finds it).
 */
export function publicCredential(row: Readonly<Record<string, unknown>>, nowS = clock.now() / 1000): Record<string, unknown> | null {
  if (credentialExpired(row, nowS)) return null;
  const { ttl_expires_at: expiresAt, ...rest } = row;
  const out: Record<string, unknown> = { ...rest };
  out.ttl = typeof expiresAt === 'number' ? Math.max(0, Math.ceil(expiresAt - nowS)) : null;
  return out;
}

export { credentialExpired };
