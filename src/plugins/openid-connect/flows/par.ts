/**
 * Pushed Authorization Requests (RFC 9126), Kong's
 * `pushed_authorization_request_endpoint`,
 * `pushed_authorization_request_endpoint_auth_method` and
 * `require_pushed_authorization_requests`.
 *
 * When: `require_pushed_authorization_requests` true → always; false →
 * never; null (Kong's default) → when the IdP's discovery document says
 * `require_pushed_authorization_requests: true` (§5).
 * How (§2): the authorization request's parameters (response_type,
 * client_id, redirect_uri, scope, state, nonce, PKCE challenge, …) are POSTed
 * to the PAR endpoint (discovered `pushed_authorization_request_endpoint`,
 * or the configured one) with client authentication as at the token
 * endpoint (`pushed_authorization_request_endpoint_auth_method`, else
 * `token_endpoint_auth_method`, else the client's own; JWT assertions carry
 * the issuer as audience, §2); the IdP answers 201 with a `request_uri`, and
 * the browser is redirected with only `client_id` and `request_uri` (§4) —
 * the parameters never travel through the browser.
 * Any other answer is an IdP failure (500, logged and counted), never a 401:
 * the caller did nothing wrong.
 */
import { authenticateClient, clientAuthAt } from '../client-auth.ts';
import type { ClientConfig } from '../clients.ts';
import { IdpUnavailable, jsonObject, send } from '../http.ts';
import type { Provider } from '../provider.ts';
import type { TokenEndpoint } from './token-endpoint.ts';

/** Should this authorization request be pushed? */
export function usePar(te: TokenEndpoint, provider: Provider): boolean {
  return te.par ?? provider.parRequired;
}

/**
 * Push the authorization request `authorizationUrl` (built with every
 * parameter) and return the URL to send the browser to.
 */
export async function pushAuthorizationRequest(te: TokenEndpoint, provider: Provider, client: ClientConfig, authorizationUrl: string): Promise<string> {
  const endpoint = provider.endpoints.par;
  if (endpoint === null) throw new IdpUnavailable('pushed_authorization_request', 'the identity provider has no pushed authorization request endpoint');
  const url = new URL(authorizationUrl);
  const form = new URLSearchParams(url.searchParams);
  const headers: Record<string, string> = { accept: 'application/json' };
  const auth = clientAuthAt(te.parAuthMethod ?? te.authMethod, client, provider.metadata.token_endpoint_auth_methods_supported, provider.issuer);
  await authenticateClient(auth, form, headers);
  const res = await send('pushed_authorization_request', te.http, { method: 'POST', url: endpoint, form, headers });
  if (res.status !== 201 && res.status !== 200) {
    let error = `status ${res.status}`;
    try {
      const b = JSON.parse(res.body.toString('utf8')) as { error?: unknown };
      if (typeof b.error === 'string') error = `${error}, ${b.error}`;
    } catch {
      // keep the status
    }
    throw new IdpUnavailable('pushed_authorization_request', `pushed authorization request endpoint answered ${error}`, res.status);
  }
  const body = jsonObject('pushed_authorization_request', res);
  if (typeof body.request_uri !== 'string' || body.request_uri === '') {
    throw new IdpUnavailable('pushed_authorization_request', 'pushed authorization request endpoint answered without a request_uri', res.status);
  }
  const out = new URL(url.origin + url.pathname);
  if (client.id !== null) out.searchParams.set('client_id', client.id);
  out.searchParams.set('request_uri', body.request_uri);
  return out.toString();
}
