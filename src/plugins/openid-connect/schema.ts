/**
 * The `config` schema of the openid-connect plugin, with Kong's field names,
 * types and defaults (Kong Gateway 3.15 openid-connect reference), so an
 * existing Kong configuration loads unchanged.
 *
 * Every Kong field is declared here. Fields Portcullis does not implement yet
 * are still *known*: they validate with their Kong default (so `GET /plugins`
 * looks like Kong's), and `check()` (see ./unsupported.ts) rejects any other
 * value with a violation naming the field — never silently ignored.
 *
 * Both the 3.13 and the 3.14+ spellings are accepted: the deprecated
 * shorthands (`consumer_claim`, `upstream_headers_claims`/`_names`,
 * `session_cookie_lifetime`, `session_cookie_idletime`, …) are declared
 * without defaults and translated by compile.ts, the new field winning only
 * when the legacy one is absent (Kong's shorthand translation).
 */
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats ships CommonJS with a default export; under node16 resolution the
// callable is the module's `default`.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// ---------------------------------------------------------------- helpers

/** A field Kong stores as `null` when unset. */
function opt<T extends TSchema>(schema: T, description?: string) {
  return Type.Union([schema, Type.Null()], { default: null, ...(description ? { description } : {}) });
}

/** A deprecated shorthand: accepted on input, no default (absent unless the user sent it). */
function legacy<T extends TSchema>(schema: T, description: string) {
  return Type.Optional(Type.Union([schema, Type.Null()], { description: `Deprecated (Kong shorthand): ${description}` }));
}

const Str = (o?: object) => Type.String({ minLength: 1, ...o });
const Url = () => Type.String({ minLength: 1, pattern: '^[A-Za-z][A-Za-z0-9+.-]*://' });
const StrArray = () => Type.Array(Str());
/** Kong's `referenceable = true, encrypted = true`: may hold a `{vault://…}` reference (src/vault/resolve.ts). */
const Secret = () => Str({ kong: { referenceable: true, encrypted: true } });
const UrlArray = () => Type.Array(Url());
const HeaderName = () => Type.String({ minLength: 1, pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~:-]+$' });

function strEnum<const V extends readonly string[]>(values: V, dflt: V[number], description?: string) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], default: dflt, ...(description ? { description } : {}) });
}

function optEnum<const V extends readonly string[]>(values: V, description?: string) {
  return Type.Unsafe<V[number] | null>({ anyOf: [{ type: 'string', enum: [...values] }, { type: 'null' }], default: null, ...(description ? { description } : {}) });
}

function enumArray<const V extends readonly string[]>(values: V, dflt: null, description?: string): TUnsafe<V[number][] | null>;
function enumArray<const V extends readonly string[]>(values: V, dflt: readonly V[number][], description?: string): TUnsafe<V[number][]>;
function enumArray<const V extends readonly string[]>(values: V, dflt: readonly V[number][] | null, description?: string): TUnsafe<V[number][] | null> | TUnsafe<V[number][]> {
  const items = { type: 'string', enum: [...values] };
  if (dflt === null) return Type.Unsafe<V[number][] | null>({ anyOf: [{ type: 'array', items }, { type: 'null' }], default: null, ...(description ? { description } : {}) });
  return Type.Unsafe<V[number][]>({ type: 'array', items, default: [...dflt], ...(description ? { description } : {}) });
}

/**
 * An object whose listed keys alone are required. TypeBox derives `required`
 * from non-Optional properties (and its own `required` wins over options), so
 * it is replaced after construction: every other field has a Kong default.
 */
function requireOnly<T extends { required?: string[] }>(schema: T, keys: string[]): T {
  if (keys.length === 0) delete schema.required;
  else schema.required = keys;
  return schema;
}

const Bool = (dflt: boolean, description?: string) => Type.Boolean({ default: dflt, ...(description ? { description } : {}) });
const Num = (dflt: number, description?: string) => Type.Number({ minimum: 0, default: dflt, ...(description ? { description } : {}) });

// ---------------------------------------------------------------- vocabularies (Kong's)

