/**
 * jwt credential (Kong 3.x kong/plugins/jwt/daos.lua, entity `jwt_secrets`,
 * Admin API `/jwts`, nested `/consumers/{c}/jwt`): endpoint_key `key` (unique,
 * generated when omitted), `secret` (generated when omitted), `algorithm`
 * (default HS256), `rsa_public_key` — required and a parseable public key
 * when the algorithm is RS*, PS* or EdDSA (Kong's conditional entity check
 * with validate_ssl_key: "invalid key"). No updated_at.
 */
import { createPublicKey } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { OneOf, typedefs } from '../typedefs.ts';
import { conditional, type EntityDefinition } from './definition.ts';
import { randomKey } from './random-secret.ts';

export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;
const NEEDS_PUBLIC_KEY = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA']);

export const jwtSecretSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  consumer: typedefs.foreign('consumers', { kong: { onDelete: 'cascade' }, description: 'The consumer the credential belongs to.' }),
  key: Type.Optional(Type.String({ kong: { unique: true, auto: true }, description: 'A unique string identifying the credential (the `iss` claim by default); generated when omitted.' })),
  secret: Type.Optional(Type.String({ kong: { auto: true }, description: 'The HMAC secret (HS algorithms); generated when omitted.' })),
  rsa_public_key: Type.Optional(Type.String({ description: 'The public key (PEM) of RS, PS and EdDSA algorithms.' })),
  algorithm: OneOf(JWT_ALGORITHMS, { default: 'HS256', description: 'The algorithm used to verify the token signature.' }),
  tags: Type.Optional(typedefs.tags()),
});

/** Kong's validate_ssl_key: the value must parse as a key. */
function validKey(v: unknown): string | null {
  if (v === undefined || v === null) return 'required field missing';
  try {
    createPublicKey(String(v));
    return null;
  } catch {
    return 'invalid key';
  }
}

export const jwtSecrets: EntityDefinition = {
  name: 'jwt_secrets',
  schema: jwtSecretSchema,
  endpointKey: 'key',
  uniques: ['key'],
  cacheKey: null,
  timestamps: 's',
  contextualDefaults(row) {
    if (row.key === undefined || row.key === null) row.key = randomKey();
    if (row.secret === undefined || row.secret === null) row.secret = randomKey();
  },
  check(row, errors) {
    conditional(row, errors, 'algorithm', (v) => NEEDS_PUBLIC_KEY.has(v as string), 'rsa_public_key', validKey);
  },
};
