/**
 * The Resource Owner Password Credentials grant (RFC 6749 §4.3).
 *
 * oidc-provider 9 dropped ROPC, but Keycloak (Direct Access Grants) and Kong's
 * `password` auth method use it, and Kong's walkthrough fetches tokens with it,
 * so the demo IdP registers it as a custom grant type. It issues what the
 * authorization code grant issues: an access token (turned into a JWT by the
 * token-response hook), a refresh token and, with `openid`, an ID token.
 */
import { randomUUID } from 'node:crypto';
import type { KoaContext, Provider, errors as OidcErrors } from 'oidc-provider';
import { userClaims, scopeAllowedFor, KNOWN_SCOPES, type Realm } from './realm.ts';

export const PASSWORD_GRANT_PARAMS = ['username', 'password', 'scope'];

export function passwordGrantHandler(errors: typeof OidcErrors, provider: () => Provider, realm: Realm) {
  const known = new Set<string>(KNOWN_SCOPES);
  return async function passwordGrant(ctx: KoaContext): Promise<void> {
    const p = provider();
    const { client, params } = ctx.oidc;
    if (client === undefined) throw new errors.InvalidClient('client not authenticated');
    if (typeof params.username !== 'string' || typeof params.password !== 'string') {
      throw new errors.InvalidRequest('missing required parameter(s) (username,password)');
    }
    const user = realm.authenticate(params.username, params.password);
    // Keycloak's answer to a wrong password on this grant.
    if (user === undefined) throw new errors.InvalidGrant('Invalid user credentials');

    const requested = typeof params.scope === 'string' && params.scope !== '' ? params.scope.split(' ') : ['openid'];
    const scopes = [...new Set(requested)].filter((s) => known.has(s) && scopeAllowedFor(user, s));
    const scope = scopes.join(' ');

    const grant = new p.Grant({ accountId: user.id, clientId: client.clientId });
    if (scope !== '') grant.addOIDCScope(scope);
    const grantId = await grant.save();

    // A direct grant opens a Keycloak user session too; its id becomes `sid`.
    const sid = randomUUID();
    const at = new p.AccessToken({ accountId: user.id, client, grantId, gty: 'password', scope, sid });
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();

    let refreshToken: string | undefined;
    if (client.grantTypeAllowed('refresh_token')) {
      const rt = new p.RefreshToken({
        accountId: user.id, client, grantId, gty: 'password', scope, sid, rotations: 0,
        authTime: Math.floor(Date.now() / 1000),
      });
      refreshToken = await rt.save();
    }

    let idToken: string | undefined;
    if (scopes.includes('openid')) {
      const claims = userClaims(user);
      const token = new p.IdToken({ ...claims, auth_time: Math.floor(Date.now() / 1000) }, { ctx });
      token.scope = scope;
      token.set('sid', sid);
      idToken = await token.issue({ use: 'idtoken' });
    }

    ctx.body = {
      access_token: accessToken,
      expires_in: at.expiration,
      token_type: 'Bearer',
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
      ...(idToken === undefined ? {} : { id_token: idToken }),
      scope,
    };
  };
}
