/**
 * The registry of entity definitions, by Admin API collection name. The
 * validator (../validate.ts) and every store read their schemas, unique keys
 * and foreign keys from here.
 */
import { caCertificates } from './ca-certificates.ts';
import { certificates } from './certificates.ts';
import { consumers } from './consumers.ts';
import { foreignRelations, type EntityDefinition, type ForeignRelation } from './definition.ts';
import { acls } from './acls.ts';
import { basicauthCredentials } from './basicauth-credentials.ts';
import { consumerGroupConsumers, consumerGroups } from './consumer-groups.ts';
import { hmacauthCredentials } from './hmacauth-credentials.ts';
import { jwtSecrets } from './jwt-secrets.ts';
import { keySets } from './key-sets.ts';
import { keyauthCredentials } from './keyauth-credentials.ts';
import { keys } from './keys.ts';
import { vaults } from './vaults.ts';
import { plugins } from './plugins.ts';
import { routes } from './routes.ts';
import { services } from './services.ts';
import { snis } from './snis.ts';
import { targets } from './targets.ts';
import { ENTITY_NAMES, type EntityName } from './types.ts';
import { upstreams } from './upstreams.ts';

export const ENTITIES: Record<EntityName, EntityDefinition> = {
  services,
  routes,
  consumers,
  plugins,
  certificates,
  snis,
  ca_certificates: caCertificates,
  upstreams,
  targets,
  keyauth_credentials: keyauthCredentials,
  acls,
  basicauth_credentials: basicauthCredentials,
  jwt_secrets: jwtSecrets,
  hmacauth_credentials: hmacauthCredentials,
  consumer_groups: consumerGroups,
  consumer_group_consumers: consumerGroupConsumers,
  key_sets: keySets,
  keys,
  vaults,
};

export function entityDefinition(name: EntityName): EntityDefinition {
  return ENTITIES[name];
}

export interface Reference {
  /** The entity holding the foreign key. */
  entity: EntityName;
  field: string;
  onDelete: 'cascade' | 'restrict';
}

const FOREIGN: Record<EntityName, ForeignRelation[]> = Object.fromEntries(
  ENTITY_NAMES.map((name) => [name, foreignRelations(ENTITIES[name].schema)]),
) as Record<EntityName, ForeignRelation[]>;

/** Foreign keys this entity holds. */
export function foreignKeysOf(entity: EntityName): readonly ForeignRelation[] {
  return FOREIGN[entity];
}

/**
 * Entities referencing `entity`, in the order a delete must visit them.
 * Kong's certificates DAO deletes a certificate's SNIs with it
 * (kong/db/dao/certificates.lua), although snis.certificate itself has no
 * on_delete = "cascade"; that override is kept here.
 */
export function referencesTo(entity: EntityName): Reference[] {
  const out: Reference[] = [];
  for (const name of ENTITY_NAMES) {
    for (const fk of FOREIGN[name]) {
      if (fk.reference !== entity) continue;
      const onDelete = name === 'snis' && entity === 'certificates' ? 'cascade' : fk.onDelete;
      out.push({ entity: name, field: fk.field, onDelete });
    }
  }
  return out;
}

/** Kong's `ENTITY_NAMES` order is also a safe insertion order (parents before children). */
export const INSERT_ORDER: readonly EntityName[] = [
  'certificates',
  'ca_certificates',
  'snis',
  'services',
  'routes',
  'consumers',
  'upstreams',
  'targets',
  'keyauth_credentials',
  'acls',
  'basicauth_credentials',
  'jwt_secrets',
  'hmacauth_credentials',
  'consumer_groups',
  'consumer_group_consumers',
  'key_sets',
  'keys',
  'vaults',
  'plugins',
];
