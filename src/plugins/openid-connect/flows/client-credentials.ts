/**
 * Client Credentials grant (RFC 6749 §4.4), Kong's `client_credentials` auth
 * method: the caller's own `client_id:client_secret` (Basic header or
 * arguments) are forwarded to the IdP's token endpoint — the caller is the
 * OAuth client, the gateway only relays — and the request proceeds with the
 * access token issued to it. Cached (`cache_tokens`).
 */
import type { RequestContext } from '../../../core/context.ts';
import type { CachePolicy } from '../cache.ts';
import type { ClientConfig, ClientPlan } from '../clients.ts';
import type { HttpPolicy } from '../http.ts';
import type { Provider } from '../provider.ts';
import { requestTokens, type TokenEndpointPlan, type TokenSet } from './token-endpoint.ts';

export function clientCredentialsGrant(
  ctx: RequestContext,
  plan: TokenEndpointPlan,
  clients: ClientPlan,
  client: ClientConfig,
  provider: Provider,
  http: HttpPolicy,
  cache: CachePolicy,
  id: string,
  secret: string,
): Promise<TokenSet> {
  return requestTokens(ctx, plan, clients, client, provider, http, cache, { grant: 'client_credentials', params: {}, credentials: { id, secret }, cacheable: true });
}
