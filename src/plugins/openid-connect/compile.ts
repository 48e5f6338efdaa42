/**
 * config → one frozen object per concern (ARCHITECTURE principles 2 and 7):
 * the hot path reads Sets, lower-cased header names, requirement lists and
 * claim paths prepared here, never the raw config. Each concern's module
 * owns its own `compile*` function; this file only composes them and
 * translates Kong's deprecated shorthands.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { CompileEnv } from '../types.ts';
import { IpMatcher } from '../../shared/ip.ts';
import { compileAuthz, type AuthzPlan } from './authorize.ts';
import { compileCachePolicy, type CachePolicy } from './cache.ts';
import { compileClients, type ClientPlan } from './clients.ts';
import { compileConsumer, type ConsumerPlan } from './consumer.ts';
import { discoveryUrlFor, prefetch, type IssuerPlan } from './discovery.ts';
import { compileErrorPolicy, realmOf, type ErrorPolicy } from './errors.ts';
import { compileExtract, type ExtractPlan, type ParamType } from './extract.ts';
import { compileCodeFlow, type CodeFlowPlan } from './flows/authorization-code.ts';
import { compileLogout, type LogoutPlan } from './flows/logout.ts';
import { compileTokenEndpoint, type TokenEndpoint } from './flows/token-endpoint.ts';
import { compileTokenExchange, type TokenExchangePlan } from './flows/token-exchange.ts';
import { compileHeaders, type HeaderPlan } from './headers.ts';
import type { HttpPolicy } from './http.ts';
import { normalizeConfig, type AuthMethod, type OidcConfig } from './schema.ts';
import { OidcSessions, sessionOptionsFromKong } from './session/index.ts';
import { compileBackchannel, compileLogoutRegistry, type BackchannelPlan } from './backchannel-logout.ts';
import { compileFrontchannel, type FrontchannelPlan } from './frontchannel-logout.ts';
import { compilePossession, type PossessionPolicy } from './pop/index.ts';
import { NO_EFFECT_LEGACY } from './unsupported.ts';
import { compileIntrospection, type IntrospectionPlan } from './validate/introspection.ts';
import type { JwtPolicy } from './validate/jwt.ts';
import { compileUserinfo, type UserinfoPlan } from './validate/userinfo.ts';

export interface MethodPlan {
  readonly enabled: ReadonlySet<AuthMethod>;
  readonly session: boolean;
  readonly bearer: boolean;
  readonly introspection: boolean;
  readonly userinfo: boolean;
  readonly refreshToken: boolean;
  readonly password: boolean;
  readonly clientCredentials: boolean;
  readonly authorizationCode: boolean;
  /** Grants after which no session is written (`disable_session`). */
  readonly noSessionFor: ReadonlySet<AuthMethod>;
  /** Grants for which login_action applies (`login_methods`). */
  readonly loginMethods: ReadonlySet<AuthMethod>;
}

export interface LoginPlan {
  readonly action: 'upstream' | 'response' | 'redirect';
  readonly tokens: ReadonlyArray<'id_token' | 'access_token' | 'refresh_token' | 'tokens' | 'introspection'>;
  readonly redirectMode: 'fragment' | 'query';
}

export interface ExpiryPlan {
  readonly leewaySec: number;
  readonly refreshTokens: boolean;
  readonly reverify: boolean;
  readonly introspectJwt: boolean;
  readonly jwtSessionCookie: string | null;
  readonly jwtSessionClaim: string;
}

export interface CompiledOidc {
  readonly pluginId: string;
  readonly log: Logger;
  readonly issuer: IssuerPlan;
  /** Realm for WWW-Authenticate until discovery tells the issuer (then its host). */
  readonly realm: string;
  readonly http: HttpPolicy;
  readonly clients: ClientPlan;
  readonly methods: MethodPlan;
  readonly extract: ExtractPlan;
  readonly jwt: JwtPolicy;
  readonly expiry: ExpiryPlan;
  readonly authz: AuthzPlan;
  readonly consumer: ConsumerPlan;
  readonly headers: HeaderPlan;
  readonly errors: ErrorPolicy;
  readonly caches: CachePolicy;
  readonly tokenEndpoint: TokenEndpoint;
  /** `token_exchange` (RFC 8693), or null when not configured. */
  readonly tokenExchange: TokenExchangePlan | null;
  readonly introspection: IntrospectionPlan;
  readonly userinfo: UserinfoPlan;
  readonly codeFlow: CodeFlowPlan;
  readonly login: LoginPlan;
  readonly logout: LogoutPlan;
  readonly sessions: OidcSessions;
  /** Back-channel logout endpoint (backchannel_logout_uri_suffix); null when off. */
  readonly backchannel: BackchannelPlan | null;
  /** Front-channel logout endpoint (frontchannel_logout_uri_suffix); null when off. */
  readonly frontchannel: FrontchannelPlan | null;
  /** Sender-constrained tokens (DPoP); null when off. */
  readonly pop: PossessionPolicy | null;
  readonly hideCredentials: boolean;
  readonly runOnPreflight: boolean;
  readonly trusted: IpMatcher;
  /** ID token checks from config (domains, max_age). */
  readonly idToken: { readonly domains: readonly string[] | null; readonly maxAgeSec: number | null; readonly verifyNonce: boolean };
}

