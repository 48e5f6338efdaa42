/**
 * Deterministic entity ids for declarative configuration, as Kong generates
 * them (kong/db/schema/others/declarative_config.lua, `generate_uuid`):
 * a UUID v5 (RFC 9562 §5.5, SHA-1 name-based) of the entity's key inside a
 * per-entity-type namespace, itself the v5 of the type name inside Kong's
 * fixed `_entities` namespace. Reloading the same file therefore keeps every
 * id, and a file loaded by Kong and by Portcullis yields the same ids.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

/** Kong's root namespace for declarative entity ids. */
export const KONG_ENTITIES_NAMESPACE = 'fd02801f-0957-4a15-a55a-c8d9606f30b5';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function format(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** RFC 9562 §5.5: UUID version 5 of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = Buffer.from(hash.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC variant
  return format(bytes);
}

const namespaces = new Map<string, string>();

/** The id Kong derives for an entity of `entityType` whose key is `key`. */
export function entityUuid(entityType: string, key: string): string {
  let ns = namespaces.get(entityType);
  if (ns === undefined) {
    ns = uuidV5(KONG_ENTITIES_NAMESPACE, entityType);
    namespaces.set(entityType, ns);
  }
  return uuidV5(ns, key);
}
