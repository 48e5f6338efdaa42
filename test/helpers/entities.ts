/**
 * Entity fixtures for tests and benchmarks that build configurations without
 * the Admin API: every field with the default Kong's schema fills in
 * (src/schema/entities/), so each caller states only what its case is about.
 */
import type { RouteEntity, ServiceEntity } from '../../src/schema/entities/types.ts';

/** A service with Kong's defaults; `updated_at` follows `created_at` unless given. */
export function serviceEntity(fields: Pick<ServiceEntity, 'id' | 'host'> & Partial<ServiceEntity>): ServiceEntity {
  const created = fields.created_at ?? 0;
  return {
    created_at: created,
    updated_at: created,
    tags: null,
    name: null,
    retries: 5,
    protocol: 'http',
    port: 80,
    path: null,
    connect_timeout: 60000,
    write_timeout: 60000,
    read_timeout: 60000,
    client_certificate: null,
    tls_verify: null,
    tls_verify_depth: null,
    ca_certificates: null,
    enabled: true,
    ...fields,
  };
}

/** A route with Kong's defaults; `updated_at` follows `created_at` unless given. */
export function routeEntity(fields: Pick<RouteEntity, 'id'> & Partial<RouteEntity>): RouteEntity {
  const created = fields.created_at ?? 0;
  return {
    created_at: created,
    updated_at: created,
    tags: null,
    name: null,
    protocols: ['http', 'https'],
    methods: null,
    hosts: null,
    paths: null,
    headers: null,
    https_redirect_status_code: 426,
    regex_priority: 0,
    strip_path: true,
    path_handling: 'v0',
    preserve_host: false,
    request_buffering: true,
    response_buffering: true,
    snis: null,
    sources: null,
    destinations: null,
    service: null,
    ...fields,
  };
}
