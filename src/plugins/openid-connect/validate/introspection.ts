/**
 * OAuth 2.0 Token Introspection (RFC 7662), split into request and process
 * (ARCHITECTURE principle 6):
 * - request (§2.1): POST `token` (name: `introspection_token_param_name`)
 *   and `token_type_hint` (`introspection_hint`) with client authentication
 *   (`introspection_endpoint_auth_method`, else the client's), plus Kong's
 *   extra headers / post arguments (static, or copied from the client's
 *   request);
 * - process (§2.2): a JSON object; `active` must be `true` when
 *   `introspection_check_active` (default) — an inactive token is a 401
 *   ("inactive token"), not an error.
 * An IdP that cannot be reached, answers 5xx, rejects our client (401/403)
 * or answers garbage is an IdpUnavailable (5xx for the caller), never a 401.
 * Results, positive and negative, are cached by token hash (cache.ts).
 */
import type { RequestContext } from '../../../core/context.ts';
import * as pdk from '../../../pdk/index.ts';
import { deepFreeze } from '../claims.ts';
import { cacheKey, caches, positiveTtlMs, type CachePolicy, type Verdict } from '../cache.ts';
import { authenticateClient, clientAuthAt } from '../client-auth.ts';
import type { ClientConfig, ClientPlan } from '../clients.ts';
import { unauthorized } from '../errors.ts';
import { IdpUnavailable, jsonObject, send, type HttpPolicy, type IdpResponse } from '../http.ts';
import type { Provider } from '../provider.ts';

export interface IntrospectionPlan {
  readonly hint: string;
  readonly checkActive: boolean;
  readonly tokenParam: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly clientHeaders: readonly string[];
  readonly postArgs: ReadonlyArray<readonly [string, string]>;
  readonly postArgsClient: readonly string[];
  readonly postArgsClientHeaders: readonly string[];
}

export function pairs(names: string[] | null, values: string[] | null): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  if (names === null || values === null) return out;
  for (let i = 0; i < names.length && i < values.length; i++) out.push([names[i]!, values[i]!] as const);
  return out;
}

export function compileIntrospection(c: {
  introspection_hint: string;
  introspection_check_active: boolean;
  introspection_token_param_name: string;
  introspection_headers_names: string[] | null;
  introspection_headers_values: string[] | null;
  introspection_headers_client: string[] | null;
  introspection_post_args_names: string[] | null;
  introspection_post_args_values: string[] | null;
  introspection_post_args_client: string[] | null;
  introspection_post_args_client_headers: string[] | null;
}): IntrospectionPlan {
  return Object.freeze({
    hint: c.introspection_hint,
    checkActive: c.introspection_check_active,
    tokenParam: c.introspection_token_param_name,
    headers: Object.freeze(pairs(c.introspection_headers_names, c.introspection_headers_values).map(([n, v]) => [n.toLowerCase(), v] as const)),
    clientHeaders: Object.freeze((c.introspection_headers_client ?? []).map((h) => h.toLowerCase())),
    postArgs: Object.freeze(pairs(c.introspection_post_args_names, c.introspection_post_args_values)),
    postArgsClient: Object.freeze([...(c.introspection_post_args_client ?? [])]),
    postArgsClientHeaders: Object.freeze((c.introspection_post_args_client_headers ?? []).map((h) => h.toLowerCase())),
  });
}

/** Build the RFC 7662 §2.1 request. */
export async function introspectionRequest(
  ctx: RequestContext,
  plan: IntrospectionPlan,
  clients: ClientPlan,
  client: ClientConfig,
  provider: Provider,
  endpoint: string,
  token: string,
): Promise<{ form: URLSearchParams; headers: Record<string, string> }> {
  const form = new URLSearchParams();
  form.set(plan.tokenParam, token);
  if (plan.hint !== '') form.set('token_type_hint', plan.hint);
  for (const [n, v] of plan.postArgs) form.set(n, v);
  for (const n of plan.postArgsClient) {
    const v = pdk.request.getQueryArg(ctx, n);
    if (v !== null) form.set(n, v);
  }
  for (const h of plan.postArgsClientHeaders) {
    const v = pdk.request.getHeader(ctx, h);
    if (v !== undefined) form.set(h, v);
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [n, v] of plan.headers) headers[n] = v;
  for (const h of plan.clientHeaders) {
    const v = pdk.request.getHeader(ctx, h);
    if (v !== undefined) headers[h] = v;
  }
  const advertised = provider.metadata.introspection_endpoint_auth_methods_supported ?? provider.metadata.token_endpoint_auth_methods_supported;
  await authenticateClient(clientAuthAt(clients.introspectionEndpointAuth, client, advertised, endpoint), form, headers);
  return { form, headers };
}

/** Process the RFC 7662 §2.2 response: the introspection object, or IdpUnavailable. */
export function processIntrospectionResponse(res: IdpResponse): Record<string, unknown> {
  if (res.status !== 200) throw new IdpUnavailable('introspection', `introspection answered ${res.status}`, res.status);
  return jsonObject('introspection', res);
}

/**
 * Introspect `token` (cached). Returns the response when the token is
 * acceptable; throws a 401 Rejection ("inactive token") when it is not,
 * IdpUnavailable when the IdP could not tell us.
 */
export async function introspect(
  ctx: RequestContext,
  plan: IntrospectionPlan,
  clients: ClientPlan,
  client: ClientConfig,
  provider: Provider,
  http: HttpPolicy,
  cache: CachePolicy,
  token: string,
): Promise<Record<string, unknown>> {
  const endpoint = provider.endpoints.introspection;
  if (endpoint === null) throw new IdpUnavailable('introspection', 'the identity provider has no introspection endpoint');
  const load = async (): Promise<{ value: Verdict<Record<string, unknown>>; ttlMs: number }> => {
    const { form, headers } = await introspectionRequest(ctx, plan, clients, client, provider, endpoint, token);
    const res = await send('introspection', http, { method: 'POST', url: endpoint, form, headers });
    const body = processIntrospectionResponse(res);
    if (plan.checkActive && body.active !== true) return { value: { ok: false, reason: 'inactive token', expired: false }, ttlMs: cache.negativeTtlMs };
    const exp = typeof body.exp === 'number' ? body.exp : null;
    // Frozen: a cached answer is shared by every request presenting the token.
    return { value: { ok: true, value: deepFreeze(body) }, ttlMs: positiveTtlMs(cache, exp) };
  };
  const verdict = cache.introspection
    ? await caches.introspection.load(cacheKey('introspection', endpoint, client.id ?? '', plan.hint, token), load)
    : (await load()).value;
  if (!verdict.ok) throw unauthorized(verdict.reason);
  const exp = verdict.value.exp;
  // A cached positive answer still honours the token's own expiry.
  if (typeof exp === 'number' && exp * 1000 <= Date.now()) throw unauthorized('inactive token');
  return verdict.value;
}
