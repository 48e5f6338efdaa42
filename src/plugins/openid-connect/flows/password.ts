/**
 * Resource Owner Password Credentials grant (RFC 6749 §4.3), Kong's
 * `password` auth method: the caller sends `username`/`password` (Basic
 * header or arguments, see extract.ts); the gateway runs the grant with its
 * own client and proxies with the resulting access token. Cached
 * (`cache_tokens`) so a repeated login does not reach the IdP.
 */
import type { RequestContext } from '../../../core/context.ts';
import type { CachePolicy } from '../cache.ts';
import type { ClientConfig, ClientPlan } from '../clients.ts';
import type { HttpPolicy } from '../http.ts';
import type { Provider } from '../provider.ts';
import { requestTokens, type TokenEndpointPlan, type TokenSet } from './token-endpoint.ts';

export function passwordGrant(
  ctx: RequestContext,
  plan: TokenEndpointPlan,
  clients: ClientPlan,
  client: ClientConfig,
  provider: Provider,
  http: HttpPolicy,
  cache: CachePolicy,
  username: string,
  password: string,
): Promise<TokenSet> {
  return requestTokens(ctx, plan, clients, client, provider, http, cache, { grant: 'password', params: { username, password }, cacheable: true });
}
