/**
 * The access phase, step by step as Kong's openid-connect handler runs it:
 *
 *   preflight? → already authenticated by another plugin (anonymous OR)?
 *   → sanitise identity and injected headers → session → logout?
 *   → discovery → authenticate → expiry / refresh → authorize
 *   → consumer → headers → session write → login action
 *
 * Every "no" is a Rejection answered by `deny` (401/403, or the anonymous
 * consumer, or a redirect); every "could not check" (IdP, JWKS, session
 * store) is a 500 logged once per burst — never a 200, never a 401.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { authorize } from './authorize.ts';
import { acceptGrantTokens, authenticate, reverify } from './authenticate.ts';
import { Attempt, decodeClaims } from './attempt.ts';
import { clientByArg, selectClient } from './clients.ts';
import type { CompiledOidc } from './compile.ts';
import { mapConsumer, mapConsumerGroups, sanitizeConsumerHeaders, setAnonymous, setIdentity, type ClaimSources } from './consumer.ts';
import { logNotice, noCache, realmOf, redirect, Rejection, sendRejection, sendUnexpected, TOKEN_EXPIRED_DESCRIPTION, unauthorized, Unexpected } from './errors.ts';
import { recordIdpFailure } from './failures.ts';
import { recordDecision, rejectionKind } from './metrics.ts';
import { loginAction } from './flows/login-action.ts';
import { isLogout, logoutLocation, mayBeLogout, revokeTokens } from './flows/logout.ts';
import { refreshGrant } from './flows/refresh.ts';
import { bindTokenEndpoint } from './flows/token-endpoint.ts';
import { injectHeaders, sanitizeHeaders } from './headers.ts';
import { IdpUnavailable } from './http.ts';
import { backchannelLogout, isBackchannelLogout } from './backchannel-logout.ts';
import { frontchannelLogout, isFrontchannelLogout } from './frontchannel-logout.ts';
import { checkPossession, checkSessionPossession } from './pop/index.ts';
import { providerNow, resolveProvider } from './provider.ts';
import { currentUrl } from './request-url.ts';

/** Plugin-state key (kong.ctx.plugin): what header_filter must add to the client's response. */
export const STATE_KEY = 'openid-connect';

export async function access(ctx: RequestContext, conf: CompiledOidc): Promise<void> {
  // Kong: run_on_preflight false lets CORS preflights through untouched.
  if (!conf.runOnPreflight && ctx.method === 'OPTIONS') return;
  // Kong: with `anonymous`, auth plugins are alternatives; someone already authenticated the caller.
  if (conf.consumer.anonymous !== null && ctx.credential !== null) return;

  sanitizeConsumerHeaders(ctx);
  sanitizeHeaders(ctx, conf.headers);
  conf.sessions.stripCookies(ctx);

  const a = new Attempt(ctx, conf, selectClient(ctx, conf.clients));
  pdk.setPluginState(ctx, STATE_KEY, a);
  try {
    const done = await run(a);
    if (done === 'proxy') recordDecision(ctx, 'allow', 0, a.method ?? 'unknown');
    else recordDecision(ctx, done === 'logout' || done === 'backchannel_logout' || done === 'frontchannel_logout' ? 'logout' : 'redirect', ctx.exitStatus, done);
  } catch (err) {
    await fail(a, err);
  }
}

/** How a request that passed every check ended: proxied, or answered on the way (a login redirect, a logout). */
type Passed = 'proxy' | 'logout' | 'backchannel_logout' | 'frontchannel_logout' | 'authorization_code' | 'login_action';