export const AUTH_METHODS = [
  'authorization_code',
  'bearer',
  'client_credentials',
  'introspection',
  'kong_oauth2',
  'password',
  'refresh_token',
  'session',
  'userinfo',
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** Kong's documented default, in Kong's order (the order has no effect: methods are tried in a fixed order). */
const AUTH_METHODS_DEFAULT: readonly AuthMethod[] = ['password', 'client_credentials', 'authorization_code', 'bearer', 'introspection', 'userinfo', 'kong_oauth2', 'refresh_token', 'session'];

export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_jwt',
  'client_secret_post',
  'none',
  'private_key_jwt',
  'self_signed_tls_client_auth',
  'tls_client_auth',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export const CLIENT_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'] as const;
const PARAM_TYPES = ['body', 'header', 'query'] as const;
const BEARER_PARAM_TYPES = ['body', 'cookie', 'header', 'query'] as const;
const SAME_SITE = ['Default', 'Lax', 'None', 'Strict'] as const;
const SESSION_HEADERS = ['absolute-timeout', 'audience', 'id', 'idling-timeout', 'rolling-timeout', 'subject', 'timeout'] as const;
const IGNORE_SIGNATURE = ['authorization_code', 'client_credentials', 'introspection', 'password', 'refresh_token', 'session', 'userinfo'] as const;

const ClaimPath = () => Type.Array(Str(), { minItems: 1 });

const HeaderMapping = () =>
  Type.Object(
    {
      header: HeaderName(),
      path: Type.Array(Str(), { minItems: 1 }),
    },
    { additionalProperties: false },
  );

const ClientJwk = () =>
  requireOnly(Type.Object(
    {
      issuer: opt(Str()),
      kty: opt(Str()),
      use: opt(Str()),
      key_ops: opt(StrArray()),
      alg: opt(Str()),
      kid: opt(Str()),
      x5u: opt(Str()),
      x5c: opt(StrArray()),
      x5t: opt(Str()),
      'x5t#S256': opt(Str()),
      k: opt(Str()),
      x: opt(Str()),
      y: opt(Str()),
      crv: opt(Str()),
      n: opt(Str()),
      e: opt(Str()),
      d: opt(Str()),
      p: opt(Str()),
      q: opt(Str()),
      dp: opt(Str()),
      dq: opt(Str()),
      qi: opt(Str()),
      oth: opt(Str()),
      r: opt(Str()),
      t: opt(Str()),
    },
    { additionalProperties: false },
  ), []);

const RedisNode = (hostKey: 'ip' | 'host') =>
  requireOnly(Type.Object({ [hostKey]: Type.String({ default: '127.0.0.1' }), port: Type.Integer({ minimum: 0, maximum: 65535, default: 6379 }) }, { additionalProperties: false }), []);

const CloudAuth = () =>
  opt(
    requireOnly(Type.Object(
      {
        auth_provider: optEnum(['aws', 'azure', 'gcp'] as const),
        aws_access_key_id: opt(Str()),
        aws_secret_access_key: opt(Str()),
        aws_assume_role_arn: opt(Str()),
        aws_role_session_name: opt(Str()),
        aws_cache_name: opt(Str()),
        aws_region: opt(Str()),
        aws_is_serverless: Bool(true),
        azure_client_id: opt(Str()),
        azure_client_secret: opt(Str()),
        azure_tenant_id: opt(Str()),
        gcp_service_account_json: opt(Str()),
      },
      { additionalProperties: false },
    ), []),
  );

/** Kong's shared Redis config record (also used for session storage). */
function redisSchema(withSessionFields: boolean) {
  return requireOnly(Type.Object(
    {
      host: Type.String({ default: '127.0.0.1' }),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 6379 }),
      connect_timeout: Type.Integer({ minimum: 0, maximum: 2147483646, default: 2000 }),
      send_timeout: Type.Integer({ minimum: 0, maximum: 2147483646, default: 2000 }),
      read_timeout: Type.Integer({ minimum: 0, maximum: 2147483646, default: 2000 }),
      username: opt(Secret()),
      password: opt(Secret()),
      database: Type.Integer({ default: 0 }),
      keepalive_pool_size: Type.Integer({ minimum: 1, maximum: 2147483646, default: 256 }),
      keepalive_backlog: opt(Type.Integer({ minimum: 0, maximum: 2147483646 })),
      sentinel_master: opt(Str()),
      sentinel_role: optEnum(['any', 'master', 'slave'] as const),
      sentinel_nodes: opt(Type.Array(RedisNode('host'), { minItems: 1 })),
      sentinel_username: opt(Secret()),
      sentinel_password: opt(Secret()),
      cluster_nodes: opt(Type.Array(RedisNode('ip'), { minItems: 1 })),
      cluster_max_redirections: Type.Integer({ default: 5 }),
      connection_is_proxied: Bool(false),
      ssl: Bool(false),
      ssl_verify: Bool(true),
      server_name: opt(Str()),
      cloud_authentication: CloudAuth(),
      ...(withSessionFields ? { prefix: opt(Str()), socket: opt(Str()) } : {}),
    },
    { additionalProperties: false, default: {} },
  ), []);
}

