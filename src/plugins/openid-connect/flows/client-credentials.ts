/**
 * Client Credentials grant (RFC 6749 §4.4), Kong's `client_credentials` auth
 * method: the caller's own `client_id:client_secret` (Basic header or
 * arguments) are forwarded to the IdP's token endpoint — the caller is the
 * OAuth client, the gateway only relays — and the request proceeds with the
 * access token issued to it. Cached (`cache_tokens`).
 */
import type { RequestContext } from '../../../core/context.ts';
import { requestTokens, type BoundTokenEndpoint, type TokenSet } from './token-endpoint.ts';

export function clientCredentialsGrant(ctx: RequestContext, te: BoundTokenEndpoint, id: string, secret: string): Promise<TokenSet> {
  return requestTokens(ctx, te, { grant: 'client_credentials', params: {}, credentials: { id, secret }, cacheable: true });
}