async function run(a: Attempt): Promise<Passed> {
  const { ctx, conf } = a;

  if (conf.backchannel !== null && isBackchannelLogout(ctx, conf.backchannel)) {
    await backchannelLogout(ctx, { plan: conf.backchannel, issuer: conf.issuer, jwt: conf.jwt, clients: conf.clients, sessions: conf.sessions }, conf.log);
    return 'backchannel_logout';
  }
  if (conf.frontchannel !== null && isFrontchannelLogout(ctx, conf.frontchannel)) {
    a.addCookies(await frontchannelLogout(ctx, { plan: conf.frontchannel, issuer: conf.issuer, sessions: conf.sessions }, conf.log));
    return 'frontchannel_logout';
  }

  if (conf.methods.session) {
    a.session = await conf.sessions.open(ctx);
    if (a.session.present && a.session.data !== null) {
      a.client = clientByArg(conf.clients, String(a.session.data.client)) ?? a.client;
    } else if (a.session.error !== null) {
      conf.log.debug(`[openid-connect] session was not found (${a.session.error})`);
    }
  }

  if (mayBeLogout(ctx, conf.logout) && (await isLogout(ctx, conf.logout))) {
    await logout(a);
    return 'logout';
  }

  a.provider = providerNow(conf.issuer) ?? (await resolveProvider(conf.issuer));
  a.realm = realmOf(a.provider.issuer);

  if ((await authenticate(a)) === 'answered') return 'authorization_code';

  if (conf.pop !== null && a.method !== null && conf.pop.methods.has(a.method)) {
    a.boundX5t = await checkPossession(ctx, conf.pop, { token: a.tokens!.access_token, claims: a.introspection ?? a.accessClaims, viaDpopScheme: a.viaDpopScheme, url: currentUrl(ctx, conf.trusted) });
  } else if (a.method === 'session') {
    a.boundX5t = a.session?.data?.x5t ?? null;
    if (conf.pop !== null) checkSessionPossession(ctx, conf.pop, a.boundX5t);
  }

  const refreshed = await checkExpiry(a);
  if (!refreshed && a.method === 'session' && conf.expiry.reverify) await reverify(a);
  checkJwtSessionCookie(a);

  // Authorization: opaque tokens without introspection data are introspected to read their claims (Kong).
  if (conf.authz.requirements.length > 0 && a.introspection === null && a.accessClaims === null && conf.methods.introspection) {
    await a.optionalIntrospection();
  }
  const denied = authorize(conf.authz, a.introspection, a.accessClaims);
  if (denied !== null) throw denied;

  const sources: ClaimSources = {
    introspection: a.introspection,
    idToken: a.idClaims,
    accessToken: a.accessClaims,
    userinfo: () => a.optionalUserinfo(),
  };
  const consumer = conf.consumer.claims.length === 0 ? null : await mapConsumer(ctx, conf.consumer, sources);
  await setIdentity(ctx, conf.consumer, consumer, sources);
  await mapConsumerGroups(ctx, conf.consumer, sources);

  if (conf.headers.needsIntrospection) await a.optionalIntrospection();
  if (conf.headers.needsUserinfo || conf.headers.upstreamClaims.length > 0 || conf.headers.downstreamClaims.length > 0) {
    if (conf.consumer.searchUserinfo || conf.headers.needsUserinfo) await a.optionalUserinfo();
  }

  if (conf.methods.session && a.session !== null) await writeSession(a, consumer);

  const t = a.tokens!;
  injectHeaders(ctx, conf.headers, {
    accessToken: t.access_token,
    idToken: t.id_token ?? null,
    refreshToken: t.refresh_token ?? null,
    accessClaims: a.accessClaims,
    idClaims: a.idClaims,
    introspection: a.introspection,
    userinfo: a.userinfo,
    accessTokenJwk: a.accessJwk,
    idTokenJwk: a.idJwk,
    sessionId: a.session?.id ?? null,
  }, a);
  if (a.replay !== null) for (const [k, v] of Object.entries(a.replay)) a.addDownstream(k, v);
  ctx.shared.authenticated_oidc_method = a.method;

  if (loginAction(a)) return 'login_action';
  if (a.preservedArgs !== null) pdk.serviceRequest.setRawQuery(ctx, a.preservedArgs);
  return 'proxy';
}

/**
 * Kong's expiry logic: with a refresh token (and refresh_tokens) the token is
 * refreshed `leeway` seconds early; without, `leeway` is tolerance. A failed
 * refresh of a token that has not actually expired yet lets the request
 * through on the current token (Kong FTI-2999).
 */
