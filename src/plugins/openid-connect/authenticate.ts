/**
 * Authentication, in Kong's fixed order (the logout check has already run):
 *
 *   session → bearer (→ introspection → userinfo) → refresh_token
 *     → password / client_credentials → authorization_code
 *
 * The first credential found decides: a bearer token that fails is a 401,
 * it never falls back to a login redirect (an API client must not get HTML).
 * Within bearer: a verifiable JWT is checked locally; a token that is not
 * (opaque, or a JWT we cannot verify) goes to introspection, then userinfo,
 * when those methods are enabled.
 * Nothing found: the code flow starts (redirect) when enabled, else 401
 * "no suitable authorization credentials were provided".
 */
import type { Attempt } from './attempt.ts';
import { claimsOfIntrospected, claimsOfStoredTokens, decodeClaims } from './attempt.ts';
import { clientByArg, type ClientConfig } from './clients.ts';
import type { AuthorizationState } from './session/index.ts';
import { redirect, Rejection, unauthorized } from './errors.ts';
import { assertSingleAuthorization, findBearer, findCredentials, findParam, hideCredentials, hideFound } from './extract.ts';
import { authorizationUrl, callbackParams, isApiCaller, newAuthorizationState, stripCallbackParams, verifyCallback } from './flows/authorization-code.ts';
import { clientCredentialsGrant } from './flows/client-credentials.ts';
import { passwordGrant } from './flows/password.ts';
import { refreshGrant } from './flows/refresh.ts';
import { bindTokenEndpoint, requestTokens, type TokenSet } from './flows/token-endpoint.ts';
import { pushAuthorizationRequest, usePar } from './flows/par.ts';
import { checkTimes, conditionsHold, exchangeToken, verifySubjectToken, type TokenExchangePlan } from './flows/token-exchange.ts';
import { currentUrl } from './request-url.ts';
import type { AuthMethod } from './schema.ts';
import { verifyIdToken } from './validate/id-token.ts';
import { introspect } from './validate/introspection.ts';
import { cachedJwt, looksLikeJwt, verifyJwt } from './validate/jwt.ts';
import { loadUserinfo } from './validate/userinfo.ts';

/** Outcome: authenticated (fields set on the attempt) or the response was already decided (redirect). */
export type AuthOutcome = 'authenticated' | 'answered';

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** Kong's claims.exp: the access token's exp, else now + expires_in, else now + cache_ttl (0 = never). */
function expiryOf(a: Attempt, claims: Record<string, unknown> | null, expiresAt: number | null): number {
  if (claims !== null && typeof claims.exp === 'number') return claims.exp;
  if (expiresAt !== null) return expiresAt;
  const ttl = a.conf.caches.defaultTtlMs;
  return ttl > 0 ? nowSec() + Math.floor(ttl / 1000) : 0;
}

