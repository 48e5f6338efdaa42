/**
 * Builds the oidc-provider instance behind the demo IdP.
 *
 * A Provider's keystore is fixed at construction, so a key rotation builds a
 * new Provider over the same adapter storage and cookie keys: sessions, grants,
 * refresh tokens and interactions survive, only the published JWKS changes.
 *
 * Endpoints use Keycloak's paths under the issuer `<origin>/realms/<realm>`
 * (`/protocol/openid-connect/token`, `/certs`, …) so anything copied from a
 * Keycloak walkthrough works unchanged.
 */
import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Provider, Account, BaseTokenInstance, KoaContext } from 'oidc-provider';
import type { Logger } from 'pino';
import type { KeyRing } from './keys.ts';
import type { AccessTokenMinter } from './access-tokens.ts';
import { keycloakAccessTokenClaims, userClaims, tokenScope, KNOWN_SCOPES, SCOPE_CLAIMS, type Realm } from './realm.ts';
import { passwordGrantHandler, PASSWORD_GRANT_PARAMS } from './password-grant.ts';
import { tokenExchangeHandler, TOKEN_EXCHANGE_DUPES, TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_PARAMS } from './token-exchange-grant.ts';

/** Keycloak's endpoint paths, relative to the issuer. */
export const ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  introspection: '/protocol/openid-connect/token/introspect',
  revocation: '/protocol/openid-connect/revoke',
  userinfo: '/protocol/openid-connect/userinfo',
  end_session: '/protocol/openid-connect/logout',
  jwks: '/protocol/openid-connect/certs',
  pushed_authorization_request: '/protocol/openid-connect/ext/par/request',
} as const;

/** Where the login page lives, relative to the issuer. */
export const INTERACTION_BASE = '/login-actions/authenticate';

export interface ProviderDeps {
  issuer: string;
  realm: Realm;
  keys: KeyRing;
  minter: AccessTokenMinter;
  adapter: (model: string) => unknown;
  cookieKeys: string[];
  clients: Record<string, unknown>[];
  accessTokenTtl: number;
  log: Logger | undefined;
  /** Returns the live provider (the one built last). */
  current: () => Provider;
  /** Claims forced onto a token by `issueAccessToken` (merged over the computed ones). */
  claimOverrides: WeakMap<object, Record<string, unknown>>;
  /** Every client must push its authorization requests (RFC 9126 §5). */
  requirePar: boolean;
}

const LOOPBACK_HTTP = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?\//;

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

