/**
 * Resource Owner Password Credentials grant (RFC 6749 §4.3), Kong's
 * `password` auth method: the caller sends `username`/`password` (Basic
 * header or arguments, see extract.ts); the gateway runs the grant with its
 * own client and proxies with the resulting access token. Cached
 * (`cache_tokens`) so a repeated login does not reach the IdP.
 */
import type { RequestContext } from '../../../core/context.ts';
import { requestTokens, type BoundTokenEndpoint, type TokenSet } from './token-endpoint.ts';

export function passwordGrant(ctx: RequestContext, te: BoundTokenEndpoint, username: string, password: string): Promise<TokenSet> {
  return requestTokens(ctx, te, { grant: 'password', params: { username, password }, cacheable: true });
}
