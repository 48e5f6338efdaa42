/**
 * The `memory` strategy: cached responses in this worker's memory, one
 * partition per plugin instance (keyed by plugin id, so a configuration
 * reload keeps the cache warm), all partitions sharing one byte budget and
 * evicted least-recently-used first — the role Kong's lua_shared_dict
 * (`kong_db_cache`, sized by mem_cache_size, 128m by default) plays there.
 *
 * Entries carry their own storage deadline (storage_ttl, else the resource
 * TTL); an expired entry reads as absent and is dropped on the spot.
 */

/** What is stored per key (Kong's cached `res` table, CACHE_VERSION 1). */
export interface CachedResponse {
  readonly status: number;
  /** Response headers as sent by the upstream (hop-by-hop and diagnostics removed). */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer;
  /** When it was stored, epoch ms. */
  readonly storedAt: number;
  /** Freshness lifetime in seconds (cache_ttl, or the resource TTL with cache_control). */
  readonly ttl: number;
  /** Storage deadline, epoch ms. */
  readonly expiresAt: number;
  readonly version: number;
  /** Client request body of the request that filled the entry, when it was read (Kong's req_body). */
  readonly reqBody: string | null;
}

interface Slot {
  readonly pluginId: string;
  readonly key: string;
  readonly value: CachedResponse;
  readonly size: number;
}

/** Kong's default mem_cache_size. */
export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/** Bookkeeping per entry beyond its body and headers (map slots, object headers). */
const ENTRY_OVERHEAD = 256;

let maxBytes = DEFAULT_MAX_BYTES;
let usedBytes = 0;
/** Insertion order = recency order (a read re-inserts): the first slot is the least recently used. */
const slots = new Map<string, Slot>();

function slotId(pluginId: string, key: string): string {
  return `${pluginId} ${key}`;
}

export function entrySize(key: string, value: CachedResponse): number {
  let size = ENTRY_OVERHEAD + key.length * 2 + value.body.length;
  for (const name in value.headers) {
    const v = value.headers[name]!;
    size += name.length + (Array.isArray(v) ? v.reduce((n, x) => n + x.length, 0) : v.length);
  }
  return size;
}

/** Largest body worth buffering for the cache: anything bigger could never be stored. */
export function maxEntryBytes(): number {
  return maxBytes;
}

/** Change the byte budget (evicting at once if needed). For operators and tests. */
export function setMaxBytes(bytes: number): void {
  maxBytes = bytes;
  evict();
}

function remove(id: string, slot: Slot): void {
  slots.delete(id);
  usedBytes -= slot.size;
}

function evict(): void {
  for (const [id, slot] of slots) {
    if (usedBytes <= maxBytes) return;
    remove(id, slot);
  }
}

export function fetch(pluginId: string, key: string, now = Date.now()): CachedResponse | null {
  const id = slotId(pluginId, key);
  const slot = slots.get(id);
  if (slot === undefined) return null;
  if (slot.value.expiresAt <= now) {
    remove(id, slot);
    return null;
  }
  // Mark as most recently used.
  slots.delete(id);
  slots.set(id, slot);
  return slot.value;
}

/** Store (replacing any previous entry); false when the entry alone exceeds the budget. */
export function store(pluginId: string, key: string, value: CachedResponse): boolean {
  const id = slotId(pluginId, key);
  const prev = slots.get(id);
  if (prev !== undefined) remove(id, prev);
  const size = entrySize(key, value);
  if (size > maxBytes) return false;
  slots.set(id, { pluginId, key, value, size });
  usedBytes += size;
  evict();
  return true;
}

export function purge(pluginId: string, key: string): boolean {
  const id = slotId(pluginId, key);
  const slot = slots.get(id);
  if (slot === undefined) return false;
  remove(id, slot);
  return true;
}

/** Forget every entry of one plugin instance, or of all when pluginId is omitted. */
export function flush(pluginId?: string): void {
  if (pluginId === undefined) {
    slots.clear();
    usedBytes = 0;
    return;
  }
  for (const [id, slot] of slots) if (slot.pluginId === pluginId) remove(id, slot);
}

/** Bytes currently held (for tests and diagnostics). */
export function bytesUsed(): number {
  return usedBytes;
}
