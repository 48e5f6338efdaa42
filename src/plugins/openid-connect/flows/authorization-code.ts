/**
 * The authorization code flow (RFC 6749 §4.1, OpenID Connect Core §3.1) as
 * Kong's openid-connect runs it:
 *
 * start — no usable credential: redirect to the authorization endpoint with
 *   `response_type=code`, `client_id`, `redirect_uri`, `scope` (`scopes`),
 *   `state`, `nonce`, PKCE S256 (RFC 7636) when the IdP advertises it or
 *   `require_proof_key_for_code_exchange` asks, `response_mode=form_post`
 *   when configured, `audience`, `max_age`, and the
 *   `authorization_query_args_*`. State, nonce, verifier and the URL to come
 *   back to go into the short-lived encrypted `authorization` cookie.
 * callback — on the protected URL itself (the redirect_uri): `state` must
 *   match the cookie (RFC 6749 §10.12); an `iss` parameter must be the issuer
 *   (RFC 9207 §2.4); the code is exchanged (with `code_verifier`), the ID
 *   token validated with the nonce; `code`, `state`, `session_state` and
 *   `iss` never reach the upstream.
 * second tab — a request without this flow's `state` while the cookie
 *   exists restarts the flow with the same state, nonce and verifier instead
 *   of failing (Kong: "it seems that user may have opened a second tab").
 */
import type { RequestContext } from '../../../core/context.ts';
import * as pdk from '../../../pdk/index.ts';
import type { ClientConfig } from '../clients.ts';
import { unauthorized } from '../errors.ts';
import { readBodyArgs, removeBodyArgs, removeQueryArgs } from '../extract.ts';
import { codeChallengeS256, codeVerifier, randomToken } from '../pkce.ts';
import type { Provider } from '../provider.ts';
import type { AuthorizationState } from '../session/index.ts';
import { IdpUnavailable } from '../http.ts';

export interface CodeFlowPlan {
  readonly scope: string;
  readonly audience: string | null;
  readonly responseMode: 'query' | 'form_post';
  /** true/false forces PKCE; null = when the IdP advertises S256. */
  readonly pkce: boolean | null;
  readonly maxAge: number | null;
  readonly extraArgs: ReadonlyArray<readonly [string, string]>;
  readonly clientArgs: readonly string[];
  readonly preserveQueryArgs: boolean;
  readonly verifyNonce: boolean;
  /** `redirect_api_callers` (Portcullis addition): false answers script callers 401 instead of a 302. */
  readonly redirectApiCallers: boolean;
}

export function compileCodeFlow(c: {
  scopes: string[] | null;
  audience: string[] | null;
  response_mode: string;
  require_proof_key_for_code_exchange: boolean | null;
  max_age: number | null;
  authorization_query_args_names: string[] | null;
  authorization_query_args_values: string[] | null;
  authorization_query_args_client: string[] | null;
  preserve_query_args: boolean;
  verify_nonce: boolean;
  redirect_api_callers: boolean;
}): CodeFlowPlan {
  const extra: Array<readonly [string, string]> = [];
  const n = c.authorization_query_args_names ?? [];
  const v = c.authorization_query_args_values ?? [];
  for (let i = 0; i < n.length && i < v.length; i++) extra.push([n[i]!, v[i]!] as const);
  return Object.freeze({
    scope: (c.scopes ?? ['openid']).join(' '),
    audience: c.audience !== null && c.audience.length > 0 ? c.audience.join(' ') : null,
    responseMode: c.response_mode === 'form_post' ? 'form_post' : 'query',
    pkce: c.require_proof_key_for_code_exchange,
    maxAge: c.max_age,
    extraArgs: Object.freeze(extra),
    clientArgs: Object.freeze([...(c.authorization_query_args_client ?? [])]),
    preserveQueryArgs: c.preserve_query_args,
    verifyNonce: c.verify_nonce,
    redirectApiCallers: c.redirect_api_callers,
  });
}

/**
 * Does this request come from script rather than a page navigation? A 302 to
 * the identity provider helps only a browser navigating: fetch/XHR would
 * follow it into a cross-origin login page it cannot show (a CORS failure).
 * Signals: `X-Requested-With` (jQuery, Angular, many SPA clients),
 * `Sec-Fetch-Mode: cors | same-origin` (Fetch Metadata: every browser fetch
 * and XHR; navigations say `navigate`), or an `Accept` that asks for JSON
 * and not HTML.
 */
export function isApiCaller(ctx: RequestContext): boolean {
  const xrw = pdk.request.getHeader(ctx, 'x-requested-with');
  if (xrw !== undefined && xrw !== '') return true;
  const mode = pdk.request.getHeader(ctx, 'sec-fetch-mode');
  if (mode === 'cors' || mode === 'same-origin') return true;
  const accept = (pdk.request.getHeader(ctx, 'accept') ?? '').toLowerCase();
  return accept.includes('json') && !accept.includes('text/html');
}

