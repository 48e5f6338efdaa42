/**
 * The `memory` strategy: one cache per node, shared by every worker — the
 * role Kong's lua_shared_dict plays there (`memory.dictionary_name`, by
 * default `kong_db_cache`, sized by `mem_cache_size`, 128m by default).
 * Entries live in the node's shared database (src/core/node-state), so a
 * response stored by one worker is a Hit on every other, an Admin API purge
 * reaches them all at once, and a worker that dies takes nothing with it.
 *
 * Each dictionary has its own byte budget; past it, the least recently used
 * entries of that dictionary go (last access kept to LRU_RESOLUTION_MS, so
 * a hit writes at most once per entry per second). Entries carry their own
 * storage deadline (storage_ttl, else the resource TTL); an expired entry
 * reads as absent and is dropped on the spot.
 *
 * Per worker there is only a small memo of decoded entries (MEMO_ENTRIES),
 * always checked against the shared row's generation first: it saves
 * copying a body out of the database on every hit and never serves an
 * entry the node has replaced or purged.
 */
import { Buffer } from 'node:buffer';
import type { StatementSync } from 'node:sqlite';
import { getRetry, nodeDatabase, runRetry, writeTransaction } from '../../core/node-state/database.ts';
import { clock } from '../../shared/clock.ts';

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

/** A named cache with its byte budget (Kong: a lua_shared_dict and its size). */
export interface CacheDictionary {
  readonly name: string;
  readonly maxBytes: number;
}

/** Kong's default dictionary and its default size (mem_cache_size). */
export const DEFAULT_DICTIONARY = 'kong_db_cache';
export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/** Bookkeeping per entry beyond its body and headers. */
const ENTRY_OVERHEAD = 256;
/** Granularity of the LRU order: a hit refreshes an entry's last access at most this often. */
export const LRU_RESOLUTION_MS = 1000;
/** Decoded entries a worker keeps (validated against the node's row on every use). */
const MEMO_ENTRIES = 256;
/** Bodies larger than this are not memoised per worker. */
const MEMO_MAX_BODY = 256 * 1024;
/** SQLite REAL cannot hold Infinity reliably through every binding: "kept until evicted". */
const NEVER = Number.MAX_VALUE;

export function dictionary(name: string = DEFAULT_DICTIONARY, maxBytes: number = DEFAULT_MAX_BYTES): CacheDictionary {
  return Object.freeze({ name, maxBytes });
}

interface Statements {
  head: StatementSync;
  full: StatementSync;
  touch: StatementSync;
  sizeOf: StatementSync;
  remove: StatementSync;
  insert: StatementSync;
  usage: StatementSync;
  addUsage: StatementSync;
  lru: StatementSync;
  flushPlugin: StatementSync;
  flushAll: StatementSync;
  recount: StatementSync;
}

let statements: Statements | null = null;

