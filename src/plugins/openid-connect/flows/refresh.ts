/**
 * Refreshing an access token (RFC 6749 §6): for the `refresh_token` auth
 * method (the caller presents a refresh token) and for sessions whose access
 * token expired (`refresh_tokens`, with `leeway` to refresh ahead of expiry).
 * A refresh response may omit the refresh token and ID token; the previous
 * ones are kept (RFC 6749 §6: "the client MUST discard the old refresh token"
 * only when a new one is issued; OIDC Core §12.2 for the ID token), as Kong does.
 */
import type { RequestContext } from '../../../core/context.ts';
import { requestTokens, type BoundTokenEndpoint, type TokenSet } from './token-endpoint.ts';

export async function refreshGrant(
  ctx: RequestContext,
  te: BoundTokenEndpoint,
  refreshToken: string,
  previous: { id_token?: string } | null,
  cacheable: boolean,
): Promise<TokenSet> {
  const tokens = await requestTokens(ctx, te, { grant: 'refresh_token', params: { refresh_token: refreshToken }, cacheable });
  if (tokens.refresh_token === undefined) tokens.refresh_token = refreshToken;
  if (tokens.id_token === undefined && previous?.id_token !== undefined) tokens.id_token = previous.id_token;
  return tokens;
}