async function checkExpiry(a: Attempt): Promise<boolean> {
  const { conf } = a;
  const t = a.tokens;
  if (t === null || t.access_token === '') throw unauthorized('access token was not found');
  const exp = a.exp;
  if (exp === 0) return false;
  const now = Math.floor(Date.now() / 1000);
  const leeway = conf.expiry.leewaySec;
  const canRefresh = conf.expiry.refreshTokens && t.refresh_token !== undefined;
  const adjusted = leeway === 0 ? exp : canRefresh ? exp - leeway : exp + leeway;
  if (adjusted > now) return false;

  if (!conf.expiry.refreshTokens) throw unauthorized('access token has expired and refreshing of tokens was disabled', TOKEN_EXPIRED_DESCRIPTION);
  if (t.refresh_token === undefined) throw unauthorized('access token cannot be refreshed in absence of refresh token', TOKEN_EXPIRED_DESCRIPTION);

  const stillValid = exp > now;
  let refreshed;
  try {
    // The previous ID token is not merged in yet: only what the IdP just issued is verified (Kong order).
    refreshed = await refreshGrant(a.ctx, bindTokenEndpoint(conf.tokenEndpoint, a.provided, a.client), t.refresh_token, null, false);
  } catch (err) {
    if (stillValid && (err instanceof Rejection || err instanceof IdpUnavailable)) {
      conf.log.debug('[openid-connect] continuing request processing with non-expired access token despite the token refresh failure');
      a.proxyDespiteRefreshFailure = true;
      return false;
    }
    if (err instanceof Rejection) throw unauthorized(`unable to refresh access token using refresh token (${err.reason})`, TOKEN_EXPIRED_DESCRIPTION);
    throw err;
  }
  const preservedIdToken = refreshed.id_token === undefined ? t.id_token : undefined;
  await acceptGrantTokens(a, refreshed, a.method!, null);
  if (preservedIdToken !== undefined) {
    a.tokens!.id_token = preservedIdToken;
    a.idClaims = decodeClaims(preservedIdToken);
  }
  if (a.session !== null && a.session.present) a.sessionRegenerate = true;
  return true;
}

/** `jwt_session_cookie`: the access token's `jwt_session_claim` must equal that cookie's value. */
function checkJwtSessionCookie(a: Attempt): void {
  const name = a.conf.expiry.jwtSessionCookie;
  if (name === null || a.accessClaims === null) return;
  const cookie = pdk.request.getCookie(a.ctx, name);
  if (cookie === null) throw unauthorized('jwt session cookie was not specified for session claim verification');
  const claim = a.conf.expiry.jwtSessionClaim;
  const value = a.accessClaims[claim];
  if (value === undefined || value === null) throw unauthorized(`jwt session claim (${claim}) was not specified in jwt access token`);
  if (String(value) !== cookie) throw unauthorized(`invalid jwt session claim (${claim}) was specified in jwt access token`);
}

/** Save a new or refreshed session, or extend an unchanged one (Kong's session block). */
async function writeSession(a: Attempt, consumer: { id: string; username: string | null; custom_id: string | null } | null): Promise<void> {
  const { ctx, conf } = a;
  if (!conf.methods.session || a.session === null) return;
  if (a.method !== null && conf.methods.noSessionFor.has(a.method)) return;
  if (a.proxyDespiteRefreshFailure) return;
  if (a.sessionModified || a.sessionRegenerate) {
    let subject: string | null = null;
    if (consumer !== null) subject = consumer.username ?? consumer.custom_id ?? consumer.id;
    else if (ctx.credential !== null) subject = ctx.credential.id;
    const idp = a.idClaims ?? a.accessClaims;
    const identity = idp === null ? null : { sid: typeof idp.sid === 'string' ? idp.sid : null, sub: typeof idp.sub === 'string' ? idp.sub : null };
    const saved = await conf.sessions.save(ctx, a.session, { client: a.client.index, tokens: a.tokens!, expires: a.exp, ...(a.boundX5t !== null ? { x5t: a.boundX5t } : {}) }, subject, identity);
    a.session = saved.handle;
    a.addCookies(saved.cookies);
  } else if (a.session.present) {
    a.addCookies(await conf.sessions.touch(ctx, a.session));
  }
}

