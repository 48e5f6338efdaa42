/**
 * The token endpoint (RFC 6749 §3.2), shared by the authorization code,
 * password, client credentials and refresh token grants — request and
 * process kept apart (ARCHITECTURE principle 6):
 * - request: the grant's parameters, `scope` (`scopes`), Kong's
 *   `token_post_args_*` and `token_headers_*`, client authentication;
 * - process (§5.1 / §5.2): 200 with an `access_token` is success; 400/401/403
 *   (invalid_grant, invalid_client, …) is a refused credential → 401 for the
 *   caller; anything else (5xx, garbage, unreachable) is an IdP failure → 5xx.
 * Password, client credentials and refresh grants are cached
 * (`cache_tokens`) under a hash of the grant parameters, client and
 * `cache_tokens_salt`, for `expires_in`; refusals for `cache_ttl_neg`.
 */
import type { RequestContext } from '../../../core/context.ts';
import * as pdk from '../../../pdk/index.ts';
import { readBodyArgs } from '../extract.ts';
import { cacheKey, caches, positiveTtlMs, type CachePolicy, type Verdict } from '../cache.ts';
import { authenticateClient, clientAuthAt, type ClientAuth } from '../client-auth.ts';
import type { ClientConfig } from '../clients.ts';
import { unauthorized } from '../errors.ts';
import { IdpUnavailable, jsonObject, send, type HttpPolicy, type IdpResponse } from '../http.ts';
import type { Provider } from '../provider.ts';
import type { ClientAuthMethod } from '../schema.ts';
import { pairs } from '../validate/introspection.ts';

export type Grant = 'authorization_code' | 'password' | 'client_credentials' | 'refresh_token' | 'urn:ietf:params:oauth:grant-type:token-exchange';

/** What the token endpoint returned (RFC 6749 §5.1), with the raw object for `login_tokens: tokens`. */
export interface TokenSet {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  /** Epoch seconds the access token expires at (from expires_in), or null. */
  expiresAt: number | null;
  raw: Record<string, unknown>;
  /** Response headers to replay downstream (token_headers_replay), lower-case. */
  replay: Record<string, string> | null;
}

/**
 * The token endpoint as compiled from the configuration, once per plugin
 * instance: what every grant sends (scope, extra arguments and headers),
 * which response headers it replays, how it talks to the IdP (`timeout`,
 * `ssl_verify`, `keepalive`), how results are cached, and the
 * `token_endpoint_auth_method` override. The URL and the client are known
 * per request (discovery, `client_arg`): `bindTokenEndpoint` joins them.
 */
export interface TokenEndpoint {
  readonly http: HttpPolicy;
  readonly cache: CachePolicy;
  /** `token_endpoint_auth_method`, or null for the client's own / the IdP's advertised method. */
  readonly authMethod: ClientAuthMethod | null;
  /** `require_pushed_authorization_requests` (RFC 9126): true/false forces, null follows the IdP. */
  readonly par: boolean | null;
  /** `pushed_authorization_request_endpoint_auth_method`, or null for `authMethod`. */
  readonly parAuthMethod: ClientAuthMethod | null;
  readonly scope: string | null;
  readonly postArgs: ReadonlyArray<readonly [string, string]>;
  readonly postArgsClient: readonly string[];
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly headersClient: readonly string[];
  readonly replay: readonly string[];
  readonly replayPrefix: string;
  readonly replayGrants: ReadonlySet<Grant>;
}