function isLoopbackHttp(uri: string): boolean {
  try {
    const u = new URL(uri);
    return u.protocol === 'http:' && LOOPBACK_HTTP.test(u.href) && u.hash === '';
  } catch {
    return false;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function html(ctx: KoaContext, title: string, body: string): void {
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
}

/** The Keycloak-shaped claims oidc-provider stores with every access token. */
function extraClaims(deps: ProviderDeps, token: BaseTokenInstance): Record<string, unknown> | undefined {
  if (token.kind !== 'AccessToken' && token.kind !== 'ClientCredentials') return undefined;
  const user = token.accountId === undefined ? undefined : deps.realm.findById(token.accountId);
  const claims = keycloakAccessTokenClaims({
    clientId: token.clientId,
    scope: token.scope,
    user,
    // oidc-provider keeps `sid` only for clients with front/back-channel
    // logout; the session's uid identifies the same login session.
    sid: token.sid ?? token.sessionUid,
    sub: token.accountId,
  });
  // Sender-constrained tokens: the DPoP key's thumbprint (RFC 9449 §6) and/or the TLS client certificate's
  // (RFC 8705 §3.1) as the confirmation claim.
  const { jkt, 'x5t#S256': x5t } = token as BaseTokenInstance & { jkt?: string; 'x5t#S256'?: string };
  const cnf: Record<string, string> = {};
  if (typeof jkt === 'string') cnf.jkt = jkt;
  if (typeof x5t === 'string') cnf['x5t#S256'] = x5t;
  const bound: Record<string, unknown> = Object.keys(cnf).length > 0 ? { ...claims, cnf } : claims;
  const forced = deps.claimOverrides.get(token);
  return forced === undefined ? bound : { ...bound, ...forced };
}

export function buildProvider(mod: typeof import('oidc-provider'), deps: ProviderDeps): Provider {
  const { realm } = deps;
  const configuration = {
    adapter: deps.adapter,
    clients: deps.clients,
    jwks: deps.keys.privateJwks(),
    cookies: { keys: deps.cookieKeys },
    routes: ROUTES,
    responseTypes: ['code', 'none'],
    scopes: [...KNOWN_SCOPES],
    claims: SCOPE_CLAIMS,
    // Keycloak puts profile/email claims in ID tokens for the code flow too.
    conformIdTokenClaims: false,
    pkce: { required: (_ctx: KoaContext, client: { clientAuthMethod: string }) => client.clientAuthMethod === 'none' },
    // oidc-provider's outgoing requests (back-channel logout) refuse special-use addresses (SSRF guard);
    // the demo IdP and the gateways it calls back all live on loopback, so loopback targets go without it.
    fetch: (url: URL | string, options: RequestInit & { dispatcher?: unknown }) => {
      if (LOOPBACK_NAMES.has(new URL(String(url)).hostname)) delete options.dispatcher;
      return fetch(url, options);
    },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: KoaContext, client: { clientId: string }, token: { clientId: string }) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      clientCredentials: { enabled: true },
      // DPoP-bound access tokens when the client sends a proof to the token endpoint (RFC 9449).
      dPoP: { enabled: true },
      // Certificate-bound tokens (RFC 8705 §3) for clients registered with tls_client_certificate_bound_access_tokens,
      // over the mutual-TLS listener (StartIdpOptions.mtlsPort); the certificate is the one of the connection.
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        getCertificate: (ctx: KoaContext) => (ctx.req.socket as Partial<TLSSocket>).getPeerX509Certificate?.(),
      },
      // Back-channel logout to clients registered with a backchannel_logout_uri (OIDC Back-Channel Logout 1.0).
      backchannelLogout: { enabled: true },
      // RFC 9126, at Keycloak's path; required only for clients registered with require_pushed_authorization_requests.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: deps.requirePar },
      rpInitiatedLogout: {
        enabled: true,
        // Keycloak logs out without asking when the request is backed by a
        // valid id_token_hint; we auto-submit the confirmation form instead
        // (still POSTed with the provider's CSRF field), with a button for no-JS.
        logoutSource: async (ctx: KoaContext, form: string) => {
          const auto = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
          html(ctx, 'Logging out', `${auto}<p>Signing you out…</p><button type="submit" form="op.logoutForm" id="kc-logout">Logout</button><script>document.forms[0].submit()</script>`);
        },
        postLogoutSuccessSource: async (ctx: KoaContext) => {
          html(ctx, 'Logged out', '<p id="kc-page-title">You are logged out</p>');
        },
      },
    },
    ttl: {
      AccessToken: deps.accessTokenTtl,
      ClientCredentials: deps.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: deps.accessTokenTtl,
      Interaction: 1800,
      Grant: 36000,
      Session: 36000,
      // Keycloak's SSO Session Idle default (30 min) bounds refresh tokens.
      RefreshToken: 1800,
    },
    clientBasedCORS: (_ctx: KoaContext, origin: string) => isLoopbackHttp(`${origin}/`),
    findAccount: async (_ctx: KoaContext, sub: string): Promise<Account | undefined> => {
      const user = realm.findById(sub);
      if (user === undefined) return undefined;
      return { accountId: user.id, claims: () => userClaims(user) };
    },
    extraTokenClaims: async (_ctx: KoaContext | undefined, token: BaseTokenInstance) => extraClaims(deps, token),
    // Keycloak issues a refresh token to every client allowed the grant (no offline_access needed).
    issueRefreshToken: async (_ctx: KoaContext, client: { grantTypeAllowed(t: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    interactions: { url: (_ctx: KoaContext, interaction: { uid: string }) => `${new URL(deps.issuer).pathname}${INTERACTION_BASE}/${interaction.uid}` },
    renderError: async (ctx: KoaContext, out: Record<string, string>) => {
      html(ctx, 'Error', `<h1 id="kc-page-title">We are sorry...</h1>${Object.entries(out).map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</p>`).join('')}`);
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256'],
      userinfoSigningAlgValues: ['RS256'],
      introspectionSigningAlgValues: ['RS256'],
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'HS256'],
    },
    clockTolerance: 5,
  };

  const provider = new mod.Provider(deps.issuer, configuration);
  provider.proxy = false;

  // Redirect URIs: any loopback http URI is accepted for the demo clients
  // (the gateway's redirect_uri is its own URL, on whatever port it runs).
  const proto = provider.Client.prototype;
  const exactRedirect = proto.redirectUriAllowed;
  const exactPostLogout = proto.postLogoutRedirectUriAllowed;
  proto.redirectUriAllowed = function redirectUriAllowed(value: string): boolean {
    return exactRedirect.call(this, value) || isLoopbackHttp(value);
  };
  proto.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowed(value: string): boolean {
    return exactPostLogout.call(this, value) || isLoopbackHttp(value);
  };

  provider.registerGrantType('password', passwordGrantHandler(mod.errors, deps.current, realm), PASSWORD_GRANT_PARAMS);
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    tokenExchangeHandler(mod.errors, { provider: deps.current, realm, minter: deps.minter, claimOverrides: deps.claimOverrides }),
    TOKEN_EXCHANGE_PARAMS,
    TOKEN_EXCHANGE_DUPES,
  );

  // Token responses: swap the opaque access token for its Keycloak-shaped JWT.
  provider.use(async (ctx, next) => {
    await next();
    const oidc = ctx.oidc as KoaContext['oidc'] | undefined;
    if (oidc === undefined) return;
    if (oidc.route === 'token' && ctx.status === 200 && isRecord(ctx.body) && typeof ctx.body.access_token === 'string') {
      // Read the token back as stored: its exact iat/exp and Keycloak claims.
      const opaque = ctx.body.access_token;
      const model = oidc.entities.AccessToken !== undefined ? provider.AccessToken : provider.ClientCredentials;
      const stored = await model.find(opaque);
      if (stored === undefined || stored.extra === undefined) return;
      const jwt = await deps.minter.mint({ ...stored.extra, iat: stored.iat, exp: stored.exp }, opaque);
      ctx.body.access_token = jwt;
      if (typeof stored.extra.scope === 'string') ctx.body.scope = stored.extra.scope;
      return;
    }
    if (oidc.route === 'introspection' && ctx.status === 200 && isRecord(ctx.body) && ctx.body.active === true) {
      // RFC 7662 §2.2 allows any token claims: answer as Keycloak does, with
      // the JWT's claims plus `username`, `client_id`, `token_type`.
      const entity = (oidc.entities.AccessToken ?? oidc.entities.ClientCredentials) as BaseTokenInstance | undefined;
      if (entity?.extra !== undefined) {
        const extra = entity.extra;
        Object.assign(ctx.body, extra, {
          scope: typeof extra.scope === 'string' ? extra.scope : tokenScope(undefined, entity.scope),
          username: extra.preferred_username,
          token_type: 'Bearer',
        });
      }
    }
  });

  return provider;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Answer for every request while the IdP is "down" (see Idp.setDown). */
export function sendUnavailable(res: ServerResponse): void {
  const body = JSON.stringify({ error: 'temporarily_unavailable', error_description: 'the identity provider is down (test outage)' });
  res.writeHead(503, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'retry-after': '1', connection: 'close' });
  res.end(body);
}
