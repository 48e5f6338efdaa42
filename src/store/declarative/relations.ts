/**
 * Foreign-key relationships between entities, as Kong's declarative schema
 * derives them from the entity schemas (`type = "foreign"` fields). A child
 * may be written nested under its parent (`services[].routes[]`) or at the top
 * level with the parent referenced by its endpoint key or id
 * (`routes[].service: my-service`). The Admin API uses the same table for its
 * nested endpoints (`/services/{service}/routes`).
 */
import type { EntityName } from '../../schema/entities/types.ts';

export interface Relation {
  /** The entity holding the foreign key. */
  child: EntityName;
  /** The foreign-key field on the child (`service` on routes). */
  field: string;
  /** The referenced entity. */
  parent: EntityName;
}

export const RELATIONS: readonly Relation[] = [
  { child: 'services', field: 'client_certificate', parent: 'certificates' },
  { child: 'routes', field: 'service', parent: 'services' },
  { child: 'plugins', field: 'route', parent: 'routes' },
  { child: 'plugins', field: 'service', parent: 'services' },
  { child: 'plugins', field: 'consumer', parent: 'consumers' },
  // Kong Gateway Enterprise: `consumer_groups[].plugins` nested, `plugins[].consumer_group` at the top
  { child: 'plugins', field: 'consumer_group', parent: 'consumer_groups' },
  { child: 'snis', field: 'certificate', parent: 'certificates' },
  { child: 'targets', field: 'upstream', parent: 'upstreams' },
  { child: 'keyauth_credentials', field: 'consumer', parent: 'consumers' },
  { child: 'acls', field: 'consumer', parent: 'consumers' },
  { child: 'basicauth_credentials', field: 'consumer', parent: 'consumers' },
  { child: 'jwt_secrets', field: 'consumer', parent: 'consumers' },
  { child: 'hmacauth_credentials', field: 'consumer', parent: 'consumers' },
  { child: 'consumer_group_consumers', field: 'consumer_group', parent: 'consumer_groups' },
  { child: 'consumer_group_consumers', field: 'consumer', parent: 'consumers' },
  { child: 'keys', field: 'set', parent: 'key_sets' },
];

/**
 * Kong's `endpoint_key` per entity: the unique, human-chosen field that the
 * Admin API accepts in place of an id and that declarative ids derive from.
 * Targets' key is unique only within their upstream.
 */
export const ENDPOINT_KEYS: Readonly<Partial<Record<EntityName, string>>> = {
  services: 'name',
  routes: 'name',
  consumers: 'username',
  plugins: 'instance_name',
  snis: 'name',
  upstreams: 'name',
  targets: 'target',
  keyauth_credentials: 'key',
  basicauth_credentials: 'username',
  jwt_secrets: 'key',
  hmacauth_credentials: 'username',
  consumer_groups: 'name',
  key_sets: 'name',
  keys: 'name',
  vaults: 'prefix',
};

/** Entities in dependency order (referenced before referencing), Kong's topological sort. */
export const ENTITY_ORDER: readonly EntityName[] = [
  'vaults',
  'ca_certificates',
  'certificates',
  'consumers',
  'keyauth_credentials',
  'acls',
  'basicauth_credentials',
  'jwt_secrets',
  'hmacauth_credentials',
  'consumer_groups',
  'consumer_group_consumers',
  'key_sets',
  'keys',
  'services',
  'routes',
  'snis',
  'upstreams',
  'targets',
  'plugins',
];

/** Kong's singular entity names (flattened error `entity_type`). */
export const SINGULAR: Readonly<Record<EntityName, string>> = {
  services: 'service',
  routes: 'route',
  consumers: 'consumer',
  plugins: 'plugin',
  certificates: 'certificate',
  snis: 'sni',
  ca_certificates: 'ca_certificate',
  upstreams: 'upstream',
  targets: 'target',
  keyauth_credentials: 'keyauth_credential',
  acls: 'acl',
  basicauth_credentials: 'basicauth_credential',
  jwt_secrets: 'jwt_secret',
  hmacauth_credentials: 'hmacauth_credential',
  consumer_groups: 'consumer_group',
  consumer_group_consumers: 'consumer_group_consumer',
  key_sets: 'key_set',
  keys: 'key',
  vaults: 'vault',
};

export function relationsOfChild(child: EntityName): Relation[] {
  return RELATIONS.filter((r) => r.child === child);
}

export function relationsOfParent(parent: EntityName): Relation[] {
  return RELATIONS.filter((r) => r.parent === parent);
}