function pairsToHeaders(names: string[] | null, values: string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (names === null || values === null) return out;
  for (let i = 0; i < names.length && i < values.length; i++) out[names[i]!.toLowerCase()] = values[i]!;
  return out;
}

const warned = new Set<string>();

/** Kong's shorthand translation for the session/authorization cookie legacy names. */
function applyLegacy(c: OidcConfig, log: Logger, pluginId: string): OidcConfig {
  const out = { ...c } as OidcConfig & Record<string, unknown>;
  const take = <K extends keyof OidcConfig>(legacyName: string, field: K, map?: (v: unknown) => OidcConfig[K]): void => {
    const v = (c as Record<string, unknown>)[legacyName];
    if (v !== undefined && v !== null) out[field] = map ? map(v) : (v as OidcConfig[K]);
  };
  take('session_cookie_lifetime', 'session_rolling_timeout');
  take('session_cookie_idletime', 'session_idling_timeout');
  take('session_cookie_samesite', 'session_cookie_same_site', (v) => (v === 'off' ? 'Default' : v) as OidcConfig['session_cookie_same_site']);
  take('session_cookie_httponly', 'session_cookie_http_only');
  take('authorization_cookie_lifetime', 'authorization_rolling_timeout');
  take('authorization_cookie_samesite', 'authorization_cookie_same_site', (v) => (v === 'off' ? 'Default' : v) as OidcConfig['authorization_cookie_same_site']);
  take('authorization_cookie_httponly', 'authorization_cookie_http_only');
  for (const f of NO_EFFECT_LEGACY) {
    if ((c as Record<string, unknown>)[f] !== undefined && (c as Record<string, unknown>)[f] !== null && !warned.has(`${pluginId}:${f}`)) {
      warned.add(`${pluginId}:${f}`);
      log.warn({ field: f }, `[openid-connect] config.${f} is deprecated and has no effect (as in Kong 3.x)`);
    }
  }
  return out;
}

