/**
 * Provider discovery: OpenID Connect Discovery 1.0 §4 (the
 * `/.well-known/openid-configuration` document) with the RFC 8414 §3
 * `/.well-known/oauth-authorization-server` location as a fallback.
 *
 * `config.issuer` may be the issuer identifier (the well-known suffix is
 * appended) or the discovery document URL itself, as Kong accepts both.
 *
 * Freshness (module-level cache shared by every plugin instance, keyed by the
 * discovery URL and the extra discovery headers):
 * - a document is fresh for `cache_ttl`; a stale one keeps serving while one
 *   background request refreshes it (an IdP outage never un-discovers it);
 * - when there is no document and the last attempt failed less than
 *   `rediscovery_lifetime` ago, the cached failure is returned at once — a
 *   down IdP is not hammered, and the gateway starts and serves (5xx for this
 *   route) until the IdP is back;
 * - one request at a time per document (single-flight).
 * The Admin API's GET/DELETE /openid-connect/issuers read and clear it.
 */
import { randomUUID } from 'node:crypto';
import { IdpUnavailable, jsonObject, send, type HttpPolicy } from './http.ts';

/** The provider metadata fields the plugin reads (OIDC Discovery §3, RFC 8414 §2). Others are kept as received. */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
  userinfo_endpoint?: string;
  end_session_endpoint?: string;
  jwks_uri?: string;
  id_token_signing_alg_values_supported?: string[];
  userinfo_signing_alg_values_supported?: string[];
  introspection_signing_alg_values_supported?: string[];
  code_challenge_methods_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  [key: string]: unknown;
}

/** Endpoint overrides from the plugin config (each wins over the discovered value). */
export interface EndpointOverrides {
  readonly authorization_endpoint: string | null;
  readonly token_endpoint: string | null;
  readonly introspection_endpoint: string | null;
  readonly revocation_endpoint: string | null;
  readonly userinfo_endpoint: string | null;
  readonly end_session_endpoint: string | null;
  /** `jwks_endpoint` (3.14+): replaces the discovered `jwks_uri`. */
  readonly jwks_uri: string | null;
  readonly pushed_authorization_request_endpoint: string | null;
}

export interface IssuerPlan {
  /** `config.issuer` as configured. */
  readonly configured: string;
  /** The document URL fetched. */
  readonly discoveryUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly cacheTtlMs: number;
  readonly rediscoveryMs: number;
  readonly http: HttpPolicy;
  readonly overrides: EndpointOverrides;
  readonly extraJwksUris: readonly string[];
  /** Cache key: discovery URL + headers. */
  readonly key: string;
}

const WELL_KNOWN_OIDC = '/.well-known/openid-configuration';
const WELL_KNOWN_OAUTH = '/.well-known/oauth-authorization-server';

/** The discovery document URL for a configured issuer (Kong accepts either form). */
export function discoveryUrlFor(issuer: string): string {
  if (issuer.includes('/.well-known/')) return issuer;
  return issuer.replace(/\/+$/, '') + WELL_KNOWN_OIDC;
}

/** The issuer identifier implied by a configured issuer (well-known suffix and trailing slash removed). */
export function issuerIdentifierFor(issuer: string): string {
  let iss = issuer;
  for (const suffix of [WELL_KNOWN_OIDC, WELL_KNOWN_OAUTH]) {
    if (iss.endsWith(suffix)) iss = iss.slice(0, -suffix.length);
  }
  return iss.replace(/\/+$/, '');
}

/** RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path. */
function rfc8414UrlFor(issuer: string): string | null {
  try {
    const u = new URL(issuerIdentifierFor(issuer));
    const path = u.pathname === '/' ? '' : u.pathname;
    return `${u.origin}${WELL_KNOWN_OAUTH}${path}`;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ request / process (principle 6)

/** Validate a discovery response: a JSON object with a string `issuer` (OIDC Discovery §3 REQUIRED). */
export function processDiscoveryResponse(status: number, body: Record<string, unknown>): ProviderMetadata {
  if (typeof body.issuer !== 'string' || body.issuer === '') {
    throw new IdpUnavailable('discovery', `discovery document (status ${status}) has no issuer`, status);
  }
  for (const field of ['authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'userinfo_endpoint', 'end_session_endpoint', 'jwks_uri']) {
    if (body[field] !== undefined && typeof body[field] !== 'string') {
      throw new IdpUnavailable('discovery', `discovery document field ${field} is not a string`, status);
    }
  }
  return body as ProviderMetadata;
}

async function fetchMetadata(plan: IssuerPlan): Promise<ProviderMetadata> {
  let res = await send('discovery', plan.http, { method: 'GET', url: plan.discoveryUrl, headers: { accept: 'application/json', ...plan.headers } });
  if (res.status === 404 && !plan.configured.includes('/.well-known/')) {
    const alt = rfc8414UrlFor(plan.configured);
    if (alt !== null) res = await send('discovery', plan.http, { method: 'GET', url: alt, headers: { accept: 'application/json', ...plan.headers } });
  }
  if (res.status !== 200) throw new IdpUnavailable('discovery', `discovery answered ${res.status}`, res.status);
  return processDiscoveryResponse(res.status, jsonObject('discovery', res));
}

// ------------------------------------------------------------------ the cache

interface DiscoveryEntry {
  readonly id: string;
  readonly configured: string;
  readonly discoveryUrl: string;
  readonly createdAt: number;
  metadata: ProviderMetadata | null;
  fetchedAt: number;
  lastFailureAt: number;
  lastFailure: IdpUnavailable | null;
  inflight: Promise<ProviderMetadata> | null;
  /** Bumped on every new document (lets callers memoise derived data). */
  version: number;
}

const entries = new Map<string, DiscoveryEntry>();

function entryFor(plan: IssuerPlan): DiscoveryEntry {
  let e = entries.get(plan.key);
  if (e === undefined) {
    e = {
      id: randomUUID(),
      configured: plan.configured,
      discoveryUrl: plan.discoveryUrl,
      createdAt: Math.floor(Date.now() / 1000),
      metadata: null,
      fetchedAt: 0,
      lastFailureAt: 0,
      lastFailure: null,
      inflight: null,
      version: 0,
    };
    entries.set(plan.key, e);
  }
  return e;
}

function refresh(e: DiscoveryEntry, plan: IssuerPlan): Promise<ProviderMetadata> {
  if (e.inflight !== null) return e.inflight;
  const p = fetchMetadata(plan).then(
    (metadata) => {
      e.metadata = metadata;
      e.fetchedAt = Date.now();
      e.lastFailure = null;
      e.version++;
      e.inflight = null;
      return metadata;
    },
    (err: unknown) => {
      e.lastFailureAt = Date.now();
      e.lastFailure = err instanceof IdpUnavailable ? err : new IdpUnavailable('discovery', `discovery failed: ${(err as Error).message}`);
      e.inflight = null;
      throw e.lastFailure;
    },
  );
  e.inflight = p;
  return p;
}

export interface Discovered {
  readonly metadata: ProviderMetadata;
  readonly version: number;
}

/**
 * The provider's metadata: fresh, stale-while-refreshing, or fetched now.
 * Throws IdpUnavailable when there is none and the IdP cannot be reached.
 */
export async function discover(plan: IssuerPlan, now = Date.now()): Promise<Discovered> {
  const e = entryFor(plan);
  if (e.metadata !== null) {
    if (now - e.fetchedAt >= plan.cacheTtlMs && e.inflight === null && now - e.lastFailureAt >= plan.rediscoveryMs) {
      // Stale: refresh in the background; keep serving what we have.
      refresh(e, plan).catch(() => undefined);
    }
    return { metadata: e.metadata, version: e.version };
  }
  return discoverSlow(e, plan, now);
}

/**
 * The synchronous answer of `discover` when a document is held (fresh, or
 * stale with the background refresh started): the per-request path needs
 * no promise. Null when the document has to be fetched first.
 */
export function discoveredNow(plan: IssuerPlan, now = Date.now()): { metadata: ProviderMetadata; version: number } | null {
  const e = entryFor(plan);
  if (e.metadata === null) return null;
  if (now - e.fetchedAt >= plan.cacheTtlMs && e.inflight === null && now - e.lastFailureAt >= plan.rediscoveryMs) {
    refresh(e, plan).catch(() => undefined);
  }
  return e as { metadata: ProviderMetadata; version: number };
}

async function discoverSlow(e: ReturnType<typeof entryFor>, plan: IssuerPlan, now: number): Promise<Discovered> {
  if (e.inflight !== null) {
    const metadata = await e.inflight;
    return { metadata, version: e.version };
  }
  if (e.lastFailure !== null && now - e.lastFailureAt < plan.rediscoveryMs) throw e.lastFailure;
  const metadata = await refresh(e, plan);
  return { metadata, version: e.version };
}

/** Force a new discovery (e.g. an unknown signing key may mean a new jwks_uri); no-op inside rediscovery_lifetime. */
export function rediscover(plan: IssuerPlan, now = Date.now()): Promise<ProviderMetadata> | null {
  const e = entryFor(plan);
  if (e.inflight !== null) return e.inflight;
  if (now - Math.max(e.fetchedAt, e.lastFailureAt) < plan.rediscoveryMs) return null;
  return refresh(e, plan);
}

/** Start discovery in the background (compile time); failures are remembered, not thrown. */
export function prefetch(plan: IssuerPlan): void {
  discover(plan).catch(() => undefined);
}

// ------------------------------------------------------------------ Admin API view

export interface IssuerRecord {
  id: string;
  issuer: string;
  created_at: number;
  configuration: Record<string, unknown>;
  /** JWKS URIs this issuer's keys come from (for the admin view). */
  jwksUris: string[];
  discoveryUrl: string;
}

/** Every discovered issuer, as Kong's `GET /openid-connect/issuers` lists them (keys filled by admin.ts). */
export function listIssuers(): IssuerRecord[] {
  const out: IssuerRecord[] = [];
  for (const e of entries.values()) {
    if (e.metadata === null) continue;
    const jwks = typeof e.metadata.jwks_uri === 'string' ? [e.metadata.jwks_uri] : [];
    out.push({ id: e.id, issuer: e.configured, created_at: e.createdAt, configuration: e.metadata, jwksUris: jwks, discoveryUrl: e.discoveryUrl });
  }
  return out;
}

/** Forget one issuer (by id or configured issuer) or, with no argument, all. Returns how many were removed. */
export function clearIssuers(idOrIssuer?: string): number {
  if (idOrIssuer === undefined) {
    const n = entries.size;
    entries.clear();
    return n;
  }
  let n = 0;
  for (const [key, e] of entries) {
    if (e.id === idOrIssuer || e.configured === idOrIssuer || e.metadata?.issuer === idOrIssuer) {
      entries.delete(key);
      n++;
    }
  }
  return n;
}
