/**
 * Entity shapes as Kong 3.x stores and serves them (Admin API JSON).
 * These are the rows the store returns and the runtime compiles; the TypeBox
 * schemas in this folder are the source of validation and defaults.
 * Wire names are Kong's (snake_case) on purpose.
 */

export type Protocol = 'http' | 'https' | 'grpc' | 'grpcs' | 'tcp' | 'tls' | 'udp' | 'ws' | 'wss' | 'tls_passthrough';

export interface ForeignKey {
  id: string;
}

export interface BaseEntity {
  id: string;
  created_at: number;
  updated_at: number;
  tags: string[] | null;
}

export interface ServiceEntity extends BaseEntity {
  name: string | null;
  retries: number;
  protocol: Protocol;
  host: string;
  port: number;
  path: string | null;
  connect_timeout: number;
  write_timeout: number;
  read_timeout: number;
  client_certificate: ForeignKey | null;
  tls_verify: boolean | null;
  tls_verify_depth: number | null;
  ca_certificates: string[] | null;
  enabled: boolean;
}

export interface RouteEntity extends BaseEntity {
  name: string | null;
  protocols: Protocol[];
  methods: string[] | null;
  hosts: string[] | null;
  paths: string[] | null;
  headers: Record<string, string[]> | null;
  https_redirect_status_code: 426 | 301 | 302 | 307 | 308;
  regex_priority: number;
  strip_path: boolean;
  path_handling: 'v0' | 'v1';
  preserve_host: boolean;
  request_buffering: boolean;
  response_buffering: boolean;
  snis: string[] | null;
  sources: Array<{ ip?: string; port?: number }> | null;
  destinations: Array<{ ip?: string; port?: number }> | null;
  service: ForeignKey | null;
}

export interface ConsumerEntity extends BaseEntity {
  username: string | null;
  custom_id: string | null;
}

export interface PluginEntity extends BaseEntity {
  name: string;
  instance_name: string | null;
  route: ForeignKey | null;
  service: ForeignKey | null;
  consumer: ForeignKey | null;
  /** Kong Gateway Enterprise's consumer group scope (absent in rows stored before it existed). */
  consumer_group?: ForeignKey | null;
  config: Record<string, unknown>;
  protocols: Protocol[];
  enabled: boolean;
  ordering: unknown | null;
}

export interface CertificateEntity extends BaseEntity {
  cert: string;
  key: string;
  cert_alt: string | null;
  key_alt: string | null;
}

export interface SniEntity extends BaseEntity {
  name: string;
  certificate: ForeignKey;
}

export interface CaCertificateEntity extends BaseEntity {
  cert: string;
  cert_digest: string;
}

