/**
 * Consumer and credential lookups a Runtime offers (built in runtime.ts from
 * the configuration snapshot) and plugins use through the PDK. The core owns
 * these types so that core code never imports the plugin layer.
 */
import type { ConsumerEntity } from '../schema/entities/types.ts';

/** Consumer lookups offered to plugins through the PDK (built per Runtime). */
export interface ConsumerIndex {
  byId(id: string): ConsumerEntity | null;
  byUsername(username: string, ignoreCase?: boolean): ConsumerEntity | null;
  byCustomId(customId: string): ConsumerEntity | null;
  /**
   * A stored credential of one kind (its entity name, e.g. `keyauth_credentials`)
   * by its secret, with the consumer it belongs to; null when there is none or
   * its ttl has run out. Optional so that hand-built indexes (tests) need not offer it.
   */
  credential?(kind: CredentialKind, secret: string): CredentialMatch | null;
  /** The consumer's ACL groups (Kong's `acls` rows), in creation order; empty when none. */
  aclGroups?(consumerId: string): readonly string[];
  /** Names of the consumer groups the consumer is a member of (consumer_group_consumers); empty when none. */
  consumerGroupNames?(consumerId: string): readonly string[];
  /** Is there a consumer group of this name (the `consumer_groups` entity)? */
  hasConsumerGroup?(name: string): boolean;
}

/** Entities holding consumers' credentials, looked up by their endpoint key. */
export type CredentialKind = 'keyauth_credentials' | 'basicauth_credentials' | 'jwt_secrets' | 'hmacauth_credentials';

export interface CredentialMatch {
  /** The stored credential row (contains the secret: never log it). */
  credential: Readonly<Record<string, unknown>> & { id: string };
  consumer: ConsumerEntity;
}