export async function authenticate(a: Attempt): Promise<AuthOutcome> {
  const { ctx, conf } = a;
  const m = conf.methods;

  // 1. session
  if (a.session !== null && a.session.present && a.session.data !== null) {
    const data = a.session.data;
    a.method = 'session';
    a.tokens = data.tokens;
    a.exp = typeof data.expires === 'number' ? data.expires : expiryOf(a, null, null);
    const claims = claimsOfStoredTokens(data.tokens);
    a.accessClaims = claims.access;
    a.idClaims = claims.id;
    return 'authenticated';
  }

  assertSingleAuthorization(ctx);

  // 2. bearer (with introspection / userinfo for tokens that are not verifiable JWTs)
  if (m.bearer || m.introspection || m.userinfo || m.enabled.has('kong_oauth2')) {
    const found = await findBearer(ctx, conf.extract);
    if (found !== null) {
      if (conf.hideCredentials) hideFound(ctx, found);
      a.tokens = { access_token: found.value };
      a.viaDpopScheme = found.dpop === true;
      if (conf.extract.idTokenParam !== null) {
        const id = await findParam(ctx, conf.extract, conf.extract.idTokenParam, conf.extract.idToken);
        if (id !== null) {
          if (conf.hideCredentials) hideFound(ctx, id);
          a.tokens.id_token = id.value;
        }
      }
      await authenticateBearer(a, found.value);
      a.sessionModified = true;
      return 'authenticated';
    }
  }

  // 3. refresh token presented by the caller
  if (m.refreshToken && conf.extract.refreshParam !== null) {
    const found = await findParam(ctx, conf.extract, conf.extract.refreshParam, conf.extract.refresh);
    if (found !== null) {
      if (conf.hideCredentials) hideFound(ctx, found);
      const tokens = await refreshGrant(ctx, bindTokenEndpoint(conf.tokenEndpoint, a.provided, a.client), found.value, null, conf.caches.tokens);
      await acceptGrantTokens(a, tokens, 'refresh_token', null);
      return 'authenticated';
    }
  }

  // 4. password and client credentials (Kong tries the password grant first when both are present)
  if (m.password || m.clientCredentials) {
    const pw = m.password ? await findCredentials(ctx, conf.extract, 'password') : null;
    const cc = m.clientCredentials ? await findCredentials(ctx, conf.extract, 'client_credentials') : null;
    if (pw !== null || cc !== null) {
      if (conf.hideCredentials) {
        if (pw !== null) hideCredentials(ctx, pw, 'password');
        if (cc !== null) hideCredentials(ctx, cc, 'client_credentials');
      }
      let last: unknown = null;
      if (pw !== null) {
        try {
          const tokens = await passwordGrant(ctx, bindTokenEndpoint(conf.tokenEndpoint, a.provided, a.client), pw.id, pw.secret);
          await acceptGrantTokens(a, tokens, 'password', null);
          return 'authenticated';
        } catch (err) {
          if (!(err instanceof Rejection) || cc === null) throw err;
          last = err;
        }
      }
      if (cc !== null) {
        const tokens = await clientCredentialsGrant(ctx, bindTokenEndpoint(conf.tokenEndpoint, a.provided, a.client), cc.id, cc.secret);
        await acceptGrantTokens(a, tokens, 'client_credentials', null);
        return 'authenticated';
      }
      throw last;
    }
  }

  // 5. authorization code flow
  if (m.authorizationCode) return authorizationCode(a);

  throw unauthorized('no suitable authorization credentials were provided');
}

/** Bearer: local JWT verification, else introspection, else userinfo (those enabled). */
async function authenticateBearer(a: Attempt, token: string): Promise<void> {
  const { conf } = a;
  const m = conf.methods;
  const provider = a.provided;
  const fallback = m.introspection || m.userinfo;
  let rejection: Rejection | null = null;

  if (conf.tokenExchange !== null && looksLikeJwt(token) && (await exchangeBearer(a, token, conf.tokenExchange))) return;

  if (m.bearer) {
    // The verified-token cache first: a hit skips the header decode and the signature check.
    const hit = cachedJwt(token, conf.jwt, provider);
    if (hit !== null) {
      a.accessClaims = hit.payload as Record<string, unknown>;
      a.accessJwk = hit.jwk;
      a.method = 'bearer';
    } else if (looksLikeJwt(token)) {
      try {
        const v = await verifyJwt(token, conf.jwt, provider, conf.caches);
        a.accessClaims = v.payload as Record<string, unknown>;
        a.accessJwk = v.jwk;
        a.method = 'bearer';
      } catch (err) {
        if (!(err instanceof Rejection) || !fallback) throw err;
        conf.log.debug(`[openid-connect] unable to verify bearer token (${err.reason}), trying to introspect it`);
        rejection = err;
      }
    } else if (!fallback) {
      throw unauthorized('invalid jwt token');
    }
  }

  if (a.method === 'bearer') {
    if (conf.expiry.introspectJwt) {
      try {
        a.introspection = await introspect(a.ctx, conf.introspection, conf.clients, a.client, provider, conf.http, conf.caches, token);
      } catch (err) {
        if (err instanceof Rejection) throw unauthorized('jwt bearer token is not active anymore or has been revoked');
        throw err;
      }
      a.introspected = true;
    }
    if (a.tokens!.id_token !== undefined) await verifyPresentedIdToken(a, a.tokens!.id_token);
    a.exp = expiryOf(a, a.introspection ?? a.accessClaims, null);
    return;
  }

  if (m.introspection) {
    a.introspection = await introspect(a.ctx, conf.introspection, conf.clients, a.client, provider, conf.http, conf.caches, token);
    a.introspected = true;
    a.method = 'introspection';
    a.accessClaims = claimsOfIntrospected(a.introspection, token);
  } else if (m.userinfo) {
    const exp = decodeClaims(token)?.exp;
    a.userinfo = await loadUserinfo(a.ctx, conf.userinfo, provider, conf.http, conf.caches, token, typeof exp === 'number' ? exp : null);
    a.userinfoLoaded = true;
    a.method = 'userinfo';
    a.accessClaims = decodeClaims(token);
  } else {
    throw rejection ?? unauthorized('invalid jwt token');
  }
  if (a.tokens!.id_token !== undefined) await verifyPresentedIdToken(a, a.tokens!.id_token);
  a.exp = expiryOf(a, a.introspection ?? a.accessClaims, null);
}