export function compileTokenEndpoint(
  c: {
    token_endpoint_auth_method: ClientAuthMethod | null;
    require_pushed_authorization_requests: boolean | null;
    pushed_authorization_request_endpoint_auth_method: ClientAuthMethod | null;
    scopes: string[] | null;
    token_post_args_names: string[] | null;
    token_post_args_values: string[] | null;
    token_post_args_client: string[] | null;
    token_headers_names: string[] | null;
    token_headers_values: string[] | null;
    token_headers_client: string[] | null;
    token_headers_replay: string[] | null;
    token_headers_prefix: string | null;
    token_headers_grants: Grant[] | null;
  },
  http: HttpPolicy,
  cache: CachePolicy,
): TokenEndpoint {
  return Object.freeze({
    http,
    cache,
    authMethod: c.token_endpoint_auth_method,
    par: c.require_pushed_authorization_requests,
    parAuthMethod: c.pushed_authorization_request_endpoint_auth_method,
    scope: c.scopes !== null && c.scopes.length > 0 ? c.scopes.join(' ') : null,
    postArgs: Object.freeze(pairs(c.token_post_args_names, c.token_post_args_values)),
    postArgsClient: Object.freeze([...(c.token_post_args_client ?? [])]),
    headers: Object.freeze(pairs(c.token_headers_names, c.token_headers_values).map(([n, v]) => [n.toLowerCase(), v] as const)),
    headersClient: Object.freeze((c.token_headers_client ?? []).map((h) => h.toLowerCase())),
    replay: Object.freeze((c.token_headers_replay ?? []).map((h) => h.toLowerCase())),
    replayPrefix: c.token_headers_prefix ?? '',
    replayGrants: new Set(c.token_headers_grants ?? []),
  });
}

/** Process a token endpoint response (RFC 6749 §5.1 success, §5.2 error). */
export function processTokenResponse(res: IdpResponse, now = Date.now()): Verdict<Record<string, unknown>> {
  if (res.status === 400 || res.status === 401 || res.status === 403) {
    let error = `status ${res.status}`;
    try {
      const b = JSON.parse(res.body.toString('utf8')) as { error?: unknown };
      if (typeof b.error === 'string') error = b.error;
    } catch {
      // keep the status as the reason
    }
    return { ok: false, reason: `token endpoint refused the grant (${error})`, expired: false };
  }
  if (res.status !== 200) throw new IdpUnavailable('token', `token endpoint answered ${res.status}`, res.status);
  const body = jsonObject('token', res);
  if (typeof body.access_token !== 'string' || body.access_token === '') throw new IdpUnavailable('token', 'token endpoint answered without an access_token', res.status);
  if (typeof body.expires_in === 'number') body.__expires_at = Math.floor(now / 1000) + body.expires_in;
  return { ok: true, value: body };
}

function toTokenSet(raw: Record<string, unknown>, replay: Record<string, string> | null): TokenSet {
  const str = (k: string): string | undefined => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const clean: Record<string, unknown> = { ...raw };
  delete clean.__expires_at;
  delete clean.__replay;
  return {
    access_token: raw.access_token as string,
    token_type: str('token_type'),
    expires_in: typeof raw.expires_in === 'number' ? raw.expires_in : undefined,
    refresh_token: str('refresh_token'),
    id_token: str('id_token'),
    scope: str('scope'),
    expiresAt: typeof raw.__expires_at === 'number' ? raw.__expires_at : null,
    raw: clean,
    replay,
  };
}

/**
 * The token endpoint for one request: the compiled endpoint, the URL the IdP
 * publishes (or `token_endpoint`), and the client authentication to use there.
 * Every grant takes this one object.
 */
export interface BoundTokenEndpoint {
  readonly endpoint: TokenEndpoint;
  readonly url: string;
  readonly auth: ClientAuth;
}

/** Join the compiled endpoint with the provider's URL and the request's client. Throws IdpUnavailable without a token endpoint. */
export function bindTokenEndpoint(endpoint: TokenEndpoint, provider: Provider, client: ClientConfig): BoundTokenEndpoint {
  const url = provider.endpoints.token;
  if (url === null) throw new IdpUnavailable('token', 'the identity provider has no token endpoint');
  return { endpoint, url, auth: clientAuthAt(endpoint.authMethod, client, provider.metadata.token_endpoint_auth_methods_supported, url) };
}