const TokenExchange = () =>
  opt(
    requireOnly(Type.Object(
      {
        subject_token_issuers: Type.Array(
          requireOnly(Type.Object(
            {
              issuer: Str(),
              // Kong 3.15: verify a foreign subject token's signature before asking the IdP to exchange it.
              verify_signature: Bool(false),
              jwks_uri: opt(Url()),
              conditions: opt(
                requireOnly(Type.Object(
                  {
                    has_audience: opt(StrArray()),
                    missing_audience: opt(StrArray()),
                    has_scopes: opt(StrArray()),
                    missing_scopes: opt(StrArray()),
                  },
                  { additionalProperties: false },
                ), []),
              ),
            },
            { additionalProperties: false },
          ), ['issuer']),
          { minItems: 1 },
        ),
        request: opt(
          requireOnly(Type.Object(
            { scopes: opt(StrArray()), empty_scopes: Bool(false), audience: opt(StrArray()), empty_audience: Bool(false) },
            { additionalProperties: false },
          ), []),
        ),
        cache: opt(requireOnly(Type.Object({ enabled: Bool(true), ttl: opt(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }), [])),
      },
      { additionalProperties: false },
    ), ['subject_token_issuers']),
  );

// ---------------------------------------------------------------- the schema

export const configSchema = requireOnly(Type.Object(
  {
    // -- discovery and keys
    issuer: Url(),
    using_pseudo_issuer: Bool(false, 'Do not discover the configuration from the issuer URL.'),
    discovery_headers_names: opt(StrArray()),
    discovery_headers_values: opt(StrArray()),
    rediscovery_lifetime: Num(30, 'Seconds to wait between discovery attempts.'),
    extra_jwks_uris: opt(UrlArray()),
    jwks_endpoint: opt(Url()),
    issuers_allowed: opt(StrArray()),
    verify_parameters: Bool(false),
    authorization_endpoint: opt(Url()),
    token_endpoint: opt(Url()),
    introspection_endpoint: opt(Url()),
    revocation_endpoint: opt(Url()),
    userinfo_endpoint: opt(Url()),
    end_session_endpoint: opt(Url()),
    token_exchange_endpoint: opt(Url()),
    pushed_authorization_request_endpoint: opt(Url()),
    mtls_token_endpoint: opt(Url()),
    mtls_introspection_endpoint: opt(Url()),
    mtls_revocation_endpoint: opt(Url()),

    // -- the client
    client_id: opt(Type.Array(Secret())),
    client_secret: opt(Type.Array(Secret())),
    client_arg: Type.String({ minLength: 1, default: 'client_id' }),
    client_auth: enumArray(CLIENT_AUTH_METHODS, null),
    client_alg: enumArray(CLIENT_ALGS, null),
    client_jwk: opt(Type.Array(ClientJwk())),
    token_endpoint_auth_method: optEnum(CLIENT_AUTH_METHODS),
    introspection_endpoint_auth_method: optEnum(CLIENT_AUTH_METHODS),
    revocation_endpoint_auth_method: optEnum(CLIENT_AUTH_METHODS),
    pushed_authorization_request_endpoint_auth_method: optEnum(CLIENT_AUTH_METHODS),
    tls_client_auth_cert_id: opt(Type.String({ format: 'uuid' })),
    tls_client_auth_ssl_verify: Bool(true),
    redirect_uri: opt(UrlArray()),
    scopes: Type.Union([StrArray(), Type.Null()], { default: ['openid'] }),
    audience: opt(StrArray()),
    response_mode: strEnum(['query', 'form_post', 'fragment', 'query.jwt', 'form_post.jwt', 'fragment.jwt', 'jwt'] as const, 'query'),
    response_type: Type.Array(Str(), { default: ['code'] }),
    require_proof_key_for_code_exchange: opt(Type.Boolean()),
    require_pushed_authorization_requests: opt(Type.Boolean()),
    redirect_api_callers: Bool(
      true,
      'Portcullis addition (not in Kong). With false, a request that starts the authorization code flow but comes from script ' +
        '(X-Requested-With, Sec-Fetch-Mode cors/same-origin, or an Accept that asks for JSON and not HTML) is answered 401 with ' +
        'WWW-Authenticate instead of a 302 to the identity provider. true (default) redirects every caller, as Kong does.',
    ),
    require_signed_request_object: opt(Type.Boolean()),
    domains: opt(StrArray()),
    max_age: opt(Type.Number({ minimum: 0 })),
    timeout: Num(10000, 'Network IO timeout in milliseconds.'),
    ssl_verify: Bool(true),
    keepalive: Bool(true),
    http_version: Type.Number({ default: 1.1 }),
    http_proxy: opt(Url()),
    http_proxy_authorization: opt(Str()),
    https_proxy: opt(Url()),
    https_proxy_authorization: opt(Str()),
    no_proxy: opt(Str()),

    // -- authentication methods and where credentials are read
    auth_methods: enumArray(AUTH_METHODS, AUTH_METHODS_DEFAULT),
    bearer_token_param_type: enumArray(BEARER_PARAM_TYPES, ['header', 'query', 'body']),
    bearer_token_cookie_name: opt(Str()),
    client_credentials_param_type: enumArray(PARAM_TYPES, ['header', 'query', 'body']),
    password_param_type: enumArray(PARAM_TYPES, ['header', 'query', 'body']),
    id_token_param_name: opt(Str()),
    id_token_param_type: enumArray(PARAM_TYPES, ['header', 'query', 'body']),
    refresh_token_param_name: opt(Str()),
    refresh_token_param_type: enumArray(PARAM_TYPES, ['header', 'query', 'body']),
    ignore_signature: enumArray(IGNORE_SIGNATURE, []),
    enable_hs_signatures: Bool(false),
    verify_signature: Bool(true),
    verify_claims: Bool(true),
    verify_nonce: Bool(true),
    leeway: Num(0),
    introspect_jwt_tokens: Bool(false),
    resolve_distributed_claims: Bool(false),

    // -- authorization code flow
    authorization_query_args_names: opt(StrArray()),
    authorization_query_args_values: opt(StrArray()),
    authorization_query_args_client: opt(StrArray()),
    authorization_cookie_name: Type.String({ minLength: 1, default: 'authorization' }),
    authorization_cookie_path: Type.String({ minLength: 1, pattern: '^/', default: '/' }),
    authorization_cookie_domain: opt(Str()),
    authorization_cookie_same_site: strEnum(SAME_SITE, 'Default'),
    authorization_cookie_http_only: Bool(true),
    authorization_cookie_secure: opt(Type.Boolean()),
    authorization_rolling_timeout: Num(600),
    preserve_query_args: Bool(false),
    login_methods: enumArray(AUTH_METHODS, ['authorization_code']),
    login_action: strEnum(['upstream', 'response', 'redirect'] as const, 'upstream'),
    login_tokens: enumArray(['id_token', 'access_token', 'refresh_token', 'tokens', 'introspection'] as const, ['id_token']),
    login_redirect_mode: strEnum(['fragment', 'query'] as const, 'fragment'),
    login_redirect_uri: opt(UrlArray()),

    // -- session
    session_secret: opt(Secret()),
    session_audience: Type.String({ minLength: 1, default: 'default' }),
    session_cookie_name: Type.String({ minLength: 1, default: 'session' }),
    session_cookie_path: Type.String({ minLength: 1, pattern: '^/', default: '/' }),
    session_cookie_domain: opt(Str()),
    session_cookie_same_site: strEnum(SAME_SITE, 'Lax'),
    session_cookie_http_only: Bool(true),
    session_cookie_secure: opt(Type.Boolean()),
    session_remember: Bool(false),
    session_remember_cookie_name: Type.String({ minLength: 1, default: 'remember' }),
    session_remember_rolling_timeout: Num(604800),
    session_remember_absolute_timeout: Num(2592000),
    session_idling_timeout: Num(900),
    session_rolling_timeout: Num(3600),
    session_absolute_timeout: Num(86400),
    session_request_headers: enumArray(SESSION_HEADERS, null),
    session_response_headers: enumArray(SESSION_HEADERS, null),
    session_storage: strEnum(['cookie', 'memcache', 'memcached', 'redis'] as const, 'cookie'),
    session_store_metadata: Bool(false),
    session_enforce_same_subject: Bool(false),
    session_hash_subject: Bool(false),
    session_hash_storage_key: Bool(false),
    session_bind: enumArray(['ip', 'scheme', 'user-agent'] as const, null),
    session_memcached_prefix: opt(Str()),
    session_memcached_socket: opt(Str()),
    session_memcached_host: Type.String({ default: '127.0.0.1' }),
    session_memcached_port: Type.Integer({ minimum: 0, maximum: 65535, default: 11211 }),
    session_memcached_ssl: Bool(false),
    session_memcached_ssl_verify: Bool(true),
    redis: redisSchema(true),
    disable_session: enumArray(AUTH_METHODS, null),
    refresh_tokens: Bool(true),
    reverify: Bool(false),
    jwt_session_cookie: opt(Str()),
    jwt_session_claim: Type.String({ minLength: 1, default: 'sid' }),

    // -- caches
    cache_ttl: Num(3600),
    cache_ttl_max: opt(Type.Number({ minimum: 0 })),
    cache_ttl_min: opt(Type.Number({ minimum: 0 })),
    cache_ttl_neg: opt(Type.Number({ minimum: 0 })),
    cache_ttl_resurrect: opt(Type.Number({ minimum: 0 })),
    cache_tokens: Bool(true),
    cache_tokens_salt: opt(Str()),
    cache_introspection: Bool(true),
    cache_token_exchange: Bool(true),
    cache_user_info: Bool(true),
    token_cache_key_include_scope: Bool(false),
    cluster_cache_strategy: strEnum(['off', 'redis'] as const, 'off'),
    cluster_cache_redis: redisSchema(false),

    // -- token endpoint extras
    token_post_args_names: opt(StrArray()),
    token_post_args_values: opt(StrArray()),
    token_post_args_client: opt(StrArray()),
    token_headers_names: opt(StrArray()),
    token_headers_values: opt(StrArray()),
    token_headers_client: opt(StrArray()),
    token_headers_replay: opt(StrArray()),
    token_headers_prefix: opt(Str()),
    token_headers_grants: enumArray(['authorization_code', 'client_credentials', 'password', 'refresh_token'] as const, null),
    token_exchange: TokenExchange(),

    // -- introspection (RFC 7662), revocation (RFC 7009), userinfo
    introspection_hint: Type.String({ minLength: 1, default: 'access_token' }),
    introspection_check_active: Bool(true),
    introspection_accept: strEnum(['application/json', 'application/token-introspection+jwt', 'application/jwt'] as const, 'application/json'),
    introspection_token_param_name: Type.String({ minLength: 1, default: 'token' }),
    introspection_headers_names: opt(StrArray()),
    introspection_headers_values: opt(StrArray()),
    introspection_headers_client: opt(StrArray()),
    introspection_post_args_names: opt(StrArray()),
    introspection_post_args_values: opt(StrArray()),
    introspection_post_args_client: opt(StrArray()),
    introspection_post_args_client_headers: opt(StrArray()),
    revocation_token_param_name: Type.String({ minLength: 1, default: 'token' }),
    userinfo_accept: strEnum(['application/json', 'application/jwt'] as const, 'application/json'),
    userinfo_headers_names: opt(StrArray()),
    userinfo_headers_values: opt(StrArray()),
    userinfo_headers_client: opt(StrArray()),
    userinfo_query_args_names: opt(StrArray()),
    userinfo_query_args_values: opt(StrArray()),
    userinfo_query_args_client: opt(StrArray()),
    search_user_info: Bool(false),

    // -- authorization
    scopes_required: opt(StrArray()),
    scopes_claim: Type.Array(Str(), { default: ['scope'] }),
    audience_required: opt(StrArray()),
    audience_claim: Type.Array(Str(), { default: ['aud'] }),
    groups_required: opt(StrArray()),
    groups_claim: Type.Array(Str(), { default: ['groups'] }),
    roles_required: opt(StrArray()),
    roles_claim: Type.Array(Str(), { default: ['roles'] }),
    claims_forbidden: opt(StrArray()),

    // -- consumers
    consumer_claims: opt(Type.Array(ClaimPath())),
    consumer_by: enumArray(['id', 'username', 'custom_id'] as const, ['username', 'custom_id']),
    by_username_ignore_case: Bool(false),
    consumer_optional: Bool(false),
    consumer_groups_claim: opt(StrArray()),
    consumer_groups_optional: Bool(false),
    anonymous: opt(Str()),
    credential_claim: Type.Array(Str(), { default: ['sub'] }),
    authenticated_groups_claim: opt(StrArray()),

    // -- what the upstream and the client see
    hide_credentials: Bool(true),
    upstream_access_token_header: Type.Union([Str(), Type.Null()], { default: 'authorization:bearer' }),
    upstream_access_token_jwk_header: opt(Str()),
    upstream_id_token_header: opt(Str()),
    upstream_id_token_jwk_header: opt(Str()),
    upstream_refresh_token_header: opt(Str()),
    upstream_user_info_header: opt(Str()),
    upstream_user_info_jwt_header: opt(Str()),
    upstream_introspection_header: opt(Str()),
    upstream_introspection_jwt_header: opt(Str()),
    upstream_session_id_header: opt(Str()),
    upstream_headers: opt(Type.Array(HeaderMapping())),
    downstream_access_token_header: opt(Str()),
    downstream_access_token_jwk_header: opt(Str()),
    downstream_id_token_header: opt(Str()),
    downstream_id_token_jwk_header: opt(Str()),
    downstream_refresh_token_header: opt(Str()),
    downstream_user_info_header: opt(Str()),
    downstream_user_info_jwt_header: opt(Str()),
    downstream_introspection_header: opt(Str()),
    downstream_introspection_jwt_header: opt(Str()),
    downstream_session_id_header: opt(Str()),
    downstream_headers: opt(Type.Array(HeaderMapping())),

    // -- errors
    unauthorized_error_message: Type.String({ default: 'Unauthorized' }),
    forbidden_error_message: Type.String({ default: 'Forbidden' }),
    display_errors: Bool(false),
    expose_error_code: Bool(true),
    unauthorized_redirect_uri: opt(UrlArray()),
    forbidden_redirect_uri: opt(UrlArray()),
    unexpected_redirect_uri: opt(UrlArray()),
    unauthorized_destroy_session: Bool(true),
    forbidden_destroy_session: Bool(true),
    run_on_preflight: Bool(true),

    // -- logout
    logout_uri_suffix: opt(Str()),
    logout_query_arg: opt(Str()),
    logout_post_arg: opt(Str()),
    logout_methods: enumArray(['POST', 'GET', 'DELETE'] as const, ['POST', 'DELETE']),
    logout_revoke: Bool(false),
    logout_revoke_access_token: Bool(true),
    logout_revoke_refresh_token: Bool(true),
    logout_redirect_uri: opt(UrlArray()),
    // Portcullis' own (Kong has no back-channel logout): POSTs to a path ending with this suffix
    // are OpenID Connect Back-Channel Logout 1.0 requests from the IdP.
    backchannel_logout_uri_suffix: opt(Type.String({ minLength: 1, pattern: '^/' })),
    // Portcullis' own (Kong has no front-channel logout): GETs to a path ending with this suffix are
    // OpenID Connect Front-Channel Logout 1.0 requests (the IdP's logout page loads them in an iframe).
    frontchannel_logout_uri_suffix: opt(Type.String({ minLength: 1, pattern: '^/' })),
    // Portcullis' own, the spec's client metadata name and default: `iss` and `sid` must come with every
    // front-channel logout request (register the client with the same value at the IdP).
    frontchannel_logout_session_required: Bool(false),

    // -- proof of possession (RFC 8705 / RFC 9449)
    proof_of_possession_mtls: strEnum(['off', 'strict', 'optional'] as const, 'off'),
    proof_of_possession_auth_methods_validation: Bool(true),
    proof_of_possession_dpop: strEnum(['off', 'strict', 'optional'] as const, 'off'),
    dpop_use_nonce: Bool(false),
    dpop_proof_lifetime: Num(300),

    // -- deprecated shorthands (3.13 and older spellings), translated by compile.ts
    consumer_claim: legacy(StrArray(), 'a single claim path; use consumer_claims.'),
    upstream_headers_claims: legacy(StrArray(), 'top-level claims; use upstream_headers.'),
    upstream_headers_names: legacy(StrArray(), 'header names for upstream_headers_claims; use upstream_headers.'),
    downstream_headers_claims: legacy(StrArray(), 'top-level claims; use downstream_headers.'),
    downstream_headers_names: legacy(StrArray(), 'header names for downstream_headers_claims; use downstream_headers.'),
    session_cookie_lifetime: legacy(Type.Number({ minimum: 0 }), 'use session_rolling_timeout.'),
    session_cookie_idletime: legacy(Type.Number({ minimum: 0 }), 'use session_idling_timeout.'),
    session_cookie_samesite: legacy(Type.Unsafe<string>({ type: 'string', enum: ['Strict', 'Lax', 'None', 'off', 'Default'] }), 'use session_cookie_same_site.'),
    session_cookie_httponly: legacy(Type.Boolean(), 'use session_cookie_http_only.'),
    session_cookie_renew: legacy(Type.Number({ minimum: 0 }), 'no effect since Kong 3.0 (rolling timeouts replaced renewal).'),
    session_cookie_maxsize: legacy(Type.Integer({ minimum: 0 }), 'no effect: large sessions are chunked automatically.'),
    session_strategy: legacy(Type.Unsafe<string>({ type: 'string', enum: ['default', 'regenerate'] }), 'no effect since Kong 3.0.'),
    session_compressor: legacy(Type.Unsafe<string>({ type: 'string', enum: ['none', 'zlib'] }), 'no effect since Kong 3.0.'),
    session_memcache_prefix: legacy(Str(), 'use session_memcached_prefix.'),
    session_memcache_socket: legacy(Str(), 'use session_memcached_socket.'),
    session_memcache_host: legacy(Str(), 'use session_memcached_host.'),
    session_memcache_port: legacy(Type.Integer({ minimum: 0, maximum: 65535 }), 'use session_memcached_port.'),
    session_redis_prefix: legacy(Str(), 'use redis.prefix.'),
    session_redis_socket: legacy(Str(), 'use redis.socket.'),
    session_redis_host: legacy(Str(), 'use redis.host.'),
    session_redis_port: legacy(Type.Integer({ minimum: 0, maximum: 65535 }), 'use redis.port.'),
    session_redis_username: legacy(Secret(), 'use redis.username.'),
    session_redis_password: legacy(Secret(), 'use redis.password.'),
    session_redis_auth: legacy(Str(), 'use redis.password.'),
    session_redis_connect_timeout: legacy(Type.Integer({ minimum: 0 }), 'use redis.connect_timeout.'),
    session_redis_read_timeout: legacy(Type.Integer({ minimum: 0 }), 'use redis.read_timeout.'),
    session_redis_send_timeout: legacy(Type.Integer({ minimum: 0 }), 'use redis.send_timeout.'),
    session_redis_ssl: legacy(Type.Boolean(), 'use redis.ssl.'),
    session_redis_ssl_verify: legacy(Type.Boolean(), 'use redis.ssl_verify.'),
    session_redis_server_name: legacy(Str(), 'use redis.server_name.'),
    session_redis_cluster_nodes: legacy(Type.Array(RedisNode('ip')), 'use redis.cluster_nodes.'),
    session_redis_cluster_max_redirections: legacy(Type.Integer(), 'use redis.cluster_max_redirections.'),
    authorization_cookie_lifetime: legacy(Type.Number({ minimum: 0 }), 'use authorization_rolling_timeout.'),
    authorization_cookie_samesite: legacy(Type.Unsafe<string>({ type: 'string', enum: ['Strict', 'Lax', 'None', 'off', 'Default'] }), 'use authorization_cookie_same_site.'),
    authorization_cookie_httponly: legacy(Type.Boolean(), 'use authorization_cookie_http_only.'),
  },
  { additionalProperties: false },
), ['issuer']);

export type OidcConfig = Static<typeof configSchema>;

/** Used by tests and docs: every field name Kong's reference lists (including shorthands). */
export const CONFIG_FIELDS: readonly string[] = Object.keys(configSchema.properties);

let validator: ValidateFunction | null = null;

/**
 * Validate a raw `config` and fill Kong's defaults (a copy; the input is not
 * touched). The Admin API already validated it when it was written; doing it
 * again here keeps compile() total and safe when a config arrives by another
 * path (declarative file, tests). Throws on the first violations.
 */
export function normalizeConfig(raw: unknown): OidcConfig {
  if (validator === null) {
    const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
    addFormats(ajv);
    validator = ajv.compile(configSchema);
  }
  const copy: unknown = structuredClone(raw ?? {});
  if (!validator(copy)) {
    const detail = (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
    throw new TypeError(`invalid openid-connect config: ${detail}`);
  }
  return copy as OidcConfig;
}
