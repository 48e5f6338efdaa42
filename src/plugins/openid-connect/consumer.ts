/**
 * Which consumer is this (ARCHITECTURE principle 7, "map")? Kong's consumer
 * mapping:
 * - `consumer_claims` (3.14+; alternatives, each a claim path) or the older
 *   `consumer_claim` (one path); the claim is looked up in the introspection
 *   response, then the ID token, then the access token, then — with
 *   `search_user_info` — the user info;
 * - the value is matched against consumers by each `consumer_by` field in
 *   order (`id`, `username` — case-insensitively with
 *   `by_username_ignore_case` — `custom_id`);
 * - no match: 403 "kong consumer was not found" unless `consumer_optional`.
 * Without a mapped consumer, `credential_claim` (default `sub`) becomes the
 * credential identifier (for rate limiting by credential, the access log and
 * `X-Credential-Identifier`). `authenticated_groups_claim` feeds the ACL
 * plugin and `X-Authenticated-Groups`.
 * `anonymous` (consumer id or username): on a 401/403 the request goes on as
 * that consumer with `X-Anonymous-Consumer: true`; and when an earlier
 * authentication plugin already identified the caller, this plugin does
 * nothing (Kong's logical OR between auth plugins).
 */
import type { RequestContext } from '../../core/context.ts';
import type { ConsumerEntity } from '../../schema/entities/types.ts';
import * as pdk from '../../pdk/index.ts';
import { claimList, findClaim } from './claims.ts';
import { forbidden, Unexpected } from './errors.ts';

export type ConsumerField = 'id' | 'username' | 'custom_id';

export interface ConsumerPlan {
  /** Claim paths to try, in order; empty = no consumer mapping. */
  readonly claims: ReadonlyArray<readonly string[]>;
  readonly by: readonly ConsumerField[];
  readonly ignoreCase: boolean;
  readonly optional: boolean;
  readonly anonymous: string | null;
  readonly credentialClaim: readonly string[] | null;
  readonly groupsClaim: readonly string[] | null;
  /** `consumer_groups_claim`: claim path whose values name consumer groups; null = off. */
  readonly consumerGroupsClaim: readonly string[] | null;
  readonly consumerGroupsOptional: boolean;
  readonly searchUserinfo: boolean;
}

/** Headers this module may set upstream (sanitised first, principle 8). */
export const CONSUMER_HEADERS = ['x-consumer-id', 'x-consumer-custom-id', 'x-consumer-username', 'x-credential-identifier', 'x-anonymous-consumer', 'x-authenticated-groups'] as const;

export function compileConsumer(c: {
  consumer_claims: string[][] | null;
  consumer_claim?: string[] | null;
  consumer_by: ConsumerField[];
  by_username_ignore_case: boolean;
  consumer_optional: boolean;
  anonymous: string | null;
  credential_claim: string[];
  authenticated_groups_claim: string[] | null;
  consumer_groups_claim: string[] | null;
  consumer_groups_optional: boolean;
  search_user_info: boolean;
}): ConsumerPlan {
  // The 3.13 shorthand wins when it was sent (Kong translates it into consumer_claims on input).
  let claims: string[][] = [];
  if (c.consumer_claim !== undefined && c.consumer_claim !== null && c.consumer_claim.length > 0) claims = [c.consumer_claim];
  else if (c.consumer_claims !== null) claims = c.consumer_claims.filter((p) => p.length > 0);
  return Object.freeze({
    claims: Object.freeze(claims.map((p) => Object.freeze([...p]))),
    by: Object.freeze([...c.consumer_by]),
    ignoreCase: c.by_username_ignore_case,
    optional: c.consumer_optional,
    anonymous: c.anonymous,
    credentialClaim: c.credential_claim.length > 0 ? Object.freeze([...c.credential_claim]) : null,
    groupsClaim: c.authenticated_groups_claim !== null && c.authenticated_groups_claim.length > 0 ? Object.freeze([...c.authenticated_groups_claim]) : null,
    consumerGroupsClaim: c.consumer_groups_claim !== null && c.consumer_groups_claim.length > 0 ? Object.freeze([...c.consumer_groups_claim]) : null,
    consumerGroupsOptional: c.consumer_groups_optional,
    searchUserinfo: c.search_user_info,
  });
}

/** Where claims may be found, in Kong's search order. `userinfo` is loaded on demand. */
export interface ClaimSources {
  introspection: Record<string, unknown> | null;
  idToken: Record<string, unknown> | null;
  accessToken: Record<string, unknown> | null;
  userinfo: () => Promise<Record<string, unknown> | null>;
}

async function firstValues(sources: ClaimSources, path: readonly string[], searchUserinfo: boolean): Promise<string[] | null> {
  for (const src of [sources.introspection, sources.idToken, sources.accessToken]) {
    if (src === null) continue;
    const v = claimList(findClaim(src, path));
    if (v !== null) return v;
  }
  if (searchUserinfo) {
    const ui = await sources.userinfo();
    if (ui !== null) return claimList(findClaim(ui, path));
  }
  return null;
}

function lookup(ctx: RequestContext, plan: ConsumerPlan, value: string): ConsumerEntity | null {
  for (const by of plan.by) {
    const c = pdk.client.loadConsumer(ctx, by, value, by === 'username' && plan.ignoreCase);
    if (c !== null) return c;
  }
  return null;
}

/**
 * Map the token to a consumer. Returns the consumer, or null when mapping is
 * not configured or optional and found nothing; throws 403 otherwise.
 */
