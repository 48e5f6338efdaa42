/**
 * Key (Kong 3.x kong/db/schema/entities/keys.lua, Admin API `/keys`): a JWK
 * (as a JSON string) or a PEM pair, optionally in a key set (cascade).
 * endpoint_key name, cache_key { kid, set }. Kong's entity checks are kept:
 * jwk and pem mutually exclusive, at least one of them; a jwk must decode,
 * carry the same kid and load as a key; a pem record needs a public and/or
 * private key, each a valid PEM key. A vault reference (`{vault://…}`) in
 * `jwk` or a PEM field is not checked here (Kong: "can't validate a reference").
 */
import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import { isVaultReference } from '../../vault/reference.ts';
import { addEntityError, atLeastOneOf, isNonEmpty, type EntityDefinition } from './definition.ts';

export const keySchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  set: Type.Optional(typedefs.foreign('key_sets', { kong: { onDelete: 'cascade' }, description: 'The id of the Key Set with which to associate the key.' })),
  name: Type.Optional(Type.String({ kong: { unique: true }, description: 'The name to associate with the given keys.' })),
  kid: Type.String({ description: 'A unique identifier for a key.' }),
  jwk: Type.Optional(Type.String({ kong: { referenceable: true, encrypted: true }, description: 'A JSON Web Key represented as a string.' })),
  pem: Type.Optional(
    Type.Object(
      {
        private_key: Type.Optional(Type.String({ kong: { referenceable: true, encrypted: true } })),
        public_key: Type.Optional(Type.String({ kong: { referenceable: true } })),
      },
      { kong: { type: 'record' }, description: 'A pair of PEM-encoded public and private keys, which can be either a string or a reference to a credential in Kong Vault.' },
    ),
  ),
  tags: Type.Optional(typedefs.tags()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
});

function checkJwk(row: Record<string, unknown>): string | null {
  const text = row.jwk as string;
  if (isVaultReference(text)) return null;
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    return 'could not json decode jwk string';
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'could not json decode jwk string';
  if ((jwk as { kid?: unknown }).kid !== row.kid) return 'kid in jwk.kid must be equal to keys.kid';
  try {
    if ((jwk as { d?: unknown }).d !== undefined) createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    else createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return 'could not load JWK';
  }
  return null;
}

function checkPem(pem: Record<string, unknown>): string | null {
  const priv = pem.private_key;
  const pub = pem.public_key;
  if (!isNonEmpty(priv) && !isNonEmpty(pub)) return 'need to supply a PEM formatted public and/or private key.';
  if (typeof priv === 'string' && !isVaultReference(priv)) {
    try {
      createPrivateKey(priv);
    } catch {
      return 'could not load private key';
    }
  }
  if (typeof pub === 'string' && !isVaultReference(pub)) {
    try {
      createPublicKey(pub);
    } catch {
      return 'could not load public key';
    }
  }
  return null;
}

export const keys: EntityDefinition = {
  name: 'keys',
  schema: keySchema,
  endpointKey: 'name',
  uniques: ['name'],
  cacheKey: ['kid', 'set'],
  timestamps: 's',
  check(row, errors) {
    if (isNonEmpty(row.jwk) && isNonEmpty(row.pem)) {
      addEntityError(errors, "only one or none of these fields must be set: 'jwk', 'pem'");
      return;
    }
    atLeastOneOf(row, errors, ['jwk', 'pem']);
    if (errors.jwk !== undefined || errors.pem !== undefined || errors.kid !== undefined) return;
    const err = typeof row.jwk === 'string' ? checkJwk(row) : typeof row.pem === 'object' && row.pem !== null ? checkPem(row.pem as Record<string, unknown>) : null;
    if (err !== null) addEntityError(errors, err);
  },
};
