/**
 * What Kong's authentication plugins share (basic-auth, jwt, hmac-auth: each
 * handler's set_consumer and its anonymous fallback, Kong Gateway 3.x):
 *  - setConsumer: kong.client.authenticate plus the identity headers the
 *    upstream receives — X-Consumer-ID, X-Consumer-Custom-ID,
 *    X-Consumer-Username, X-Credential-Identifier (each set or cleared, so a
 *    client can never pose as a consumer with its own headers) and
 *    X-Anonymous-Consumer (true only for the anonymous consumer);
 *  - anonymousConsumer: `anonymous` names a consumer by id or username
 *    (kong.client.load_consumer(conf.anonymous, true)).
 */
import type { Credential, RequestContext } from '../core/context.ts';
import * as pdk from '../pdk/index.ts';
import { isUuid } from '../schema/checks.ts';
import type { ConsumerEntity } from '../schema/entities/types.ts';

/** `identifier` is what X-Credential-Identifier carries (basic-auth/hmac-auth: username; jwt: key). */
export function setConsumer(ctx: RequestContext, consumer: ConsumerEntity, credential: Credential | null): void {
  pdk.client.authenticate(ctx, consumer, credential);
  const set = (name: string, value: string | null | undefined) =>
    value !== null && value !== undefined ? pdk.serviceRequest.setHeader(ctx, name, value) : pdk.serviceRequest.clearHeader(ctx, name);
  set('x-consumer-id', consumer.id);
  set('x-consumer-custom-id', consumer.custom_id);
  set('x-consumer-username', consumer.username);
  set('x-credential-identifier', credential?.identifier);
  set('x-anonymous-consumer', credential === null ? 'true' : null);
}

export function anonymousConsumer(ctx: RequestContext, anonymous: string): ConsumerEntity | null {
  return (isUuid(anonymous) ? pdk.client.loadConsumer(ctx, 'id', anonymous) : null) ?? pdk.client.loadConsumer(ctx, 'username', anonymous);
}

/**
 * The end of every authentication plugin's access phase: proceed as the
 * anonymous consumer when one is configured, otherwise answer the failure.
 * Kong: "anonymous consumer <x> is configured but doesn't exist" (500).
 */
export function failOrAnonymous(ctx: RequestContext, anonymous: string | null, fail: () => void): void {
  if (anonymous === null) {
    fail();
    return;
  }
  const consumer = anonymousConsumer(ctx, anonymous);
  if (consumer === null) {
    pdk.response.error(ctx, 500, `anonymous consumer ${anonymous} is configured but doesn't exist`);
    return;
  }
  setConsumer(ctx, consumer, null);
}