export function compileOidc(raw: unknown, env: CompileEnv): CompiledOidc {
  const log = env.log;
  // A stored config was validated (defaults applied) when written; building the Ajv validator for
  // this schema takes ~250 ms of a serving worker's event loop, so it is only done for other inputs.
  const c = applyLegacy(env.validated === true ? (structuredClone(raw) as OidcConfig) : normalizeConfig(raw), log, env.pluginId);

  const http: HttpPolicy = Object.freeze({ timeoutMs: c.timeout, sslVerify: c.ssl_verify, keepalive: c.keepalive });
  if (!c.ssl_verify && !warned.has(`${env.pluginId}:ssl_verify`)) {
    warned.add(`${env.pluginId}:ssl_verify`);
    log.warn('[openid-connect] ssl_verify is off: the identity provider certificate SHOULD be verified (RFC 9700 §4.1)');
  }
  const discoveryUrl = discoveryUrlFor(c.issuer);
  const discoveryHeaders = pairsToHeaders(c.discovery_headers_names, c.discovery_headers_values);
  const issuer: IssuerPlan = Object.freeze({
    configured: c.issuer,
    discoveryUrl,
    headers: Object.freeze(discoveryHeaders),
    cacheTtlMs: c.cache_ttl * 1000,
    rediscoveryMs: c.rediscovery_lifetime * 1000,
    http,
    overrides: Object.freeze({
      authorization_endpoint: c.authorization_endpoint,
      token_endpoint: c.token_endpoint,
      introspection_endpoint: c.introspection_endpoint,
      revocation_endpoint: c.revocation_endpoint,
      userinfo_endpoint: c.userinfo_endpoint,
      end_session_endpoint: c.end_session_endpoint,
      jwks_uri: c.jwks_endpoint,
      pushed_authorization_request_endpoint: c.pushed_authorization_request_endpoint,
    }),
    extraJwksUris: Object.freeze([...(c.extra_jwks_uris ?? [])]),
    key: `${discoveryUrl}\n${JSON.stringify(discoveryHeaders)}`,
  });

  const enabled = new Set<AuthMethod>(c.auth_methods);
  const methods: MethodPlan = Object.freeze({
    enabled,
    session: enabled.has('session'),
    bearer: enabled.has('bearer'),
    introspection: enabled.has('introspection'),
    userinfo: enabled.has('userinfo'),
    refreshToken: enabled.has('refresh_token'),
    password: enabled.has('password'),
    clientCredentials: enabled.has('client_credentials'),
    authorizationCode: enabled.has('authorization_code'),
    noSessionFor: new Set<AuthMethod>(c.disable_session ?? []),
    loginMethods: new Set<AuthMethod>(c.login_methods),
  });

  const clients = compileClients({ ...c, client_jwk: c.client_jwk as Array<Record<string, unknown>> | null });
  const secrets = (c.client_secret ?? []).map((s) => new TextEncoder().encode(s));
  const jwtFingerprint = createHash('sha256')
    .update(JSON.stringify([c.issuer, c.issuers_allowed, c.extra_jwks_uris, c.jwks_endpoint, c.enable_hs_signatures, c.enable_hs_signatures ? c.client_secret : null, c.leeway]))
    .digest('base64url');
  const jwt: JwtPolicy = Object.freeze({
    id: jwtFingerprint,
    leewaySec: c.leeway,
    enableHs: c.enable_hs_signatures,
    hmacSecrets: Object.freeze(c.enable_hs_signatures ? secrets : []),
    issuersAllowed: Object.freeze([...(c.issuers_allowed ?? [])]),
    http,
    cooldownMs: Math.max(c.rediscovery_lifetime * 1000, 1000),
  });

  const cachePolicy = compileCachePolicy(c);
  const trusted = new IpMatcher(env.settings.trustedIps);
  const logoutRedis = sessionOptionsFromKong(c as unknown as Record<string, unknown>, env.settings.sessionSecret).redis ?? null;
  const logoutRegistry = compileLogoutRegistry(c, logoutRedis);
  const backchannel = compileBackchannel(c, logoutRedis, logoutRegistry);
  const frontchannel = compileFrontchannel(c, logoutRegistry);
  const sessions = OidcSessions.fromConfig(c, env, trusted, methods.session || methods.authorizationCode, logoutRegistry === null ? null : { registry: logoutRegistry, issuer: c.issuer });

  const compiled: CompiledOidc = Object.freeze({
    pluginId: env.pluginId,
    log,
    issuer,
    realm: realmOf(c.issuer),
    http,
    clients,
    methods,
    extract: compileExtract({ ...c, bearer_token_param_type: c.bearer_token_param_type as ParamType[] }),
    jwt,
    expiry: Object.freeze({
      leewaySec: c.leeway,
      refreshTokens: c.refresh_tokens,
      reverify: c.reverify,
      introspectJwt: c.introspect_jwt_tokens,
      jwtSessionCookie: c.jwt_session_cookie,
      jwtSessionClaim: c.jwt_session_claim,
    }),
    authz: compileAuthz(c),
    consumer: compileConsumer(c),
    headers: compileHeaders(c as unknown as Parameters<typeof compileHeaders>[0]),
    errors: compileErrorPolicy(c),
    caches: cachePolicy,
    tokenEndpoint: compileTokenEndpoint(c, http, cachePolicy),
    tokenExchange: compileTokenExchange(c, { http, leewaySec: c.leeway, cacheTtlMs: c.cache_ttl * 1000, rediscoveryMs: c.rediscovery_lifetime * 1000 }),
    introspection: compileIntrospection(c),
    userinfo: compileUserinfo(c),
    codeFlow: compileCodeFlow(c),
    login: Object.freeze({ action: c.login_action, tokens: Object.freeze([...c.login_tokens]), redirectMode: c.login_redirect_mode }),
    logout: compileLogout(c),
    sessions,
    backchannel,
    frontchannel,
    pop: compilePossession(c, env.settings.sessionSecret),
    hideCredentials: c.hide_credentials,
    runOnPreflight: c.run_on_preflight,
    trusted,
    idToken: Object.freeze({ domains: c.domains, maxAgeSec: c.max_age, verifyNonce: c.verify_nonce }),
  });

  // Discovery and keys start in the background: an IdP that is down must not stop the build.
  prefetch(issuer);
  return compiled;
}