export async function mapConsumer(ctx: RequestContext, plan: ConsumerPlan, sources: ClaimSources): Promise<ConsumerEntity | null> {
  if (plan.claims.length === 0) return null;
  let lastReason = 'kong consumer was not found';
  for (const path of plan.claims) {
    const values = await firstValues(sources, path, plan.searchUserinfo);
    if (values === null) {
      lastReason = `kong consumer was not found (claim (${path.join(',')}) was not found for consumer mapping)`;
      continue;
    }
    for (const v of values) {
      const consumer = lookup(ctx, plan, v);
      if (consumer !== null) return consumer;
    }
    lastReason = 'kong consumer was not found';
  }
  if (plan.optional) return null;
  throw forbidden(lastReason);
}

/** Remove identity headers a client may have forged, unless an earlier plugin already set them. */
export function sanitizeConsumerHeaders(ctx: RequestContext): void {
  if (ctx.consumer !== null || ctx.credential !== null) return;
  for (const h of CONSUMER_HEADERS) pdk.serviceRequest.clearHeader(ctx, h);
}

/** Record the mapped consumer (or the credential claim) and set Kong's consumer headers. */
export async function setIdentity(ctx: RequestContext, plan: ConsumerPlan, consumer: ConsumerEntity | null, sources: ClaimSources): Promise<void> {
  if (consumer !== null) {
    pdk.client.authenticate(ctx, consumer, { id: consumer.id, consumer_id: consumer.id });
    pdk.serviceRequest.setHeader(ctx, 'x-consumer-id', consumer.id);
    if (consumer.custom_id !== null) pdk.serviceRequest.setHeader(ctx, 'x-consumer-custom-id', consumer.custom_id);
    else pdk.serviceRequest.clearHeader(ctx, 'x-consumer-custom-id');
    if (consumer.username !== null) pdk.serviceRequest.setHeader(ctx, 'x-consumer-username', consumer.username);
    else pdk.serviceRequest.clearHeader(ctx, 'x-consumer-username');
    pdk.serviceRequest.clearHeader(ctx, 'x-anonymous-consumer');
  } else if (plan.credentialClaim !== null) {
    const values = await firstValues(sources, plan.credentialClaim, plan.searchUserinfo);
    const id = values !== null && values.length === 1 ? values[0]! : null;
    if (id !== null) {
      pdk.client.authenticate(ctx, null, { id, identifier: id });
      pdk.serviceRequest.setHeader(ctx, 'x-credential-identifier', id);
    }
  }
  if (consumer !== null && plan.credentialClaim !== null) {
    const values = await firstValues(sources, plan.credentialClaim, plan.searchUserinfo);
    if (values !== null && values.length === 1) {
      ctx.credential = { id: values[0]!, identifier: values[0]!, consumer_id: consumer.id };
      pdk.serviceRequest.setHeader(ctx, 'x-credential-identifier', values[0]!);
    }
  }
  if (plan.groupsClaim !== null) {
    const groups = await firstValues(sources, plan.groupsClaim, plan.searchUserinfo);
    if (groups !== null) {
      pdk.client.setAuthenticatedGroups(ctx, groups);
      pdk.serviceRequest.setHeader(ctx, 'x-authenticated-groups', groups.join(', '));
    }
  }
}

/**
 * `consumer_groups_claim` (Kong Enterprise): the claim's values that name an
 * existing consumer group (the `consumer_groups` entity) become the request's
 * consumer groups — no consumer needs to exist. acl (`include_consumer_groups`)
 * judges by them. None found: 403 "consumer group was not found" unless
 * `consumer_groups_optional`.
 */
export async function mapConsumerGroups(ctx: RequestContext, plan: ConsumerPlan, sources: ClaimSources): Promise<void> {
  if (plan.consumerGroupsClaim === null) return;
  const values = await firstValues(sources, plan.consumerGroupsClaim, plan.searchUserinfo);
  const found = values === null ? [] : [...new Set(values)].filter((v) => pdk.client.consumerGroupExists(ctx, v));
  if (found.length === 0) {
    if (plan.consumerGroupsOptional) return;
    throw forbidden(values === null ? `consumer group was not found (claim (${plan.consumerGroupsClaim.join(',')}) was not found for consumer group mapping)` : 'consumer group was not found');
  }
  pdk.client.setAuthenticatedConsumerGroups(ctx, found);
}

/** Go on as the anonymous consumer (Kong's consumers.anonymous). */
export function setAnonymous(ctx: RequestContext, anonymous: string): void {
  const consumer = ctx.consumers.byId(anonymous) ?? ctx.consumers.byUsername(anonymous);
  if (consumer === null) throw new Unexpected(`anonymous consumer ${anonymous} was not found`);
  pdk.client.authenticate(ctx, consumer, null);
  pdk.serviceRequest.setHeader(ctx, 'x-consumer-id', consumer.id);
  if (consumer.custom_id !== null) pdk.serviceRequest.setHeader(ctx, 'x-consumer-custom-id', consumer.custom_id);
  else pdk.serviceRequest.clearHeader(ctx, 'x-consumer-custom-id');
  if (consumer.username !== null) pdk.serviceRequest.setHeader(ctx, 'x-consumer-username', consumer.username);
  else pdk.serviceRequest.clearHeader(ctx, 'x-consumer-username');
  pdk.serviceRequest.setHeader(ctx, 'x-anonymous-consumer', 'true');
}
