/**
 * SQLite schema. One table per entity: the indexed columns Kong indexes
 * (id, unique names, foreign ids, tags, created_at, the composite cache_key)
 * plus the whole row as JSON in `data`. Foreign keys are declared as a safety
 * net; the store itself checks them first so that errors carry Kong's wording.
 */
import type { Migration } from './types.ts';

const common = 'id TEXT PRIMARY KEY, created_at REAL NOT NULL, tags TEXT, data TEXT NOT NULL';
const ordered = (t: string) => `CREATE INDEX IF NOT EXISTS ${t}_created_at_idx ON ${t} (created_at, id)`;

const ISSUE_15_TABLES = ['acls', 'basicauth_credentials', 'jwt_secrets', 'hmacauth_credentials', 'consumer_groups', 'consumer_group_consumers', 'key_sets', 'keys', 'vaults'];

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '001_core_entities',
    up: [
      'CREATE TABLE config_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)',
      'INSERT INTO config_version (id, version) VALUES (1, 0)',
      `CREATE TABLE certificates (${common})`,
      `CREATE TABLE ca_certificates (${common}, cert_digest TEXT UNIQUE)`,
      `CREATE TABLE snis (${common}, name TEXT UNIQUE, certificate_id TEXT REFERENCES certificates (id) ON DELETE CASCADE)`,
      `CREATE TABLE services (${common}, name TEXT UNIQUE, client_certificate_id TEXT REFERENCES certificates (id))`,
      `CREATE TABLE routes (${common}, name TEXT UNIQUE, service_id TEXT REFERENCES services (id))`,
      `CREATE TABLE consumers (${common}, username TEXT UNIQUE, custom_id TEXT UNIQUE)`,
      `CREATE TABLE upstreams (${common}, name TEXT UNIQUE, client_certificate_id TEXT REFERENCES certificates (id))`,
      `CREATE TABLE targets (${common}, upstream_id TEXT REFERENCES upstreams (id) ON DELETE CASCADE, cache_key TEXT UNIQUE)`,
      `CREATE TABLE plugins (${common}, instance_name TEXT UNIQUE, cache_key TEXT UNIQUE,
        route_id TEXT REFERENCES routes (id) ON DELETE CASCADE,
        service_id TEXT REFERENCES services (id) ON DELETE CASCADE,
        consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE)`,
      ...['certificates', 'ca_certificates', 'snis', 'services', 'routes', 'consumers', 'upstreams', 'targets', 'plugins'].map(ordered),
      'CREATE INDEX snis_certificate_idx ON snis (certificate_id)',
      'CREATE INDEX services_client_certificate_idx ON services (client_certificate_id)',
      'CREATE INDEX routes_service_idx ON routes (service_id)',
      'CREATE INDEX upstreams_client_certificate_idx ON upstreams (client_certificate_id)',
      'CREATE INDEX targets_upstream_idx ON targets (upstream_id)',
      'CREATE INDEX plugins_route_idx ON plugins (route_id)',
      'CREATE INDEX plugins_service_idx ON plugins (service_id)',
      'CREATE INDEX plugins_consumer_idx ON plugins (consumer_id)',
    ],
  },
  {
    // key-auth credentials (Kong's keyauth_credentials): unique key, cascading with their consumer.
    version: 2,
    name: '002_keyauth_credentials',
    up: [
      `CREATE TABLE keyauth_credentials (${common}, key TEXT UNIQUE, consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE)`,
      ordered('keyauth_credentials'),
      'CREATE INDEX keyauth_credentials_consumer_idx ON keyauth_credentials (consumer_id)',
    ],
  },
  {
    // Kong's consumer credentials and groups of the acl / basic-auth / jwt / hmac-auth plugins, consumer
    // groups and their memberships, key sets and keys, vaults (issue 15): every one cascades with its parent.
    version: 3,
    name: '003_credentials_groups_keys_vaults',
    up: [
      `CREATE TABLE acls (${common}, cache_key TEXT UNIQUE, consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE basicauth_credentials (${common}, username TEXT UNIQUE, consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE jwt_secrets (${common}, key TEXT UNIQUE, consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE hmacauth_credentials (${common}, username TEXT UNIQUE, consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE consumer_groups (${common}, name TEXT UNIQUE)`,
      `CREATE TABLE consumer_group_consumers (${common}, cache_key TEXT UNIQUE,
        consumer_group_id TEXT REFERENCES consumer_groups (id) ON DELETE CASCADE,
        consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE key_sets (${common}, name TEXT UNIQUE)`,
      `CREATE TABLE keys (${common}, name TEXT UNIQUE, cache_key TEXT UNIQUE, set_id TEXT REFERENCES key_sets (id) ON DELETE CASCADE)`,
      `CREATE TABLE vaults (${common}, prefix TEXT UNIQUE)`,
      ...ISSUE_15_TABLES.map(ordered),
      ...['acls', 'basicauth_credentials', 'jwt_secrets', 'hmacauth_credentials', 'consumer_group_consumers'].map(
        (t) => `CREATE INDEX ${t}_consumer_idx ON ${t} (consumer_id)`,
      ),
      'CREATE INDEX consumer_group_consumers_group_idx ON consumer_group_consumers (consumer_group_id)',
      'CREATE INDEX keys_set_idx ON keys (set_id)',
    ],
  },
  {
    // Kong Gateway Enterprise's plugin scope `consumer_group` (issue 17): a plugin goes with its group.
    // The cache key gained the field: stored keys get its (empty) part so a duplicate scope is still found.
    version: 4,
    name: '004_plugins_consumer_group',
    up: [
      'ALTER TABLE plugins ADD COLUMN consumer_group_id TEXT REFERENCES consumer_groups (id) ON DELETE CASCADE',
      'CREATE INDEX plugins_consumer_group_idx ON plugins (consumer_group_id)',
      "UPDATE plugins SET cache_key = cache_key || ':' WHERE cache_key IS NOT NULL",
    ],
  },
];