/** kong/db/schema/entities/upstreams.lua `healthchecks` (defaults filled by validation). */
export interface Healthchecks {
  active: {
    type: 'tcp' | 'http' | 'https' | 'grpc' | 'grpcs';
    timeout: number;
    concurrency: number;
    http_path: string;
    https_sni?: string | null;
    https_verify_certificate: boolean;
    headers?: Record<string, string[]> | null;
    healthy: { interval: number; http_statuses: number[]; successes: number };
    unhealthy: { interval: number; http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
  };
  passive: {
    type: 'tcp' | 'http' | 'https' | 'grpc' | 'grpcs';
    healthy: { http_statuses: number[]; successes: number };
    unhealthy: { http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
  };
  threshold: number;
}

export interface UpstreamEntity extends BaseEntity {
  name: string;
  algorithm: 'round-robin' | 'consistent-hashing' | 'least-connections' | 'latency';
  slots: number;
  hash_on: string;
  hash_fallback: string;
  hash_on_header: string | null;
  host_header: string | null;
  healthchecks: Healthchecks;
  use_srv_name: boolean;
  // Kong 3.x fields also present on every stored row (optional in the type so
  // that hand-written literals elsewhere keep compiling).
  hash_fallback_header?: string | null;
  hash_on_cookie?: string | null;
  hash_on_cookie_path?: string;
  hash_on_query_arg?: string | null;
  hash_fallback_query_arg?: string | null;
  hash_on_uri_capture?: string | null;
  hash_fallback_uri_capture?: string | null;
  client_certificate?: ForeignKey | null;
}

export interface TargetEntity {
  id: string;
  created_at: number;
  updated_at: number;
  upstream: ForeignKey;
  target: string;
  weight: number;
  tags: string[] | null;
}

/**
 * key-auth credential (Kong's `keyauth_credentials`, kong/plugins/key-auth/daos.lua):
 * no updated_at. `ttl` is served as the seconds left (null: never expires);
 * `ttl_expires_at` is this gateway's record of when (epoch seconds), never
 * served by the Admin API.
 */
export interface KeyAuthCredentialEntity {
  id: string;
  created_at: number;
  consumer: ForeignKey;
  key: string;
  ttl: number | null;
  ttl_expires_at?: number | null;
  tags: string[] | null;
}

/** A consumer's ACL group (Kong's `acls`, kong/plugins/acl/daos.lua): no updated_at. */
export interface AclEntity {
  id: string;
  created_at: number;
  consumer: ForeignKey;
  group: string;
  tags: string[] | null;
}

/** basic-auth credential (kong/plugins/basic-auth/daos.lua); `password` is Kong's salted SHA-1, hex. */
export interface BasicAuthCredentialEntity {
  id: string;
  created_at: number;
  consumer: ForeignKey;
  username: string;
  password: string;
  tags: string[] | null;
}

/** jwt credential (kong/plugins/jwt/daos.lua). */
export interface JwtSecretEntity {
  id: string;
  created_at: number;
  consumer: ForeignKey;
  key: string;
  secret: string | null;
  rsa_public_key: string | null;
  algorithm: string;
  tags: string[] | null;
}

/** hmac-auth credential (kong/plugins/hmac-auth/daos.lua). */
export interface HmacAuthCredentialEntity {
  id: string;
  created_at: number;
  consumer: ForeignKey;
  username: string;
  secret: string | null;
  tags: string[] | null;
}

/** Consumer group (Kong Enterprise's consumer_groups). */
export interface ConsumerGroupEntity extends BaseEntity {
  name: string;
}

/** Membership of a consumer in a group (Kong Enterprise's consumer_group_consumers). */
export interface ConsumerGroupConsumerEntity {
  id: string;
  created_at: number;
  consumer_group: ForeignKey;
  consumer: ForeignKey;
}

/** Key set (kong/db/schema/entities/key_sets.lua). */
export interface KeySetEntity extends BaseEntity {
  name: string | null;
}

/** Key (kong/db/schema/entities/keys.lua): a JWK string or a PEM pair. */
export interface KeyEntity extends BaseEntity {
  set: ForeignKey | null;
  name: string | null;
  kid: string;
  jwk: string | null;
  pem: { private_key?: string | null; public_key?: string | null } | null;
}

/** Vault configuration (kong/db/schema/entities/vaults.lua). */
export interface VaultEntity extends BaseEntity {
  prefix: string;
  name: string;
  description: string | null;
  config: Record<string, unknown> | null;
}

/** Every entity kind the store knows, by its Admin API collection name. */
export interface EntityMap {
  services: ServiceEntity;
  routes: RouteEntity;
  consumers: ConsumerEntity;
  plugins: PluginEntity;
  certificates: CertificateEntity;
  snis: SniEntity;
  ca_certificates: CaCertificateEntity;
  upstreams: UpstreamEntity;
  targets: TargetEntity;
  keyauth_credentials: KeyAuthCredentialEntity;
  acls: AclEntity;
  basicauth_credentials: BasicAuthCredentialEntity;
  jwt_secrets: JwtSecretEntity;
  hmacauth_credentials: HmacAuthCredentialEntity;
  consumer_groups: ConsumerGroupEntity;
  consumer_group_consumers: ConsumerGroupConsumerEntity;
  key_sets: KeySetEntity;
  keys: KeyEntity;
  vaults: VaultEntity;
}

export type EntityName = keyof EntityMap;

export const ENTITY_NAMES = [
  'services',
  'routes',
  'consumers',
  'plugins',
  'certificates',
  'snis',
  'ca_certificates',
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
] as const satisfies readonly EntityName[];

/**
 * The whole configuration at one instant: what the runtime compiles.
 * Produced by the store (`Store.snapshot()`) and by the declarative loader.
 */
export interface ConfigSnapshot {
  version: number;
  services: ServiceEntity[];
  routes: RouteEntity[];
  consumers: ConsumerEntity[];
  plugins: PluginEntity[];
  certificates: CertificateEntity[];
  snis: SniEntity[];
  ca_certificates: CaCertificateEntity[];
  upstreams: UpstreamEntity[];
  targets: TargetEntity[];
  keyauth_credentials: KeyAuthCredentialEntity[];
  acls: AclEntity[];
  basicauth_credentials: BasicAuthCredentialEntity[];
  jwt_secrets: JwtSecretEntity[];
  hmacauth_credentials: HmacAuthCredentialEntity[];
  consumer_groups: ConsumerGroupEntity[];
  consumer_group_consumers: ConsumerGroupConsumerEntity[];
  key_sets: KeySetEntity[];
  keys: KeyEntity[];
  vaults: VaultEntity[];
}

/** A configuration with no entities (one empty list per entity kind). */
export function emptyConfig(): Omit<ConfigSnapshot, 'version'> {
  return Object.fromEntries(ENTITY_NAMES.map((name) => [name, []])) as unknown as Omit<ConfigSnapshot, 'version'>;
}