/**
 * Token exchange (flows/token-exchange.ts): true when the bearer token was
 * exchanged and the attempt now carries the exchanged token; false when this
 * token is not one to exchange (the normal bearer path follows).
 */
async function exchangeBearer(a: Attempt, token: string, plan: TokenExchangePlan): Promise<boolean> {
  const { conf } = a;
  const provider = a.provided;
  const claims = decodeClaims(token);
  const iss = claims !== null && typeof claims.iss === 'string' ? claims.iss : null;
  if (iss === null || !plan.issuers.has(iss)) return false;
  let subject: Record<string, unknown>;
  if (iss === provider.issuer) {
    // Our own issuer's token: verified first, exchanged only when the conditions hold.
    const v = cachedJwt(token, conf.jwt, provider) ?? (await verifyJwt(token, conf.jwt, provider, conf.caches));
    subject = v.payload as Record<string, unknown>;
    if (!conditionsHold(plan.issuers.get(iss)!, subject)) return false;
  } else {
    const v = plan.verify.get(iss);
    if (v !== undefined) {
      subject = await verifySubjectToken(token, v);
    } else {
      subject = claims!;
      checkTimes(subject, conf.jwt.leewaySec);
    }
  }
  const exchanged = await exchangeToken(a.ctx, bindTokenEndpoint(conf.tokenEndpoint, provider, a.client), plan, token, typeof subject.exp === 'number' ? subject.exp : null);
  // The exchanged token is the one the upstream sees: it must be a token of config.issuer.
  if (looksLikeJwt(exchanged.access_token)) {
    const v = cachedJwt(exchanged.access_token, conf.jwt, provider) ?? (await verifyJwt(exchanged.access_token, conf.jwt, provider, conf.caches));
    a.accessClaims = v.payload as Record<string, unknown>;
    a.accessJwk = v.jwk;
  } else {
    a.accessClaims = null;
  }
  a.tokens = { access_token: exchanged.access_token };
  a.method = 'bearer';
  a.exp = expiryOf(a, a.accessClaims, exchanged.expiresAt);
  conf.log.debug('[openid-connect] bearer token exchanged (RFC 8693)');
  return true;
}

/** An ID token sent next to a bearer token (`id_token_param_name`) is verified too. */
async function verifyPresentedIdToken(a: Attempt, idToken: string): Promise<void> {
  const v = await verifyIdToken(idToken, a.conf.jwt, a.provided, { clientId: a.client.id, nonce: null, maxAgeSec: a.conf.idToken.maxAgeSec, domains: a.conf.idToken.domains, leewaySec: a.conf.jwt.leewaySec }, a.conf.caches);
  a.idClaims = v.payload as Record<string, unknown>;
  a.idJwk = v.jwk;
}

/**
 * Tokens from the token endpoint: the ID token is validated (nonce for the
 * code flow), a JWT access token is verified like a bearer token.
 */
export async function acceptGrantTokens(a: Attempt, tokens: TokenSet, method: AuthMethod, nonce: string | null): Promise<void> {
  const { conf } = a;
  const provider = a.provided;
  if (tokens.id_token !== undefined) {
    const v = await verifyIdToken(tokens.id_token, conf.jwt, provider, { clientId: a.client.id, nonce, maxAgeSec: conf.idToken.maxAgeSec, domains: conf.idToken.domains, leewaySec: conf.jwt.leewaySec }, null);
    a.idClaims = v.payload as Record<string, unknown>;
    a.idJwk = v.jwk;
  }
  if (looksLikeJwt(tokens.access_token)) {
    const v = await verifyJwt(tokens.access_token, conf.jwt, provider, conf.caches);
    a.accessClaims = v.payload as Record<string, unknown>;
    a.accessJwk = v.jwk;
  }
  a.tokens = { access_token: tokens.access_token };
  if (tokens.id_token !== undefined) a.tokens.id_token = tokens.id_token;
  if (tokens.refresh_token !== undefined) a.tokens.refresh_token = tokens.refresh_token;
  if (tokens.token_type !== undefined) a.tokens.token_type = tokens.token_type;
  if (tokens.expires_in !== undefined) a.tokens.expires_in = tokens.expires_in;
  if (tokens.scope !== undefined) a.tokens.scope = tokens.scope;
  a.tokenResponse = tokens.raw;
  a.replay = tokens.replay;
  a.method = method;
  a.exp = expiryOf(a, a.accessClaims, tokens.expiresAt);
  a.sessionModified = true;
}