function prepared(): Statements {
  if (statements !== null) return statements;
  const db = nodeDatabase();
  db.exec(`CREATE TABLE IF NOT EXISTS proxy_cache (
    id TEXT PRIMARY KEY, dict TEXT NOT NULL, plugin_id TEXT NOT NULL, gen INTEGER NOT NULL,
    meta TEXT NOT NULL, body BLOB NOT NULL, size INTEGER NOT NULL, expires_at REAL NOT NULL, last_access INTEGER NOT NULL)`);
  db.exec('CREATE INDEX IF NOT EXISTS proxy_cache_lru ON proxy_cache (dict, last_access)');
  db.exec('CREATE TABLE IF NOT EXISTS proxy_cache_usage (dict TEXT PRIMARY KEY, bytes INTEGER NOT NULL) WITHOUT ROWID');
  statements = {
    head: db.prepare('SELECT gen, expires_at, last_access FROM proxy_cache WHERE id = ?'),
    full: db.prepare('SELECT gen, expires_at, last_access, meta, body FROM proxy_cache WHERE id = ?'),
    touch: db.prepare('UPDATE proxy_cache SET last_access = ? WHERE id = ?'),
    sizeOf: db.prepare('SELECT dict, size FROM proxy_cache WHERE id = ?'),
    remove: db.prepare('DELETE FROM proxy_cache WHERE id = ?'),
    insert: db.prepare(
      'INSERT INTO proxy_cache (id, dict, plugin_id, gen, meta, body, size, expires_at, last_access) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    usage: db.prepare('SELECT bytes FROM proxy_cache_usage WHERE dict = ?'),
    addUsage: db.prepare('INSERT INTO proxy_cache_usage (dict, bytes) VALUES (?1, ?2) ON CONFLICT (dict) DO UPDATE SET bytes = bytes + ?2'),
    lru: db.prepare('SELECT id, size FROM proxy_cache WHERE dict = ? ORDER BY last_access LIMIT 32'),
    flushPlugin: db.prepare('DELETE FROM proxy_cache WHERE plugin_id = ?'),
    flushAll: db.prepare('DELETE FROM proxy_cache'),
    recount: db.prepare('UPDATE proxy_cache_usage SET bytes = (SELECT COALESCE(SUM(size), 0) FROM proxy_cache WHERE proxy_cache.dict = proxy_cache_usage.dict)'),
  };
  for (const s of [statements.head, statements.full, statements.sizeOf, statements.usage, statements.lru]) s.setReturnArrays(true);
  return statements;
}

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

interface Memo {
  gen: number;
  value: CachedResponse;
}
/** Insertion order = recency order, as in a plain LRU. */
const memo = new Map<string, Memo>();

function remember(id: string, gen: number, value: CachedResponse): void {
  if (value.body.length > MEMO_MAX_BODY) return;
  memo.delete(id);
  if (memo.size >= MEMO_ENTRIES) memo.delete(memo.keys().next().value!);
  memo.set(id, { gen, value });
}

function decode(meta: string, body: Uint8Array, expiresAt: number): CachedResponse {
  const m = JSON.parse(meta) as Omit<CachedResponse, 'body' | 'expiresAt'>;
  return {
    status: m.status,
    headers: m.headers,
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    storedAt: m.storedAt,
    ttl: m.ttl,
    expiresAt: expiresAt >= NEVER ? Number.POSITIVE_INFINITY : expiresAt,
    version: m.version,
    reqBody: m.reqBody,
  };
}

/** Delete one entry and give its bytes back to its dictionary (inside a write transaction). */
function removeRow(s: Statements, id: string): boolean {
  const row = s.sizeOf.get(id) as [string, number] | undefined;
  if (row === undefined) return false;
  s.remove.run(id);
  s.addUsage.run(row[0], -row[1]);
  return true;
}

/** The entry of one plugin instance for `key`, or null (absent or expired). Marks it recently used. */
export function fetch(pluginId: string, key: string, now = clock.now()): CachedResponse | null {
  const s = prepared();
  const id = slotId(pluginId, key);
  const known = memo.get(id);
  let value: CachedResponse;
  let row: [number, number, number] | [number, number, number, string, Uint8Array] | undefined;
  if (known !== undefined) {
    row = getRetry(s.head, id) as [number, number, number] | undefined;
    if (row === undefined) {
      memo.delete(id);
      return null;
    }
    if (row[0] !== known.gen) {
      row = getRetry(s.full, id) as [number, number, number, string, Uint8Array] | undefined;
      if (row === undefined) return null;
    }
  } else {
    row = getRetry(s.full, id) as [number, number, number, string, Uint8Array] | undefined;
    if (row === undefined) return null;
  }
  if (row[1] <= now) {
    memo.delete(id);
    writeTransaction(nodeDatabase(), () => removeRow(s, id));
    return null;
  }
  if (row.length === 3) value = known!.value;
  else {
    value = decode(row[3], row[4], row[1]);
    remember(id, row[0], value);
  }
  if (now - row[2] >= LRU_RESOLUTION_MS) runRetry(s.touch, now, id);
  return value;
}

/** Store (replacing any previous entry) in `dict`; false when the entry alone exceeds the dictionary's budget. */
export function store(dict: CacheDictionary, pluginId: string, key: string, value: CachedResponse, now = clock.now()): boolean {
  const s = prepared();
  const id = slotId(pluginId, key);
  const size = entrySize(key, value);
  const meta = JSON.stringify({ status: value.status, headers: value.headers, storedAt: value.storedAt, ttl: value.ttl, version: value.version, reqBody: value.reqBody });
  const gen = Math.floor(Math.random() * 2 ** 52);
  memo.delete(id);
  return writeTransaction(nodeDatabase(), () => {
    removeRow(s, id);
    if (size > dict.maxBytes) return false;
    const expiresAt = value.expiresAt === Number.POSITIVE_INFINITY ? NEVER : value.expiresAt;
    s.insert.run(id, dict.name, pluginId, gen, meta, value.body, size, expiresAt, now);
    s.addUsage.run(dict.name, size);
    evict(s, dict, id);
    return true;
  });
}

/** Drop the least recently used entries of `dict` until it fits its budget (never `keep`, the entry just stored). */
function evict(s: Statements, dict: CacheDictionary, keep: string): void {
  let used = (s.usage.get(dict.name) as [number] | undefined)?.[0] ?? 0;
  while (used > dict.maxBytes) {
    const victims = s.lru.all(dict.name) as unknown as Array<[string, number]>;
    let removed = false;
    for (const [id, size] of victims) {
      if (id === keep) continue;
      s.remove.run(id);
      s.addUsage.run(dict.name, -size);
      used -= size;
      removed = true;
      if (used <= dict.maxBytes) break;
    }
    if (!removed) return;
  }
}

export function purge(pluginId: string, key: string): boolean {
  const s = prepared();
  const id = slotId(pluginId, key);
  memo.delete(id);
  return writeTransaction(nodeDatabase(), () => removeRow(s, id));
}

/** Forget every entry of one plugin instance, or of all when pluginId is omitted. */
export function flush(pluginId?: string): void {
  const s = prepared();
  memo.clear();
  writeTransaction(nodeDatabase(), () => {
    if (pluginId === undefined) s.flushAll.run();
    else s.flushPlugin.run(pluginId);
    s.recount.run();
  });
}

/** Bytes a dictionary currently holds, node-wide (for tests and diagnostics). */
export function bytesUsed(dict: string = DEFAULT_DICTIONARY): number {
  return (prepared().usage.get(dict) as [number] | undefined)?.[0] ?? 0;
}
