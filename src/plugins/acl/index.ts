/**
 * acl (Kong's plugin of the same name): allow or deny a request by the
 * groups of whoever authenticated it.
 *
 * Where the groups come from: Portcullis stores no ACL credentials (Kong's
 * `acls` entity bound to consumers); groups live in the identity provider and
 * reach the gateway through an authentication plugin, e.g. openid-connect's
 * `authenticated_groups_claim`, as `ctx.authenticatedGroups` (Kong's
 * kong.ctx.shared.authenticated_groups). Kong's decision tree is kept, with
 * the consumer's stored ACL groups read as "none" — except that a consumer
 * mapped by the same authentication (consumer + credential) is judged by the
 * groups that authentication established, since there is nowhere else for a
 * consumer's groups to come from.
 *
 * Outcomes, as Kong (kong/plugins/acl/handler.lua):
 *  - nobody authenticated and no groups: 401 "Unauthorized"
 *    (403 "You cannot consume this service" when a credential exists);
 *  - groups not allowed / denied: 403 "You cannot consume this service";
 *  - allowed: the groups go upstream as a comma-separated header —
 *    `X-Consumer-Groups` for a consumer's groups, `X-Authenticated-Groups`
 *    for groups of an authentication without a consumer (Kong's two
 *    constants) — unless hide_groups_header.
 * Both headers are removed from the client's request first, always, so a
 * client can never pose as a group member to the upstream.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { check, schema, type AclConfig } from './schema.ts';

const HEADER_CONSUMER_GROUPS = 'x-consumer-groups';
const HEADER_AUTHENTICATED_GROUPS = 'x-authenticated-groups';
const DENIED = 'You cannot consume this service';

export interface CompiledAcl {
  /** true: `groups` is a deny list; false: an allow list. */
  readonly deny: boolean;
  readonly groups: ReadonlySet<string>;
  readonly hideGroupsHeader: boolean;
  readonly alwaysUseAuthenticatedGroups: boolean;
}

function inGroups(conf: CompiledAcl, groups: readonly string[]): boolean {
  for (let i = 0; i < groups.length; i++) if (conf.groups.has(groups[i]!)) return true;
  return false;
}

function access(ctx: RequestContext, conf: CompiledAcl): void {
  pdk.serviceRequest.clearHeader(ctx, HEADER_CONSUMER_GROUPS);
  pdk.serviceRequest.clearHeader(ctx, HEADER_AUTHENTICATED_GROUPS);

  const consumer = pdk.client.getConsumer(ctx);
  const credential = pdk.client.getCredential(ctx);
  const groups = ctx.authenticatedGroups;

  // Kong: authenticated groups decide when there is no consumer, when the
  // consumer is anonymous (no credential), or when always_use_authenticated_groups.
  const asConsumerGroups = consumer !== null && credential !== null && !conf.alwaysUseAuthenticatedGroups;

  if (groups === null) {
    // Kong: no groups known. A deny list lets a consumer with no groups pass
    // (its stored ACL groups are read as empty); otherwise 403/401.
    if (consumer !== null && conf.deny) {
      if (!conf.hideGroupsHeader) pdk.serviceRequest.setHeader(ctx, HEADER_CONSUMER_GROUPS, '');
      return;
    }
    if (credential !== null) pdk.response.error(ctx, 403, DENIED);
    else pdk.response.error(ctx, 401);
    return;
  }

  const matched = inGroups(conf, groups);
  if (conf.deny ? matched : !matched) {
    pdk.response.error(ctx, 403, DENIED);
    return;
  }
  if (!conf.hideGroupsHeader) {
    pdk.serviceRequest.setHeader(ctx, asConsumerGroups ? HEADER_CONSUMER_GROUPS : HEADER_AUTHENTICATED_GROUPS, groups.join(', '));
  }
}

export const acl: PluginModule<AclConfig, CompiledAcl> = {
  name: 'acl',
  version: VERSION,
  priority: 950,
  // Kong: consumer = typedefs.no_consumer (cannot be attached to a consumer).
  scopes: { consumer: false, route: true, service: true },
  schema,
  check,
  compile(config) {
    // Kong: a non-empty deny list makes it a deny list; otherwise allow.
    const deny = Array.isArray(config.deny) && config.deny.length > 0;
    const list = (deny ? config.deny : config.allow) ?? [];
    return Object.freeze({
      deny,
      groups: new Set(list),
      hideGroupsHeader: config.hide_groups_header,
      alwaysUseAuthenticatedGroups: config.always_use_authenticated_groups,
    });
  },
  access,
};

export default acl;
