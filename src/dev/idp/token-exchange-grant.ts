/**
 * OAuth 2.0 Token Exchange (RFC 8693) as an oidc-provider custom grant, so
 * the gateway's `token_exchange` option runs against a real endpoint.
 *
 * What the demo IdP does (a small impersonation-semantics server, §1.1):
 * - the client must be authenticated and allowed the grant type;
 * - `subject_token_type` must be `…:token-type:access_token` or `…:jwt`
 *   (§2.1); the subject token must be an access token this IdP issued and
 *   still holds (not expired, not revoked) — anything else is
 *   `invalid_grant` (§2.2.2 uses RFC 6749's error codes);
 * - `scope`: a subset of the subject token's scope (asking for more is
 *   `invalid_scope`); absent = the subject token's scope;
 * - `audience` (one or more): becomes the new token's `aud`; absent = the
 *   Keycloak default for the exchanging client;
 * - the new token is issued to the exchanging client (`azp`) for the same
 *   user (`sub`); the response carries `issued_token_type` (§2.2.1).
 * An `actor_token` is not supported (400 invalid_request, said plainly).
 */
import type { BaseTokenInstance, KoaContext, Provider, errors as OidcErrors } from 'oidc-provider';
import type { AccessTokenMinter } from './access-tokens.ts';
import type { Realm } from './realm.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** Parameters that may repeat. */
export const TOKEN_EXCHANGE_DUPES = ['audience', 'resource'];

export const TOKEN_EXCHANGE_PARAMS = ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'scope', 'resource'];

export interface TokenExchangeDeps {
  provider: () => Provider;
  realm: Realm;
  minter: AccessTokenMinter;
  claimOverrides: WeakMap<object, Record<string, unknown>>;
}

/** Every value of a parameter that may repeat (RFC 8693 §2.1: audience, resource). */
function allValues(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  return typeof v === 'string' && v !== '' ? [v] : [];
}

export function tokenExchangeHandler(errors: typeof OidcErrors, deps: TokenExchangeDeps) {
  return async function tokenExchange(ctx: KoaContext): Promise<void> {
    const p = deps.provider();
    const { client, params } = ctx.oidc;
    if (client === undefined) throw new errors.InvalidClient('client not authenticated');
    const subjectToken = params.subject_token;
    const subjectType = params.subject_token_type;
    if (typeof subjectToken !== 'string' || subjectToken === '' || typeof subjectType !== 'string') {
      throw new errors.InvalidRequest('missing required parameter(s) (subject_token,subject_token_type)');
    }
    if (subjectType !== ACCESS_TOKEN_TYPE && subjectType !== JWT_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type');
    if (typeof params.actor_token === 'string' && params.actor_token !== '') throw new errors.InvalidRequest('actor_token is not supported by the demo IdP');
    if (typeof params.requested_token_type === 'string' && params.requested_token_type !== '' && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('only access tokens can be requested');
    }

    // The subject token: a JWT access token of ours, backed by a stored token that is still valid.
    const opaque = (await deps.minter.resolve(subjectToken)) ?? subjectToken;
    const stored: BaseTokenInstance | undefined = (await p.AccessToken.find(opaque)) ?? (await p.ClientCredentials.find(opaque));
    if (stored === undefined || stored.isExpired) throw new errors.InvalidGrant('subject token is invalid or expired');

    const held = new Set((stored.scope ?? '').split(' ').filter((s) => s !== ''));
    const asked = typeof params.scope === 'string' && params.scope !== '' ? params.scope.split(' ').filter((s) => s !== '') : [...held];
    for (const s of asked) if (!held.has(s)) throw new errors.InvalidScope('requested scope exceeds the subject token', s);
    const scope = [...new Set(asked)].join(' ');
    const audience = allValues(params.audience);

    const user = stored.accountId === undefined ? undefined : deps.realm.findById(stored.accountId);
    const overrides: Record<string, unknown> = {};
    if (audience.length > 0) overrides.aud = audience.length === 1 ? audience[0] : audience;

    let token: string;
    let expiresIn: number;
    if (user !== undefined) {
      const grant = new p.Grant({ accountId: user.id, clientId: client.clientId });
      if (scope !== '') grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const at = new p.AccessToken({ accountId: user.id, client, grantId, gty: 'token-exchange', scope, sid: stored.sid ?? stored.sessionUid });
      if (Object.keys(overrides).length > 0) deps.claimOverrides.set(at, overrides);
      ctx.oidc.entity('AccessToken', at);
      token = await at.save();
      expiresIn = at.expiration;
    } else {
      const cc = new p.ClientCredentials({ client, scope });
      if (Object.keys(overrides).length > 0) deps.claimOverrides.set(cc, overrides);
      ctx.oidc.entity('ClientCredentials', cc);
      token = await cc.save();
      expiresIn = cc.expiration;
    }

    ctx.body = {
      access_token: token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope,
    };
  };
}
