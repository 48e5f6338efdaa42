/**
 * The UserInfo endpoint (OpenID Connect Core 1.0 §5.3) as an authentication
 * method and as a claim source (`search_user_info`, `*_user_info_header`):
 * - request (§5.3.1): GET with `Authorization: Bearer <access token>`, plus
 *   Kong's extra headers and query arguments;
 * - process (§5.3.2 / §5.3.3): 200 with a JSON object is a valid token; 401 or
 *   403 (RFC 6750 §3.1 invalid_token / insufficient_scope) means the token is
 *   not good (a 401 for our caller); anything else is an IdP failure.
 * Cached by token hash, positive and negative.
 */
import type { RequestContext } from '../../../core/context.ts';
import * as pdk from '../../../pdk/index.ts';
import { cacheKey, caches, positiveTtlMs, type CachePolicy, type Verdict } from '../cache.ts';
import { unauthorized } from '../errors.ts';
import { IdpUnavailable, jsonObject, send, type HttpPolicy, type IdpResponse } from '../http.ts';
import type { Provider } from '../provider.ts';
import { pairs } from './introspection.ts';

export interface UserinfoPlan {
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly clientHeaders: readonly string[];
  readonly queryArgs: ReadonlyArray<readonly [string, string]>;
  readonly queryArgsClient: readonly string[];
}

export function compileUserinfo(c: {
  userinfo_headers_names: string[] | null;
  userinfo_headers_values: string[] | null;
  userinfo_headers_client: string[] | null;
  userinfo_query_args_names: string[] | null;
  userinfo_query_args_values: string[] | null;
  userinfo_query_args_client: string[] | null;
}): UserinfoPlan {
  return Object.freeze({
    headers: Object.freeze(pairs(c.userinfo_headers_names, c.userinfo_headers_values).map(([n, v]) => [n.toLowerCase(), v] as const)),
    clientHeaders: Object.freeze((c.userinfo_headers_client ?? []).map((h) => h.toLowerCase())),
    queryArgs: Object.freeze(pairs(c.userinfo_query_args_names, c.userinfo_query_args_values)),
    queryArgsClient: Object.freeze([...(c.userinfo_query_args_client ?? [])]),
  });
}

export function userinfoRequest(ctx: RequestContext, plan: UserinfoPlan, endpoint: string, token: string): { url: string; headers: Record<string, string> } {
  const url = new URL(endpoint);
  for (const [n, v] of plan.queryArgs) url.searchParams.set(n, v);
  for (const n of plan.queryArgsClient) {
    const v = pdk.request.getQueryArg(ctx, n);
    if (v !== null) url.searchParams.set(n, v);
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [n, v] of plan.headers) headers[n] = v;
  for (const h of plan.clientHeaders) {
    const v = pdk.request.getHeader(ctx, h);
    if (v !== undefined) headers[h] = v;
  }
  headers.authorization = `Bearer ${token}`;
  return { url: url.toString(), headers };
}

export function processUserinfoResponse(res: IdpResponse): Verdict<Record<string, unknown>> {
  if (res.status === 401 || res.status === 403) return { ok: false, reason: 'invalid token (user info endpoint answered ' + res.status + ')', expired: false };
  if (res.status !== 200) throw new IdpUnavailable('userinfo', `user info answered ${res.status}`, res.status);
  return { ok: true, value: jsonObject('userinfo', res) };
}

/** User info for `token` (cached); throws a 401 Rejection when the IdP refuses the token. */
export async function loadUserinfo(
  ctx: RequestContext,
  plan: UserinfoPlan,
  provider: Provider,
  http: HttpPolicy,
  cache: CachePolicy,
  token: string,
  expSeconds: number | null,
): Promise<Record<string, unknown>> {
  const endpoint = provider.endpoints.userinfo;
  if (endpoint === null) throw new IdpUnavailable('userinfo', 'the identity provider has no user info endpoint');
  const load = async (): Promise<{ value: Verdict<Record<string, unknown>>; ttlMs: number }> => {
    const { url, headers } = userinfoRequest(ctx, plan, endpoint, token);
    const verdict = processUserinfoResponse(await send('userinfo', http, { method: 'GET', url, headers }));
    return { value: verdict, ttlMs: verdict.ok ? positiveTtlMs(cache, expSeconds) : cache.negativeTtlMs };
  };
  const verdict = cache.userinfo ? await caches.userinfo.load(cacheKey('userinfo', endpoint, token), load) : (await load()).value;
  if (!verdict.ok) throw unauthorized(verdict.reason);
  return verdict.value;
}
