/**
 * The identity provider as one plugin instance sees it: discovered metadata
 * with the configured endpoint overrides applied, its key sets (the
 * discovered `jwks_uri` or `jwks_endpoint`, plus `extra_jwks_uris`), and the
 * signature algorithms it may use. Derived once per discovery document per
 * plugin instance, not per request.
 */
import { discover, discoveredNow, rediscover, type IssuerPlan, type ProviderMetadata } from './discovery.ts';
import { keySet, type RemoteKeySet } from './jwks.ts';

export interface Endpoints {
  readonly authorization: string | null;
  readonly token: string | null;
  readonly introspection: string | null;
  readonly revocation: string | null;
  readonly userinfo: string | null;
  readonly endSession: string | null;
  readonly jwks: string | null;
  /** RFC 9126 pushed authorization request endpoint. */
  readonly par: string | null;
}

export interface Provider {
  /** The issuer identifier tokens must carry (`iss`), from the discovery document. */
  readonly issuer: string;
  readonly metadata: ProviderMetadata;
  readonly endpoints: Endpoints;
  readonly keySets: readonly RemoteKeySet[];
  /** Asymmetric JWS algorithms accepted from this IdP (never `none`, never HS*). */
  readonly asymmetricAlgs: ReadonlySet<string>;
  /** PKCE S256 advertised (`code_challenge_methods_supported`, RFC 8414 §2). */
  readonly pkceS256: boolean;
  /** The IdP requires pushed authorization requests (RFC 9126 §5 `require_pushed_authorization_requests`). */
  readonly parRequired: boolean;
}

/** Every asymmetric JWS algorithm (RFC 7518 §3.1, RFC 8037). */
export const ASYMMETRIC_ALGS: ReadonlySet<string> = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
export const HMAC_ALGS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512']);

/**
 * The allow-list: what the IdP says it signs with (ID token, userinfo and
 * introspection signing algs, RFC 8414 / OIDC Discovery), intersected with
 * the asymmetric algorithms. An IdP that advertises nothing gets all
 * asymmetric algorithms; the key's own `alg` and `kty` still have to match.
 */
export function allowedAsymmetricAlgs(metadata: ProviderMetadata): Set<string> {
  const advertised = new Set<string>();
  for (const field of ['id_token_signing_alg_values_supported', 'userinfo_signing_alg_values_supported', 'introspection_signing_alg_values_supported', 'authorization_signing_alg_values_supported'] as const) {
    const v = metadata[field];
    if (Array.isArray(v)) for (const a of v) if (typeof a === 'string' && ASYMMETRIC_ALGS.has(a)) advertised.add(a);
  }
  return advertised.size > 0 ? advertised : new Set(ASYMMETRIC_ALGS);
}

function pick(override: string | null, discovered: unknown): string | null {
  if (override !== null) return override;
  return typeof discovered === 'string' && discovered !== '' ? discovered : null;
}

export function buildProvider(plan: IssuerPlan, metadata: ProviderMetadata): Provider {
  const o = plan.overrides;
  const endpoints: Endpoints = Object.freeze({
    authorization: pick(o.authorization_endpoint, metadata.authorization_endpoint),
    token: pick(o.token_endpoint, metadata.token_endpoint),
    introspection: pick(o.introspection_endpoint, metadata.introspection_endpoint),
    revocation: pick(o.revocation_endpoint, metadata.revocation_endpoint),
    userinfo: pick(o.userinfo_endpoint, metadata.userinfo_endpoint),
    endSession: pick(o.end_session_endpoint, metadata.end_session_endpoint),
    jwks: pick(o.jwks_uri, metadata.jwks_uri),
    par: pick(o.pushed_authorization_request_endpoint, metadata.pushed_authorization_request_endpoint),
  });
  const urls = new Set<string>();
  if (endpoints.jwks !== null) urls.add(endpoints.jwks);
  for (const u of plan.extraJwksUris) urls.add(u);
  const methods = metadata.code_challenge_methods_supported;
  return Object.freeze({
    issuer: metadata.issuer,
    metadata,
    endpoints,
    keySets: [...urls].map(keySet),
    asymmetricAlgs: allowedAsymmetricAlgs(metadata),
    pkceS256: Array.isArray(methods) && methods.includes('S256'),
    parRequired: metadata.require_pushed_authorization_requests === true,
  });
}

const memo = new WeakMap<IssuerPlan, { version: number; metadata: ProviderMetadata; provider: Provider }>();

/** The provider for this plugin instance. Throws IdpUnavailable when discovery is impossible right now. */
export async function resolveProvider(plan: IssuerPlan): Promise<Provider> {
  const { metadata, version } = await discover(plan);
  const m = memo.get(plan);
  if (m !== undefined && m.version === version && m.metadata === metadata) return m.provider;
  const provider = buildProvider(plan, metadata);
  memo.set(plan, { version, metadata, provider });
  return provider;
}

/** The provider without a promise when its discovery document is held and the provider built (the per-request case); else null. */
export function providerNow(plan: IssuerPlan): Provider | null {
  const d = discoveredNow(plan);
  if (d === null) return null;
  const m = memo.get(plan);
  return m !== undefined && m.version === d.version && m.metadata === d.metadata ? m.provider : null;
}

/** Ask for a new discovery document (rate-limited by rediscovery_lifetime); used when keys went missing. */
export function requestRediscovery(plan: IssuerPlan): void {
  rediscover(plan)?.catch(() => undefined);
}