export interface GrantRequest {
  grant: Grant;
  /** Grant-specific parameters (code, redirect_uri, code_verifier, username, password, refresh_token). */
  params: Record<string, string>;
  /** Authenticate as these credentials instead of the configured client (client_credentials grant). */
  credentials?: { id: string; secret: string };
  /** Cache this grant (password, client_credentials, refresh_token with cache_tokens). */
  cacheable: boolean;
  /** The token exchange's own `scope` (null: none) instead of `scopes`. */
  scope?: string | null;
  /** `audience` parameters (token exchange, RFC 8693 §2.1). */
  audience?: readonly string[];
}

/**
 * Run a grant against the token endpoint. Returns the tokens; throws a 401
 * Rejection when the IdP refuses the credential, IdpUnavailable when it
 * cannot be asked.
 */
export async function requestTokens(ctx: RequestContext, te: BoundTokenEndpoint, req: GrantRequest): Promise<TokenSet> {
  const plan = te.endpoint;
  const cache = plan.cache;
  const endpoint = te.url;
  const client = te.auth.client;

  const form = new URLSearchParams();
  form.set('grant_type', req.grant);
  for (const [k, v] of Object.entries(req.params)) form.set(k, v);
  const scope = req.scope !== undefined ? req.scope : plan.scope;
  if (scope !== null && req.grant !== 'authorization_code' && req.grant !== 'refresh_token') form.set('scope', scope);
  for (const a of req.audience ?? []) form.append('audience', a);
  for (const [n, v] of plan.postArgs) form.set(n, v);
  if (plan.postArgsClient.length > 0) {
    // Kong: "the client can pass them using query parameters, request body or request header".
    const body = await readBodyArgs(ctx);
    for (const n of plan.postArgsClient) {
      const fromBody = body !== null && typeof body[n] === 'string' ? (body[n] as string) : null;
      const v = pdk.request.getQueryArg(ctx, n) ?? fromBody ?? pdk.request.getHeader(ctx, n.toLowerCase()) ?? null;
      if (v !== null) form.set(n, v);
    }
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [n, v] of plan.headers) headers[n] = v;
  for (const h of plan.headersClient) {
    const v = pdk.request.getHeader(ctx, h);
    if (v !== undefined) headers[h] = v;
  }

  const load = async (): Promise<{ value: Verdict<Record<string, unknown>>; ttlMs: number }> => {
    await authenticateClient(te.auth, form, headers, req.credentials);
    const res = await send('token', plan.http, { method: 'POST', url: endpoint, form, headers });
    const verdict = processTokenResponse(res);
    if (verdict.ok && plan.replay.length > 0 && plan.replayGrants.has(req.grant)) {
      const replay: Record<string, string> = {};
      for (const h of plan.replay) {
        const v = res.headers[h];
        if (v !== undefined) replay[plan.replayPrefix + h] = Array.isArray(v) ? v.join(', ') : v;
      }
      verdict.value.__replay = replay;
    }
    if (!verdict.ok) return { value: verdict, ttlMs: cache.negativeTtlMs };
    const exp = typeof verdict.value.__expires_at === 'number' ? verdict.value.__expires_at : null;
    return { value: verdict, ttlMs: positiveTtlMs(cache, exp) };
  };

  let verdict: Verdict<Record<string, unknown>>;
  if (req.cacheable && cache.tokens) {
    const parts = ['tokens', endpoint, cache.tokensSalt, client.id ?? '', req.credentials?.id ?? '', req.grant];
    for (const k of Object.keys(req.params).sort()) parts.push(k, req.params[k]!);
    if (req.credentials !== undefined) parts.push(req.credentials.secret);
    if (cache.includeScopeInTokenKey) parts.push(plan.scope ?? '');
    verdict = await caches.tokens.load(cacheKey(...parts), load);
  } else {
    verdict = (await load()).value;
  }
  if (!verdict.ok) throw unauthorized(verdict.reason);
  const replay = (verdict.value.__replay as Record<string, string> | undefined) ?? null;
  return toTokenSet(verdict.value, replay);
}
