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
  { child: 'snis', field: 'certificate', parent: 'certificates' },
  { child: 'targets', field: 'upstream', parent: 'upstreams' },
  { child: 'keyauth_credentials', field: 'consumer', parent: 'consumers' },
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
};

/** Entities in dependency order (referenced before referencing), Kong's topological sort. */
export const ENTITY_ORDER: readonly EntityName[] = [
  'ca_certificates',
  'certificates',
  'consumers',
  'keyauth_credentials',
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
};

export function relationsOfChild(child: EntityName): Relation[] {
  return RELATIONS.filter((r) => r.child === child);
}

export function relationsOfParent(parent: EntityName): Relation[] {
  return RELATIONS.filter((r) => r.parent === parent);
}
