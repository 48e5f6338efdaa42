/** kong.client: who is calling. */
import type { TLSSocket } from 'node:tls';
import type { Credential, RequestContext } from '../core/context.ts';
import type { CredentialKind, CredentialMatch } from '../core/consumers.ts';
import type { ConsumerEntity } from '../schema/entities/types.ts';

/** Record the authenticated consumer and/or credential (Kong's kong.client.authenticate). */
export function authenticate(ctx: RequestContext, consumer: ConsumerEntity | null, credential: Credential | null): void {
  ctx.consumer = consumer;
  ctx.credential = credential;
}

export function getConsumer(ctx: RequestContext): ConsumerEntity | null {
  return ctx.consumer;
}

export function getCredential(ctx: RequestContext): Credential | null {
  return ctx.credential;
}

/**
 * The certificate the client presented on this connection's TLS handshake, as
 * DER (the leaf of Kong's kong.client.tls.get_full_client_certificate_chain).
 * Null on plain HTTP and when none was sent — a certificate is only asked for
 * where a tls-handshake-modifier applies. Never verified here: the caller decides.
 */
export function getTlsClientCertificate(ctx: RequestContext): Buffer | null {
  const socket = ctx.req.socket as Partial<TLSSocket> | null;
  if (socket === null || socket.encrypted !== true || typeof socket.getPeerX509Certificate !== 'function') return null;
  return socket.getPeerX509Certificate()?.raw ?? null;
}

export function getIp(ctx: RequestContext): string {
  return ctx.clientIp;
}

/** Groups for ACL (Kong's kong.ctx.shared.authenticated_groups). */
export function setAuthenticatedGroups(ctx: RequestContext, groups: string[] | null): void {
  ctx.authenticatedGroups = groups;
}

/** Consumer groups established by an authentication, by name (Kong's kong.client.set_authenticated_consumer_groups). */
export function setAuthenticatedConsumerGroups(ctx: RequestContext, groups: readonly string[] | null): void {
  ctx.authenticatedConsumerGroups = groups;
}

/** Does a consumer group of this name exist? */
export function consumerGroupExists(ctx: RequestContext, name: string): boolean {
  return ctx.consumers.hasConsumerGroup?.(name) ?? false;
}

/** Find a consumer by id, username or custom_id (Kong's kong.client.load_consumer + consumer_by). */
export function loadConsumer(ctx: RequestContext, by: 'id' | 'username' | 'custom_id', value: string, ignoreCase = false): ConsumerEntity | null {
  if (by === 'id') return ctx.consumers.byId(value);
  if (by === 'username') return ctx.consumers.byUsername(value, ignoreCase);
  return ctx.consumers.byCustomId(value);
}

/**
 * A consumer's stored credential by its secret (a key-auth key), with its
 * consumer; null when unknown or past its ttl. An exact Map lookup, as Kong's
 * cache lookup by credential cache key.
 */
export function findCredential(ctx: RequestContext, kind: CredentialKind, secret: string): CredentialMatch | null {
  return ctx.consumers.credential?.(kind, secret) ?? null;
}

/** key-auth: the credential holding this API key (kong.db.keyauth_credentials:select_by_key). */
export function findKeyAuthCredential(ctx: RequestContext, key: string): CredentialMatch | null {
  return findCredential(ctx, 'keyauth_credentials', key);
}

/** The consumer's stored ACL groups (Kong's kong.plugins.acl.groups.get_consumer_groups). */
export function getConsumerAclGroups(ctx: RequestContext, consumerId: string): readonly string[] {
  return ctx.consumers.aclGroups?.(consumerId) ?? [];
}

/** Names of the consumer groups a consumer belongs to. */
export function getConsumerGroupNames(ctx: RequestContext, consumerId: string): readonly string[] {
  return ctx.consumers.consumerGroupNames?.(consumerId) ?? [];
}
