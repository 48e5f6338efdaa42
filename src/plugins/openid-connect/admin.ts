/**
 * Kong's openid-connect Admin API extension: the discovery cache.
 *
 *   GET    /openid-connect/issuers              {"data":[…],"next":null}
 *   GET    /openid-connect/issuers/{issuer|id}  one record, or 404
 *   DELETE /openid-connect/issuers              204, everything forgotten
 *   DELETE /openid-connect/issuers/{issuer|id}  204
 *
 * A record is `{ id, issuer, created_at, configuration, keys }` (Kong's
 * shape; the generated session secret Kong stores alongside is never shown —
 * Kong strips it too). Deleting makes the next request rediscover the IdP
 * and refetch its keys; cached token verdicts are dropped with it.
 */
import type { AdminRequest, AdminResponse } from '../../admin/types.ts';
import type { PluginAdminRoute } from '../types.ts';
import { clearTokenCaches } from './cache.ts';
import { clearIssuers, listIssuers, type IssuerRecord } from './discovery.ts';
import { clearKeySets, keySet } from './jwks.ts';

function view(r: IssuerRecord): Record<string, unknown> {
  const keys: unknown[] = [];
  for (const u of r.jwksUris) for (const k of keySet(u).keys) keys.push(k.jwk);
  return { id: r.id, issuer: r.issuer, created_at: r.created_at, configuration: r.configuration, keys };
}

function find(idOrIssuer: string): IssuerRecord | undefined {
  return listIssuers().find((r) => r.id === idOrIssuer || r.issuer === idOrIssuer || r.configuration.issuer === idOrIssuer);
}

export function listIssuersResponse(): AdminResponse {
  return { status: 200, body: { data: listIssuers().map(view), next: null } };
}

export function getIssuerResponse(req: AdminRequest): AdminResponse {
  const r = find(req.params.issuer ?? '');
  return r === undefined ? { status: 404, body: { message: 'Not found' } } : { status: 200, body: view(r) };
}

export function deleteIssuersResponse(req: AdminRequest): AdminResponse {
  const which = req.params.issuer;
  if (which === undefined) {
    clearIssuers();
    clearKeySets();
  } else {
    const r = find(which);
    if (r !== undefined) {
      clearIssuers(r.id);
      clearKeySets(r.jwksUris);
    }
  }
  clearTokenCaches();
  return { status: 204 };
}

/**
 * Discovery caches live in each worker process: in cluster mode these also run
 * in every worker (lists are merged, a lookup answers from whichever worker knows the issuer).
 */
export const OIDC_ADMIN_ROUTES: readonly PluginAdminRoute[] = [
  { method: 'GET', pattern: '/openid-connect/issuers', handler: listIssuersResponse, nodeLocal: true },
  { method: 'DELETE', pattern: '/openid-connect/issuers', handler: deleteIssuersResponse, nodeLocal: true },
  { method: 'GET', pattern: '/openid-connect/issuers/:issuer', handler: getIssuerResponse, nodeLocal: true },
  { method: 'DELETE', pattern: '/openid-connect/issuers/:issuer', handler: deleteIssuersResponse, nodeLocal: true },
];
