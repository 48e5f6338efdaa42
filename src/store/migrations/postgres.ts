/**
 * PostgreSQL schema: the same tables as SQLite (see sqlite.ts), with tags as
 * text[] (GIN-indexed for Kong's tags filter) and timestamps as double
 * precision (targets keep Kong's millisecond fractions).
 */
import type { Migration } from './types.ts';

const common = 'id uuid PRIMARY KEY, created_at double precision NOT NULL, tags text[], data text NOT NULL';
const TABLES = ['certificates', 'ca_certificates', 'snis', 'services', 'routes', 'consumers', 'upstreams', 'targets', 'plugins'];

const ISSUE_15_TABLES = ['acls', 'basicauth_credentials', 'jwt_secrets', 'hmacauth_credentials', 'consumer_groups', 'consumer_group_consumers', 'key_sets', 'keys', 'vaults'];

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '001_core_entities',
    up: [
      'CREATE TABLE config_version (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)',
      'INSERT INTO config_version (id, version) VALUES (1, 0)',
      `CREATE TABLE certificates (${common})`,
      `CREATE TABLE ca_certificates (${common}, cert_digest text UNIQUE)`,
      `CREATE TABLE snis (${common}, name text UNIQUE, certificate_id uuid REFERENCES certificates (id) ON DELETE CASCADE)`,
      `CREATE TABLE services (${common}, name text UNIQUE, client_certificate_id uuid REFERENCES certificates (id))`,
      `CREATE TABLE routes (${common}, name text UNIQUE, service_id uuid REFERENCES services (id))`,
      `CREATE TABLE consumers (${common}, username text UNIQUE, custom_id text UNIQUE)`,
      `CREATE TABLE upstreams (${common}, name text UNIQUE, client_certificate_id uuid REFERENCES certificates (id))`,
      `CREATE TABLE targets (${common}, upstream_id uuid REFERENCES upstreams (id) ON DELETE CASCADE, cache_key text UNIQUE)`,
      `CREATE TABLE plugins (${common}, instance_name text UNIQUE, cache_key text UNIQUE,
        route_id uuid REFERENCES routes (id) ON DELETE CASCADE,
        service_id uuid REFERENCES services (id) ON DELETE CASCADE,
        consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE)`,
      ...TABLES.map((t) => `CREATE INDEX ${t}_created_at_idx ON ${t} (created_at, id)`),
      ...TABLES.map((t) => `CREATE INDEX ${t}_tags_idx ON ${t} USING GIN (tags)`),
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
      `CREATE TABLE keyauth_credentials (${common}, key text UNIQUE, consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE)`,
      'CREATE INDEX keyauth_credentials_created_at_idx ON keyauth_credentials (created_at, id)',
      'CREATE INDEX keyauth_credentials_tags_idx ON keyauth_credentials USING GIN (tags)',
      'CREATE INDEX keyauth_credentials_consumer_idx ON keyauth_credentials (consumer_id)',
    ],
  },
  {
    // Kong's consumer credentials and groups of the acl / basic-auth / jwt / hmac-auth plugins, consumer
    // groups and their memberships, key sets and keys, vaults (issue 15): every one cascades with its parent.
    version: 3,
    name: '003_credentials_groups_keys_vaults',
    up: [
      `CREATE TABLE acls (${common}, cache_key text UNIQUE, consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE basicauth_credentials (${common}, username text UNIQUE, consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE jwt_secrets (${common}, key text UNIQUE, consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE hmacauth_credentials (${common}, username text UNIQUE, consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE consumer_groups (${common}, name text UNIQUE)`,
      `CREATE TABLE consumer_group_consumers (${common}, cache_key text UNIQUE,
        consumer_group_id uuid REFERENCES consumer_groups (id) ON DELETE CASCADE,
        consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE)`,
      `CREATE TABLE key_sets (${common}, name text UNIQUE)`,
      `CREATE TABLE keys (${common}, name text UNIQUE, cache_key text UNIQUE, set_id uuid REFERENCES key_sets (id) ON DELETE CASCADE)`,
      `CREATE TABLE vaults (${common}, prefix text UNIQUE)`,
      ...ISSUE_15_TABLES.map((t) => `CREATE INDEX ${t}_created_at_idx ON ${t} (created_at, id)`),
      ...ISSUE_15_TABLES.map((t) => `CREATE INDEX ${t}_tags_idx ON ${t} USING GIN (tags)`),
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
      'ALTER TABLE plugins ADD COLUMN consumer_group_id uuid REFERENCES consumer_groups (id) ON DELETE CASCADE',
      'CREATE INDEX plugins_consumer_group_idx ON plugins (consumer_group_id)',
      "UPDATE plugins SET cache_key = cache_key || ':' WHERE cache_key IS NOT NULL",
    ],
  },
  {
    // Kong's cluster_events (without node_id / nbf): events every node must apply, kept until they expire
    // so a node that was away reads them back (src/store/postgres/events.ts); no SQLite counterpart (one node).
    version: 5,
    name: '005_cluster_events',
    up: [
      'CREATE TABLE cluster_events (id uuid PRIMARY KEY, at timestamp with time zone NOT NULL, expire_at timestamp with time zone NOT NULL, channel text NOT NULL, data text NOT NULL)',
      'CREATE INDEX cluster_events_channel_idx ON cluster_events (channel, expire_at)',
      'CREATE INDEX cluster_events_expire_at_idx ON cluster_events (expire_at)',
    ],
  },
];