/** Extra authorization arguments: static ones plus those copied from the client's request. */
export function authorizationArgs(ctx: RequestContext, plan: CodeFlowPlan): Record<string, string> | null {
  let out: Record<string, string> | null = null;
  for (const [n, v] of plan.extraArgs) (out ??= {})[n] = v;
  for (const n of plan.clientArgs) {
    const v = pdk.request.getQueryArg(ctx, n);
    if (v !== null) (out ??= {})[n] = v;
  }
  return out;
}

/** A new flow's state (or the previous one's, for the second-tab restart). */
export function newAuthorizationState(
  ctx: RequestContext,
  plan: CodeFlowPlan,
  provider: Provider,
  client: ClientConfig,
  redirectUri: string,
  originalUrl: string,
  previous: AuthorizationState | null,
): AuthorizationState {
  const usePkce = plan.pkce ?? provider.pkceS256;
  return {
    state: previous?.state ?? randomToken(),
    nonce: previous?.nonce ?? randomToken(),
    code_verifier: usePkce ? (previous?.code_verifier ?? codeVerifier()) : null,
    client: client.index,
    redirect_uri: redirectUri,
    uri: originalUrl,
    uri_args: plan.preserveQueryArgs && ctx.query !== '' ? ctx.query : null,
    args: authorizationArgs(ctx, plan) ?? previous?.args ?? null,
  };
}

/** The authorization request URL (OIDC Core §3.1.2.1). */
export function authorizationUrl(plan: CodeFlowPlan, provider: Provider, client: ClientConfig, st: AuthorizationState): string {
  const endpoint = provider.endpoints.authorization;
  if (endpoint === null) throw new IdpUnavailable('discovery', 'the identity provider has no authorization endpoint');
  const url = new URL(endpoint);
  const p = url.searchParams;
  p.set('response_type', 'code');
  if (client.id !== null) p.set('client_id', client.id);
  p.set('redirect_uri', st.redirect_uri);
  p.set('scope', plan.scope);
  p.set('state', st.state);
  p.set('nonce', st.nonce);
  if (st.code_verifier !== null) {
    p.set('code_challenge', codeChallengeS256(st.code_verifier));
    p.set('code_challenge_method', 'S256');
  }
  if (plan.responseMode === 'form_post') p.set('response_mode', 'form_post');
  if (plan.audience !== null) p.set('audience', plan.audience);
  if (plan.maxAge !== null) p.set('max_age', String(plan.maxAge));
  if (st.args !== null) for (const [k, v] of Object.entries(st.args)) p.set(k, v);
  return url.toString();
}

/** The authorization response parameters (query, or the POSTed form with form_post). */
export interface CallbackParams {
  code: string | null;
  state: string | null;
  error: string | null;
  iss: string | null;
  fromBody: boolean;
}

export async function callbackParams(ctx: RequestContext): Promise<CallbackParams> {
  const q = pdk.request.getQuery(ctx);
  let code = q.get('code');
  let state = q.get('state');
  let error = q.get('error');
  let iss = q.get('iss');
  let fromBody = false;
  if (ctx.method === 'POST' && code === null && state === null && error === null) {
    const t = (pdk.request.getHeader(ctx, 'content-type') ?? '').toLowerCase();
    if (t.startsWith('application/x-www-form-urlencoded')) {
      const body = await readBodyArgs(ctx);
      if (body !== null) {
        const s = (k: string): string | null => (typeof body[k] === 'string' ? (body[k] as string) : null);
        code = s('code');
        state = s('state');
        error = s('error');
        iss = s('iss');
        fromBody = code !== null || state !== null || error !== null;
      }
    }
  }
  return { code, state, error, iss, fromBody };
}

/**
 * Validate the callback against the stored state. Returns the code; throws a
 * 401 Rejection when this is the flow's callback but it is not acceptable;
 * returns null when the request is not this flow's callback (→ restart).
 */
export function verifyCallback(params: CallbackParams, stored: AuthorizationState, provider: Provider): string | null {
  if (params.state === null || params.state !== stored.state) return null;
  if (params.error !== null) throw unauthorized(`authorization endpoint returned an error (${params.error})`);
  if (params.iss !== null && params.iss !== provider.issuer) throw unauthorized('authorization response issuer mismatch');
  if (params.code === null || params.code === '') throw unauthorized('authorization code was not found');
  return params.code;
}

/** Keep the authorization response parameters from the upstream (Kong clears code, state, session_state). */
export function stripCallbackParams(ctx: RequestContext, params: CallbackParams): void {
  const names = ['code', 'state', 'session_state', 'iss'];
  if (params.fromBody) removeBodyArgs(ctx, names);
  else removeQueryArgs(ctx, names);
}
