/**
 * Logout, checked before any authentication (Kong's order):
 * - triggered when the method is in `logout_methods` (default POST, DELETE)
 *   and the request has the `logout_query_arg`, ends with
 *   `logout_uri_suffix`, or has the `logout_post_arg` in its body;
 * - with `logout_revoke`, the session's refresh token
 *   (`logout_revoke_refresh_token`) and access token
 *   (`logout_revoke_access_token`) are revoked (RFC 7009 §2.1, token type
 *   hint, client authentication); a failed revocation is logged, never fatal;
 * - the gateway session is destroyed whatever the IdP answers;
 * - then RP-Initiated Logout 1.0 §2: a redirect to the `end_session_endpoint`
 *   (configured or discovered) with `id_token_hint`, `post_logout_redirect_uri`
 *   (`logout_redirect_uri`) and `client_id`; without an end session endpoint,
 *   a redirect to `logout_redirect_uri`, else 204.
 */
import type { Logger } from 'pino';
import type { RequestContext } from '../../../core/context.ts';
import * as pdk from '../../../pdk/index.ts';
import { readBodyArgs } from '../extract.ts';
import { authenticateClient, clientAuthAt } from '../client-auth.ts';
import type { ClientConfig, ClientPlan } from '../clients.ts';
import { IdpUnavailable, send, type HttpPolicy } from '../http.ts';
import type { Provider } from '../provider.ts';
import type { StoredTokens } from '../session/index.ts';

export interface LogoutPlan {
  readonly methods: ReadonlySet<string>;
  readonly queryArg: string | null;
  readonly uriSuffix: string | null;
  readonly postArg: string | null;
  readonly revoke: boolean;
  readonly revokeAccessToken: boolean;
  readonly revokeRefreshToken: boolean;
  readonly tokenParam: string;
}

export function compileLogout(c: {
  logout_methods: string[];
  logout_query_arg: string | null;
  logout_uri_suffix: string | null;
  logout_post_arg: string | null;
  logout_revoke: boolean;
  logout_revoke_access_token: boolean;
  logout_revoke_refresh_token: boolean;
  revocation_token_param_name: string;
}): LogoutPlan {
  return Object.freeze({
    methods: new Set(c.logout_methods),
    queryArg: c.logout_query_arg,
    uriSuffix: c.logout_uri_suffix,
    postArg: c.logout_post_arg,
    revoke: c.logout_revoke,
    revokeAccessToken: c.logout_revoke_access_token,
    revokeRefreshToken: c.logout_revoke_refresh_token,
    tokenParam: c.revocation_token_param_name,
  });
}

/** Is this request a logout? (May read a form body for `logout_post_arg`.) */
/** Could this request be a logout at all (method and a configured trigger)? Synchronous, so most requests skip `isLogout`. */
export function mayBeLogout(ctx: RequestContext, plan: LogoutPlan): boolean {
  return plan.methods.has(ctx.method) && (plan.queryArg !== null || plan.uriSuffix !== null || plan.postArg !== null);
}

export async function isLogout(ctx: RequestContext, plan: LogoutPlan): Promise<boolean> {
  if (!plan.methods.has(ctx.method)) return false;
  if (plan.queryArg === null && plan.uriSuffix === null && plan.postArg === null) return false;
  if (plan.queryArg !== null && pdk.request.getQuery(ctx).has(plan.queryArg)) return true;
  if (plan.uriSuffix !== null && ctx.rawPath.endsWith(plan.uriSuffix)) return true;
  if (plan.postArg !== null) {
    const t = (pdk.request.getHeader(ctx, 'content-type') ?? '').toLowerCase();
    if (t.startsWith('application/x-www-form-urlencoded') || t.startsWith('application/json')) {
      const body = await readBodyArgs(ctx);
      if (body !== null && body[plan.postArg] !== undefined) return true;
    }
  }
  return false;
}

/** RFC 7009 §2.1 revocation of one token; failures are logged (logout must not depend on the IdP). */
async function revokeOne(
  log: Logger,
  plan: LogoutPlan,
  clients: ClientPlan,
  client: ClientConfig,
  provider: Provider,
  http: HttpPolicy,
  token: string,
  hint: 'access_token' | 'refresh_token',
): Promise<void> {
  const endpoint = provider.endpoints.revocation;
  if (endpoint === null) {
    log.debug(`[openid-connect] unable to revoke ${hint.replace('_', ' ')}, because revocation endpoint was not specified`);
    return;
  }
  try {
    const form = new URLSearchParams();
    form.set(plan.tokenParam, token);
    form.set('token_type_hint', hint);
    const headers: Record<string, string> = {};
    const advertised = provider.metadata.revocation_endpoint_auth_methods_supported ?? provider.metadata.token_endpoint_auth_methods_supported;
    await authenticateClient(clientAuthAt(clients.revocationEndpointAuth, client, advertised, endpoint), form, headers);
    const res = await send('revocation', http, { method: 'POST', url: endpoint, form, headers });
    // RFC 7009 §2.2: 200 whether or not the token was valid; anything else is worth a line.
    if (res.status !== 200) log.warn({ status: res.status }, `[openid-connect] revoking ${hint.replace('_', ' ')} failed`);
  } catch (err) {
    const message = err instanceof IdpUnavailable ? err.message : (err as Error).message;
    log.warn(`[openid-connect] revoking ${hint.replace('_', ' ')} failed: ${message}`);
  }
}

export async function revokeTokens(
  log: Logger,
  plan: LogoutPlan,
  clients: ClientPlan,
  client: ClientConfig,
  provider: Provider,
  http: HttpPolicy,
  tokens: StoredTokens,
): Promise<void> {
  if (!plan.revoke) return;
  const jobs: Promise<void>[] = [];
  if (plan.revokeRefreshToken && tokens.refresh_token !== undefined) jobs.push(revokeOne(log, plan, clients, client, provider, http, tokens.refresh_token, 'refresh_token'));
  if (plan.revokeAccessToken) jobs.push(revokeOne(log, plan, clients, client, provider, http, tokens.access_token, 'access_token'));
  await Promise.all(jobs);
}

/** Where the browser goes after logout, or null for 204. */
export function logoutLocation(endSessionEndpoint: string | null, client: ClientConfig, idToken: string | undefined): string | null {
  if (endSessionEndpoint !== null) {
    const url = new URL(endSessionEndpoint);
    if (idToken !== undefined) url.searchParams.set('id_token_hint', idToken);
    if (client.logoutRedirectUri !== null) url.searchParams.set('post_logout_redirect_uri', client.logoutRedirectUri);
    if (client.id !== null) url.searchParams.set('client_id', client.id);
    return url.toString();
  }
  return client.logoutRedirectUri;
}
