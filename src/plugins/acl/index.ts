/**
 * acl (Kong's plugin of the same name, kong/plugins/acl/handler.lua): allow
 * or deny a request by the groups of whoever authenticated it.
 *
 * Where the groups come from, as Kong:
 *  - a consumer authenticated with a credential: the consumer's stored ACL
 *    groups (`acls` entity, /consumers/{c}/acls), plus — with
 *    include_consumer_groups (Kong Enterprise) — the names of its consumer
 *    groups. Portcullis addition: groups the same authentication established
 *    (openid-connect's authenticated_groups_claim with a mapped consumer)
 *    count as the consumer's too, so IdP-managed groups keep working when
 *    the IdP also maps consumers;
 *  - no consumer, an anonymous consumer (no credential), or
 *    always_use_authenticated_groups: the authenticated groups
 *    (`ctx.authenticatedGroups`, Kong's kong.ctx.shared.authenticated_groups)
 *    when an authentication set them.
 *
 * Outcomes, as Kong:
 *  - nobody authenticated and no groups: 401 "Unauthorized"
 *    (403 "You cannot consume this service" when a credential exists);
 *  - groups not allowed / denied: 403 "You cannot consume this service"
 *    (a consumer with no groups is refused by an allow list, passes a deny list);
 *  - allowed: the groups go upstream as a comma-separated header —
 *    `X-Consumer-Groups` for a consumer's groups, `X-Authenticated-Groups`
 *    for authenticated groups (Kong's two constants) — unless hide_groups_header.
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
  readonly includeConsumerGroups: boolean;
}

function inGroups(conf: CompiledAcl, groups: readonly string[]): boolean {
  for (let i = 0; i < groups.length; i++) if (conf.groups.has(groups[i]!)) return true;
  return false;
}

function judge(ctx: RequestContext, conf: CompiledAcl, groups: readonly string[], header: string): void {
  const matched = inGroups(conf, groups);
  if (conf.deny ? matched : !matched) {
    pdk.response.error(ctx, 403, DENIED);
    return;
  }
  if (!conf.hideGroupsHeader) pdk.serviceRequest.setHeader(ctx, header, groups.join(', '));
}

/** The consumer's groups: stored ACL groups, consumer group names when asked, and groups its authentication set. */
function consumerGroups(ctx: RequestContext, conf: CompiledAcl, consumerId: string, authenticated: readonly string[] | null): readonly string[] {
  const stored = pdk.client.getConsumerAclGroups(ctx, consumerId);
  const named = conf.includeConsumerGroups ? pdk.client.getConsumerGroupNames(ctx, consumerId) : [];
  if (named.length === 0 && (authenticated === null || authenticated.length === 0)) return stored;
  const out = [...stored];
  for (const g of named) if (!out.includes(g)) out.push(g);
  if (authenticated !== null) for (const g of authenticated) if (!out.includes(g)) out.push(g);
  return out;
}

/**
 * The authenticated groups, plus — with include_consumer_groups — the consumer
 * groups an authentication established without a consumer (openid-connect's
 * `consumer_groups_claim`, Kong Enterprise's authenticated consumer groups).
 */
function withConsumerGroups(conf: CompiledAcl, groups: string[] | null, consumerGroups: readonly string[] | null): readonly string[] | null {
  if (!conf.includeConsumerGroups || consumerGroups === null || consumerGroups.length === 0) return groups;
  if (groups === null || groups.length === 0) return consumerGroups;
  const out = [...groups];
  for (const g of consumerGroups) if (!out.includes(g)) out.push(g);
  return out;
}

function access(ctx: RequestContext, conf: CompiledAcl): void {
  pdk.serviceRequest.clearHeader(ctx, HEADER_CONSUMER_GROUPS);
  pdk.serviceRequest.clearHeader(ctx, HEADER_AUTHENTICATED_GROUPS);

  const consumer = pdk.client.getConsumer(ctx);
  const credential = pdk.client.getCredential(ctx);
  const authenticated = withConsumerGroups(conf, ctx.authenticatedGroups, ctx.authenticatedConsumerGroups);

  if (consumer === null) {
    if (authenticated === null) {
      if (credential !== null) pdk.response.error(ctx, 403, DENIED);
      else pdk.response.error(ctx, 401);
      return;
    }
    judge(ctx, conf, authenticated, HEADER_AUTHENTICATED_GROUPS);
    return;
  }
  // Kong: authenticated groups override an anonymous consumer's groups, and any consumer's with always_use_authenticated_groups.
  if ((credential === null || conf.alwaysUseAuthenticatedGroups) && authenticated !== null) {
    judge(ctx, conf, authenticated, HEADER_AUTHENTICATED_GROUPS);
    return;
  }
  judge(ctx, conf, consumerGroups(ctx, conf, consumer.id, credential !== null ? authenticated : null), HEADER_CONSUMER_GROUPS);
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
      includeConsumerGroups: config.include_consumer_groups,
    });
  },
  access,
};

export default acl;
