/**
 * Kong parameters Portcullis knows but does not implement (yet), and the
 * cross-field checks Kong makes. A known-but-unsupported parameter is accepted
 * only at its Kong default; any other value is a schema violation that names
 * it — a Kong configuration that relies on it must fail loudly, never load
 * and silently behave differently (issue 3, "coverage table").
 *
 * docs/plugins/openid-connect.md lists the same fields with the reason.
 */
import { checkRedisConnection, nodeList } from '../../redis/connection.ts';
import { checkPossessionConfig } from './pop/index.ts';
import type { OidcConfig } from './schema.ts';

const NOT_YET = 'not supported by Portcullis yet';

type Rule = readonly [field: keyof OidcConfig, acceptable: (v: unknown) => boolean, why: string];

const isNull = (v: unknown): boolean => v === null || v === undefined;
const isFalse = (v: unknown): boolean => v === false || isNull(v);
const isTrue = (v: unknown): boolean => v === true || isNull(v);
const is = (x: unknown) => (v: unknown): boolean => v === x || isNull(v);
const emptyList = (v: unknown): boolean => isNull(v) || (Array.isArray(v) && v.length === 0);

/** Client authentication methods that need a client certificate (RFC 8705). */
const TLS_AUTH = new Set(['tls_client_auth', 'self_signed_tls_client_auth']);
const noTlsAuth = (v: unknown): boolean => isNull(v) || (typeof v === 'string' ? !TLS_AUTH.has(v) : Array.isArray(v) && v.every((m) => !TLS_AUTH.has(m as string)));

export const UNSUPPORTED_RULES: readonly Rule[] = [
  ['using_pseudo_issuer', isFalse, 'pseudo issuers (no discovery)'],
  ['verify_parameters', isFalse, 'verifying the configuration against discovery'],
  ['token_exchange_endpoint', isNull, 'the legacy token exchange'],
  ['require_signed_request_object', isFalse, 'signed request objects (JAR, RFC 9101)'],
  ['mtls_token_endpoint', isNull, 'mutual-TLS client authentication (RFC 8705)'],
  ['mtls_introspection_endpoint', isNull, 'mutual-TLS client authentication (RFC 8705)'],
  ['mtls_revocation_endpoint', isNull, 'mutual-TLS client authentication (RFC 8705)'],
  ['tls_client_auth_cert_id', isNull, 'mutual-TLS client authentication (RFC 8705)'],
  ['client_auth', noTlsAuth, 'tls_client_auth / self_signed_tls_client_auth (RFC 8705)'],
  ['token_endpoint_auth_method', noTlsAuth, 'tls_client_auth / self_signed_tls_client_auth (RFC 8705)'],
  ['introspection_endpoint_auth_method', noTlsAuth, 'tls_client_auth / self_signed_tls_client_auth (RFC 8705)'],
  ['revocation_endpoint_auth_method', noTlsAuth, 'tls_client_auth / self_signed_tls_client_auth (RFC 8705)'],
  ['pushed_authorization_request_endpoint_auth_method', noTlsAuth, 'tls_client_auth / self_signed_tls_client_auth (RFC 8705)'],
  ['response_mode', (v) => isNull(v) || v === 'query' || v === 'form_post', "response modes other than 'query' and 'form_post' (JARM, fragment)"],
  ['response_type', (v) => isNull(v) || (Array.isArray(v) && v.length === 1 && v[0] === 'code'), "response types other than 'code'"],
  ['http_version', is(1.1), 'HTTP/1.0 towards the identity provider'],
  ['http_proxy', isNull, 'forward proxies towards the identity provider'],
  ['http_proxy_authorization', isNull, 'forward proxies towards the identity provider'],
  ['https_proxy', isNull, 'forward proxies towards the identity provider'],
  ['https_proxy_authorization', isNull, 'forward proxies towards the identity provider'],
  ['no_proxy', isNull, 'forward proxies towards the identity provider'],
  ['ignore_signature', emptyList, 'skipping signature verification (refused on purpose: zero trust)'],
  ['verify_signature', isTrue, 'disabling signature verification (refused on purpose: zero trust)'],
  ['verify_claims', isTrue, 'disabling standard claim verification (refused on purpose: zero trust)'],
  ['resolve_distributed_claims', isFalse, 'distributed claims'],
  ['session_request_headers', isNull, 'session request headers'],
  ['session_response_headers', isNull, 'session response headers'],
  ['session_storage', (v) => isNull(v) || v === 'cookie' || v === 'redis', 'memcached session storage'],
  ['session_store_metadata', isFalse, 'session metadata storage'],
  ['session_enforce_same_subject', isFalse, 'session audiences sharing one subject'],
  ['session_hash_subject', isFalse, 'session metadata storage'],
  ['session_hash_storage_key', isFalse, 'server-side session storage'],
  ['session_bind', isNull, 'binding sessions to ip/scheme/user-agent'],
  ['cache_ttl_resurrect', isNull, 'resurrecting expired cache entries'],
  ['cluster_cache_strategy', is('off'), 'a cluster-wide (redis) introspection cache'],
  ['introspection_accept', is('application/json'), 'JWT introspection responses'],
  ['userinfo_accept', is('application/json'), 'JWT user info responses'],
];

