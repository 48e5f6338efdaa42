/**
 * The storage interface every backend implements (sqlite embedded default,
 * postgres for cluster mode, declarative in-memory for DB-less mode).
 * One contract suite (test/contract/store.test.ts) runs against each.
 *
 * Rows are full entities with Kong's defaults already applied (validation and
 * defaulting happen in src/schema before a write reaches the store).
 */
import type { ConfigSnapshot, EntityMap, EntityName } from '../schema/entities/types.ts';

export interface ListOptions {
  /** Page size, Kong's `size` (default 100, max 1000). */
  size: number;
  /** Opaque cursor from a previous page's `offset`. */
  offset?: string | null;
  /** Kong's `tags` filter: `a,b` = all of them, `a/b` = any of them. */
  tags?: { values: string[]; mode: 'and' | 'or' } | null;
  /** Equality filter on a foreign key, for nested endpoints (`/services/x/routes`). */
  foreign?: { field: string; id: string } | null;
}

export interface ListPage<T> {
  data: T[];
  /** Cursor for the next page, or null at the end. */
  offset: string | null;
}

/** Typed store failures; the Admin API maps them to Kong's error shapes. */
export type StoreErrorCode =
  | 'UNIQUE_VIOLATION'
  | 'FOREIGN_KEY_VIOLATION'
  | 'NOT_FOUND'
  | 'READ_ONLY'
  | 'STORE_UNAVAILABLE'
  /** list(): the `offset` cursor cannot be decoded (Kong's INVALID_OFFSET, message "bad base64 encoding"). */
  | 'INVALID_OFFSET';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** Kong-shaped detail: for unique violations the field/value pairs, for FK the referencing entity. */
  readonly fields: Record<string, unknown>;
  constructor(code: StoreErrorCode, message: string, fields: Record<string, unknown> = {}) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.fields = fields;
  }
}

export interface ChangeEvent {
  /** Monotonic configuration version after the change. */
  version: number;
}

/** Kept events told to every node (src/core/cluster-events.ts ClusterEvents, same shape). */
export interface StoreEvents {
  broadcast(channel: string, data: string, ttlSeconds: number): Promise<void>;
  subscribe(channel: string, handler: (data: string) => void): () => void;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres' | 'declarative';
  /** DB-less: the Admin API refuses writes except POST /config. */
  readonly readOnly: boolean;

  list<E extends EntityName>(entity: E, options: ListOptions): Promise<ListPage<EntityMap[E]>>;
  get<E extends EntityName>(entity: E, id: string): Promise<EntityMap[E] | null>;
  /** Lookup by the entity's endpoint key (services/routes: name, consumers: username, snis: name, upstreams: name). */
  getByKey<E extends EntityName>(entity: E, key: string): Promise<EntityMap[E] | null>;
  /** Insert a fully defaulted row. Throws StoreError on unique / foreign-key violations. */
  insert<E extends EntityName>(entity: E, row: EntityMap[E]): Promise<EntityMap[E]>;
  /** Replace a whole row (PUT/PATCH after merge and validation). */
  update<E extends EntityName>(entity: E, row: EntityMap[E]): Promise<EntityMap[E]>;
  /** Delete by id; cascades as Kong does (service → its plugins; route → its plugins; consumer → its plugins and credentials). */
  delete(entity: EntityName, id: string): Promise<boolean>;

  /** Everything, consistently, for the runtime compiler and `GET /config`. */
  snapshot(): Promise<ConfigSnapshot>;
  /** Replace the whole configuration in one transaction (`POST /config`). */
  replaceAll(config: Omit<ConfigSnapshot, 'version'>): Promise<number>;

  /**
   * Events for every node sharing the database (PostgreSQL; absent elsewhere): the
   * port described in src/core/cluster-events.ts, which the gateway hands to plugins.
   */
  readonly events?: StoreEvents;

  /** Called after every committed change (in this process, or — postgres — in another node). */
  onChange(listener: (event: ChangeEvent) => void): void;
  close(): Promise<void>;
}
