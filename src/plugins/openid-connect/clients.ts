/**
 * The OAuth client(s) the plugin acts as. Kong pairs `client_id[i]` with
 * `client_secret[i]`, `client_auth[i]`, `client_alg[i]`, `client_jwk[i]`,
 * `redirect_uri[i]` and the `*_redirect_uri[i]` lists, falling back to entry
 * 1 for a missing value; with several clients the request picks one with the
 * `client_arg` parameter (header, `X-` header, query or body), by id or by
 * 1-based index. Everything is resolved at compile time; selection is a
 * lookup.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import type { ClientAuthMethod } from './schema.ts';

export interface ClientConfig {
  /** 1-based, as Kong stores it in sessions. */
  readonly index: number;
  readonly id: string | null;
  readonly secret: string | null;
  readonly auth: ClientAuthMethod | null;
  readonly alg: string | null;
  readonly jwk: Record<string, unknown> | null;
  /** Configured redirect_uri, or null for "the current URL". */
  readonly redirectUri: string | null;
  readonly loginRedirectUri: string | null;
  readonly logoutRedirectUri: string | null;
  readonly forbiddenRedirectUri: string | null;
  readonly unauthorizedRedirectUri: string | null;
  readonly unexpectedRedirectUri: string | null;
}

export interface ClientPlan {
  readonly clients: readonly ClientConfig[];
  /** Lower-case name of the selecting parameter (`client_arg`). */
  readonly arg: string;
  readonly tokenEndpointAuth: ClientAuthMethod | null;
  readonly introspectionEndpointAuth: ClientAuthMethod | null;
  readonly revocationEndpointAuth: ClientAuthMethod | null;
}

function at<T>(list: readonly T[] | null, i: number): T | null {
  if (list === null || list.length === 0) return null;
  return list[i] ?? list[0] ?? null;
}

/** Drop the nulls Kong's JWK record schema fills in, keeping a plain JWK. */
function plainJwk(jwk: Record<string, unknown> | null): Record<string, unknown> | null {
  if (jwk === null) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(jwk)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

export function compileClients(c: {
  client_id: string[] | null;
  client_secret: string[] | null;
  client_auth: ClientAuthMethod[] | null;
  client_alg: string[] | null;
  client_jwk: Array<Record<string, unknown>> | null;
  redirect_uri: string[] | null;
  login_redirect_uri: string[] | null;
  logout_redirect_uri: string[] | null;
  forbidden_redirect_uri: string[] | null;
  unauthorized_redirect_uri: string[] | null;
  unexpected_redirect_uri: string[] | null;
  client_arg: string;
  token_endpoint_auth_method: ClientAuthMethod | null;
  introspection_endpoint_auth_method: ClientAuthMethod | null;
  revocation_endpoint_auth_method: ClientAuthMethod | null;
}): ClientPlan {
  const n = Math.max(1, c.client_id?.length ?? 0);
  const clients: ClientConfig[] = [];
  for (let i = 0; i < n; i++) {
    clients.push(
      Object.freeze({
        index: i + 1,
        id: at(c.client_id, i),
        secret: at(c.client_secret, i),
        auth: at(c.client_auth, i),
        alg: at(c.client_alg, i),
        jwk: plainJwk(at(c.client_jwk, i)),
        redirectUri: at(c.redirect_uri, i),
        loginRedirectUri: at(c.login_redirect_uri, i),
        logoutRedirectUri: at(c.logout_redirect_uri, i),
        forbiddenRedirectUri: at(c.forbidden_redirect_uri, i),
        unauthorizedRedirectUri: at(c.unauthorized_redirect_uri, i),
        unexpectedRedirectUri: at(c.unexpected_redirect_uri, i),
      }),
    );
  }
  return Object.freeze({
    clients: Object.freeze(clients),
    arg: c.client_arg.toLowerCase(),
    tokenEndpointAuth: c.token_endpoint_auth_method,
    introspectionEndpointAuth: c.introspection_endpoint_auth_method,
    revocationEndpointAuth: c.revocation_endpoint_auth_method,
  });
}

/** A client by id or 1-based index (Kong's find_client_by_arg). */
export function clientByArg(plan: ClientPlan, arg: string | null | undefined): ClientConfig | null {
  if (arg === null || arg === undefined || arg === '') return null;
  if (/^\d+$/.test(arg)) return plan.clients[Number(arg) - 1] ?? null;
  for (const c of plan.clients) if (c.id === arg) return c;
  return null;
}

/** The client for this request: the only one, or the one `client_arg` names (header, X- header, query). */
export function selectClient(ctx: RequestContext, plan: ClientPlan): ClientConfig {
  const first = plan.clients[0]!;
  if (plan.clients.length < 2) return first;
  return (
    clientByArg(plan, pdk.request.getHeader(ctx, plan.arg)) ??
    clientByArg(plan, pdk.request.getHeader(ctx, 'x-' + plan.arg.replace(/_/g, '-'))) ??
    clientByArg(plan, pdk.request.getQueryArg(ctx, plan.arg)) ??
    first
  );
}