async function logout(a: Attempt): Promise<void> {
  const { ctx, conf } = a;
  const data = a.session?.present ? a.session.data : null;
  let provider = null;
  try {
    provider = await resolveProvider(conf.issuer);
  } catch (err) {
    // Logout must not depend on the IdP: the gateway session goes regardless.
    if (err instanceof IdpUnavailable) recordIdpFailure(conf.log, conf.issuer.configured, err);
    else throw err;
  }
  if (data !== null && provider !== null) await revokeTokens(conf.log, conf.logout, conf.clients, a.client, provider, conf.http, data.tokens);
  if (a.session !== null && a.session.present) a.addCookies(await conf.sessions.destroy(ctx, a.session));
  const endSession = conf.issuer.overrides.end_session_endpoint ?? provider?.endpoints.endSession ?? null;
  const location = logoutLocation(endSession, a.client, data?.tokens.id_token);
  if (location !== null) redirect(ctx, location);
  else {
    noCache(ctx);
    pdk.response.exit(ctx, 204);
  }
}

/** Turn a failure into Kong's answer. */
async function fail(a: Attempt, err: unknown): Promise<void> {
  const { ctx, conf } = a;
  if (err instanceof Rejection) {
    logNotice(conf.log, err.reason, { request_id: ctx.id });
    ctx.errorCode = err.code;
    const destroy = err.status === 401 ? conf.errors.unauthorizedDestroySession : conf.errors.forbiddenDestroySession;
    if (destroy && a.session !== null && a.session.present) {
      try {
        a.addCookies(await conf.sessions.destroy(ctx, a.session));
      } catch (e) {
        conf.log.error({ err: e }, '[openid-connect] unable to destroy session');
      }
    }
    if (conf.consumer.anonymous !== null) {
      try {
        setAnonymous(ctx, conf.consumer.anonymous);
      } catch (e) {
        await fail(a, e);
        return;
      }
      recordDecision(ctx, 'anonymous', 0, rejectionKind(err));
      return;
    }
    const redirectUri = err.status === 401 ? a.client.unauthorizedRedirectUri : a.client.forbiddenRedirectUri;
    sendRejection(ctx, conf.errors, a.realm, err, redirectUri);
    recordDecision(ctx, 'deny', ctx.exitStatus, rejectionKind(err));
    return;
  }
  ctx.errorCode = 'INTERNAL'; // the cause (IDP_UNAVAILABLE, OIDC_UNEXPECTED, SESSION_STORE_UNAVAILABLE) is logged
  if (err instanceof IdpUnavailable) {
    recordIdpFailure(conf.log, a.provider?.issuer ?? conf.issuer.configured, err);
    sendUnexpected(ctx, conf.errors, err.message, a.client.unexpectedRedirectUri);
    recordDecision(ctx, 'error', ctx.exitStatus, 'idp_unavailable');
    return;
  }
  if (err instanceof Unexpected || (err instanceof Error && err.name === 'SessionStoreError')) {
    conf.log.error({ request_id: ctx.id, cause: (err as Error & { code?: string }).code }, `[openid-connect] ${(err as Error).message}`);
    sendUnexpected(ctx, conf.errors, (err as Error).message, a.client.unexpectedRedirectUri);
    recordDecision(ctx, 'error', ctx.exitStatus, err instanceof Unexpected ? 'unexpected' : 'session_store');
    return;
  }
  recordDecision(ctx, 'error', 500, 'unexpected');
  throw err;
}

/** header_filter: session cookies and downstream headers go onto whatever response is sent. */
export function headerFilter(ctx: RequestContext): void {
  const a = pdk.pluginState<Attempt>(ctx, STATE_KEY);
  if (a === undefined) return;
  const cookies = a.responseCookies;
  const extra = a.downstream;
  if (cookies === null && extra === null) return;
  const target = ctx.upstreamResponseHeaders !== null && ctx.exitStatus === 0 ? (ctx.upstreamResponseHeaders as Record<string, string | string[] | undefined>) : null;
  if (cookies !== null) {
    if (target !== null) {
      const cur = target['set-cookie'];
      target['set-cookie'] = cur === undefined ? [...cookies] : Array.isArray(cur) ? [...cur, ...cookies] : [cur, ...cookies];
    } else {
      const exitCookies = ctx.exitHeaders?.['set-cookie'];
      const base = exitCookies === undefined ? [] : Array.isArray(exitCookies) ? exitCookies : [exitCookies];
      pdk.response.setHeader(ctx, 'set-cookie', [...base, ...cookies]);
    }
  }
  if (extra !== null) {
    for (const [k, v] of extra) {
      if (target !== null) {
        const cur = target[k];
        target[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
      } else pdk.response.addHeader(ctx, k, v);
    }
  }
}