/** `reverify`: session tokens are verified again on every request (once known not to be expired). */
export async function reverify(a: Attempt): Promise<void> {
  const t = a.tokens!;
  if (looksLikeJwt(t.access_token)) {
    const v = await verifyJwt(t.access_token, a.conf.jwt, a.provided, a.conf.caches);
    a.accessClaims = v.payload as Record<string, unknown>;
    a.accessJwk = v.jwk;
  }
}

/** Where to send the browser: the authorization request itself, or its pushed `request_uri` (RFC 9126). */
async function authorizationLocation(a: Attempt, client: ClientConfig, st: AuthorizationState): Promise<string> {
  const url = authorizationUrl(a.conf.codeFlow, a.provided, client, st);
  return usePar(a.conf.tokenEndpoint, a.provided) ? pushAuthorizationRequest(a.conf.tokenEndpoint, a.provided, client, url) : url;
}

/** `redirect_api_callers: false`: script callers get a 401 challenge, not a redirect they cannot follow. */
function refuseApiCaller(a: Attempt): void {
  if (!a.conf.codeFlow.redirectApiCallers && isApiCaller(a.ctx)) {
    throw unauthorized('no session: a script (XHR/fetch) caller is not redirected to the identity provider');
  }
}

/** The code flow: callback, second-tab restart, or a fresh start. */
async function authorizationCode(a: Attempt): Promise<AuthOutcome> {
  const { ctx, conf } = a;
  const provider = a.provided;
  const stored = await conf.sessions.openAuthorization(ctx);
  if (stored !== null) {
    const params = await callbackParams(ctx);
    const code = verifyCallback(params, stored, provider);
    if (code === null) {
      // Not this flow's callback (no or another state): restart with the same parameters.
      refuseApiCaller(a);
      const client = clientByArg(conf.clients, String(stored.client)) ?? a.client;
      const st = newAuthorizationState(ctx, conf.codeFlow, provider, client, stored.redirect_uri, stored.uri, stored);
      const location = await authorizationLocation(a, client, st);
      a.addCookies(await conf.sessions.saveAuthorization(ctx, st));
      redirect(ctx, location);
      return 'answered';
    }
    const client = clientByArg(conf.clients, String(stored.client)) ?? a.client;
    a.client = client;
    a.addCookies(conf.sessions.clearAuthorization(ctx));
    stripCallbackParams(ctx, params);
    const params2: Record<string, string> = { code, redirect_uri: stored.redirect_uri };
    if (stored.code_verifier !== null) params2.code_verifier = stored.code_verifier;
    const tokens = await requestTokens(ctx, bindTokenEndpoint(conf.tokenEndpoint, provider, client), { grant: 'authorization_code', params: params2, cacheable: false });
    if (tokens.id_token === undefined && conf.codeFlow.scope.split(' ').includes('openid')) {
      throw unauthorized('id token was not returned by the token endpoint');
    }
    await acceptGrantTokens(a, tokens, 'authorization_code', conf.codeFlow.verifyNonce ? stored.nonce : null);
    a.dynamicLoginUri = stored.uri;
    if (conf.codeFlow.preserveQueryArgs) a.preservedArgs = stored.uri_args;
    return 'authenticated';
  }

  // A browser without credentials: send it to the IdP (script callers may get a 401 instead).
  refuseApiCaller(a);
  const redirectUri = a.client.redirectUri ?? currentUrl(ctx, conf.trusted);
  const original = currentUrl(ctx, conf.trusted) + (ctx.query !== '' ? `?${ctx.query}` : '');
  const st = newAuthorizationState(ctx, conf.codeFlow, provider, a.client, redirectUri, original, null);
  const location = await authorizationLocation(a, a.client, st);
  a.addCookies(await conf.sessions.saveAuthorization(ctx, st));
  redirect(ctx, location);
  return 'answered';
}