/** Deprecated Kong shorthands that have no effect (Kong 3.x ignores them too); compile() warns once. */
export const NO_EFFECT_LEGACY = ['session_cookie_renew', 'session_cookie_maxsize', 'session_strategy', 'session_compressor'] as const;

/** Legacy memcache spellings: only meaningful with memcache storage, which is unsupported. */
const MEMCACHE_LEGACY = ['session_memcache_prefix', 'session_memcache_socket', 'session_memcache_host', 'session_memcache_port'] as const;

/**
 * Kong's entity checks plus the unsupported-parameter rules. Field → message;
 * empty when the configuration is acceptable.
 */
export function checkConfig(config: OidcConfig): Record<string, unknown> {
  const errors: Record<string, unknown> = {};
  const raw = config as unknown as Record<string, unknown>;
  for (const [field, acceptable, why] of UNSUPPORTED_RULES) {
    if (!acceptable(raw[field])) errors[field] = `${NOT_YET}: ${why}`;
  }
  for (const field of MEMCACHE_LEGACY) {
    if (!isNull(raw[field])) errors[field] = `${NOT_YET}: memcached session storage`;
  }

  Object.assign(errors, checkPossessionConfig(config));

  const redisErrors = checkSessionRedis(raw.redis);
  if (Object.keys(redisErrors).length > 0) errors.redis = redisErrors;

  // private_key_jwt needs a key: Kong generates one (exposed at /openid-connect/jwks); Portcullis
  // does not, so the JWK must be configured.
  const auths = [...(config.client_auth ?? []), config.token_endpoint_auth_method, config.introspection_endpoint_auth_method, config.revocation_endpoint_auth_method];
  if (auths.includes('private_key_jwt') && (config.client_jwk === null || config.client_jwk.length === 0)) {
    errors.client_jwk = 'private_key_jwt requires client_jwk (Portcullis does not generate client keys yet)';
  }
  for (const jwk of config.client_jwk ?? []) {
    if (jwk.kty === null) {
      errors.client_jwk = 'each client_jwk needs kty';
      break;
    }
  }
  // Paired lists must pair up (Kong reads them by index; a missing value would drop the pair silently).
  const pairs: Array<[keyof OidcConfig, keyof OidcConfig]> = [
    ['discovery_headers_names', 'discovery_headers_values'],
    ['authorization_query_args_names', 'authorization_query_args_values'],
    ['token_post_args_names', 'token_post_args_values'],
    ['token_headers_names', 'token_headers_values'],
    ['introspection_headers_names', 'introspection_headers_values'],
    ['introspection_post_args_names', 'introspection_post_args_values'],
    ['userinfo_headers_names', 'userinfo_headers_values'],
    ['userinfo_query_args_names', 'userinfo_query_args_values'],
  ];
  for (const [names, values] of pairs) {
    const n = raw[names] as unknown[] | null | undefined;
    const v = raw[values] as unknown[] | null | undefined;
    if ((n?.length ?? 0) !== (v?.length ?? 0)) errors[values] = `must have as many entries as ${names}`;
  }
  const uhc = raw.upstream_headers_claims as unknown[] | null | undefined;
  const uhn = raw.upstream_headers_names as unknown[] | null | undefined;
  if ((uhc?.length ?? 0) !== (uhn?.length ?? 0)) errors.upstream_headers_names = 'must have as many entries as upstream_headers_claims';
  const dhc = raw.downstream_headers_claims as unknown[] | null | undefined;
  const dhn = raw.downstream_headers_names as unknown[] | null | undefined;
  if ((dhc?.length ?? 0) !== (dhn?.length ?? 0)) errors.downstream_headers_names = 'must have as many entries as downstream_headers_claims';
  return errors;
}

/**
 * The session `redis` record: Sentinel/Cluster combinations that cannot be
 * honoured, and cloud authentication (IAM tokens from AWS/Azure/GCP instead of
 * a password), which Portcullis does not implement.
 */
function checkSessionRedis(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object') return {};
  const r = value as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'string' ? v : null);
  const errors = checkRedisConnection({
    socket: s(r.socket),
    database: typeof r.database === 'number' ? r.database : null,
    sentinel_master: s(r.sentinel_master),
    sentinel_role: s(r.sentinel_role) as 'any' | 'master' | 'slave' | null,
    sentinel_nodes: nodeList(r.sentinel_nodes, 'host'),
    cluster_nodes: nodeList(r.cluster_nodes, 'ip'),
    connection_is_proxied: r.connection_is_proxied === true,
  });
  const cloud = r.cloud_authentication as Record<string, unknown> | null | undefined;
  if (cloud != null && cloud.auth_provider != null) errors.cloud_authentication = `${NOT_YET}: Redis cloud authentication (IAM tokens)`;
  return errors;
}
