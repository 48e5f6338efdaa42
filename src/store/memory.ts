/**
 * In-memory store: DB-less mode (the configuration is a declarative file
 * loaded with POST /config or at start) and tests. In DB-less mode it is
 * read-only for the Admin API's entity writes (Kong answers those with
 * "cannot create 'services' entities when not using a database"), while
 * replaceAll() swaps the whole configuration at once.
 *
 * Writes work on a copy of the touched tables and swap it in on success, so
 * a failed write (or a failed replaceAll) leaves the previous configuration
 * untouched and readers never see half a change.
 */
import { ENTITIES, INSERT_ORDER, foreignKeysOf } from '../schema/entities/index.ts';
import { ENTITY_NAMES, type ConfigSnapshot, type EntityMap, type EntityName } from '../schema/entities/types.ts';
import {
  afterCursor,
  checkWrite,
  compareRows,
  decodeOffset,
  encodeOffset,
  endpointKeyOf,
  indexedColumns,
  matchesForeign,
  matchesTags,
  pageSize,
  planDelete,
  type Row,
  type RowAccess,
} from './integrity.ts';
import { StoreError, type ChangeEvent, type ListOptions, type ListPage, type Store } from './store.ts';

/** `<field>_id` columns: foreign keys are looked up by scanning, not through the unique indexes. */
const FOREIGN_COLUMNS = Object.fromEntries(
  ENTITY_NAMES.map((e) => [e, new Set(foreignKeysOf(e).map((fk) => `${fk.field}_id`))]),
) as Record<EntityName, Set<string>>;

/** One entity's rows with their unique and foreign-key indexes. */
class Table {
  readonly rows: Map<string, Row>;
  /** column → value → id */
  readonly indexes: Map<string, Map<string, string>>;

  constructor(rows?: Map<string, Row>, indexes?: Map<string, Map<string, string>>) {
    this.rows = rows ?? new Map();
    this.indexes = indexes ?? new Map();
  }

  clone(): Table {
    const indexes = new Map<string, Map<string, string>>();
    for (const [k, v] of this.indexes) indexes.set(k, new Map(v));
    return new Table(new Map(this.rows), indexes);
  }

  #index(entity: EntityName, row: Row, add: boolean): void {
    for (const [col, value] of Object.entries(indexedColumns(entity, row))) {
      if (value === null || FOREIGN_COLUMNS[entity].has(col)) continue;
      let idx = this.indexes.get(col);
      if (!idx) this.indexes.set(col, (idx = new Map()));
      if (add) idx.set(value, row.id as string);
      else if (idx.get(value) === row.id) idx.delete(value);
    }
  }

  put(entity: EntityName, row: Row): void {
    const old = this.rows.get(row.id as string);
    if (old) this.#index(entity, old, false);
    this.rows.set(row.id as string, row);
    this.#index(entity, row, true);
  }

  remove(entity: EntityName, id: string): void {
    const old = this.rows.get(id);
    if (!old) return;
    this.#index(entity, old, false);
    this.rows.delete(id);
  }

  findBy(column: string, value: string): Row | null {
    const id = this.indexes.get(column)?.get(value);
    return id === undefined ? null : (this.rows.get(id) ?? null);
  }
}

type Tables = Record<EntityName, Table>;

function emptyTables(): Tables {
  return Object.fromEntries(ENTITY_NAMES.map((e) => [e, new Table()])) as Tables;
}

/** Copy-on-write view of the tables for one transaction. */
class Working {
  readonly #base: Tables;
  readonly #copies = new Map<EntityName, Table>();

  constructor(base: Tables) {
    this.#base = base;
  }

  read(e: EntityName): Table {
    return this.#copies.get(e) ?? this.#base[e];
  }

  write(e: EntityName): Table {
    let t = this.#copies.get(e);
    if (!t) this.#copies.set(e, (t = this.#base[e].clone()));
    return t;
  }

  /** Start `e` over empty (replaceAll). */
  reset(e: EntityName): void {
    this.#copies.set(e, new Table());
  }

  commit(): Tables {
    const out = { ...this.#base };
    for (const [e, t] of this.#copies) out[e] = t;
    return out;
  }

  access(): RowAccess {
    return {
      get: async (entity, id) => this.read(entity).rows.get(id) ?? null,
      findBy: async (entity, column, value) => this.read(entity).findBy(column, value),
      referencing: async (entity, field, id) => {
        const out: string[] = [];
        for (const row of this.read(entity).rows.values()) {
          const fk = row[field] as { id?: string } | null | undefined;
          if (fk && fk.id === id) out.push(row.id as string);
        }
        return out;
      },
      servicesUsingCaCertificate: async (id) => {
        const out: string[] = [];
        for (const row of this.read('services').rows.values()) {
          if (Array.isArray(row.ca_certificates) && row.ca_certificates.includes(id)) out.push(row.id as string);
        }
        return out;
      },
    };
  }
}

export interface MemoryStoreOptions {
  /** DB-less: refuse insert/update/delete (replaceAll stays allowed). */
  readOnly?: boolean;
}

class MemoryStore implements Store {
  readonly kind = 'declarative' as const;
  readonly readOnly: boolean;
  #tables: Tables;
  #version: number;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listeners: Array<(e: ChangeEvent) => void> = [];

  constructor(snapshot: Omit<ConfigSnapshot, 'version'> | undefined, opts: MemoryStoreOptions) {
    this.readOnly = opts.readOnly ?? false;
    this.#tables = emptyTables();
    this.#version = 0;
    if (snapshot) {
      // The declarative loader has validated the file (references included); load it as given.
      for (const e of INSERT_ORDER) for (const row of (snapshot[e] ?? []) as unknown as Row[]) this.#tables[e].put(e, structuredClone(row));
      this.#version = 1;
    }
  }

  #refuseWhenReadOnly(entity: EntityName): void {
    if (this.readOnly) throw new StoreError('READ_ONLY', `cannot change '${entity}' entities when not using a database`);
  }

  #transaction<T>(fn: (w: Working) => Promise<T>): Promise<{ result: T; version: number }> {
    const run = async (): Promise<{ result: T; version: number }> => {
      const w = new Working(this.#tables);
      const result = await fn(w);
      this.#tables = w.commit();
      const version = ++this.#version;
      for (const l of this.#listeners) {
        try {
          l({ version });
        } catch {
          // a listener's failure must not undo a committed write
        }
      }
      return { result, version };
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async list<E extends EntityName>(entity: E, options: ListOptions): Promise<ListPage<EntityMap[E]>> {
    const size = pageSize(options.size);
    const cursor = options.offset ? decodeOffset(options.offset) : null;
    if (options.foreign && !ENTITIES[entity].schema.properties[options.foreign.field]) {
      throw new Error(`${entity} has no foreign key ${options.foreign.field}`);
    }
    const rows = [...this.#tables[entity].rows.values()]
      .filter((r) => matchesForeign(r, options.foreign) && matchesTags(r, options.tags) && (cursor === null || afterCursor(r, cursor)))
      .sort(compareRows);
    const data = rows.slice(0, size);
    return {
      data: structuredClone(data) as unknown as EntityMap[E][],
      offset: rows.length > size ? encodeOffset(data[data.length - 1]!) : null,
    };
  }

  async get<E extends EntityName>(entity: E, id: string): Promise<EntityMap[E] | null> {
    const r = this.#tables[entity].rows.get(id);
    return r ? (structuredClone(r) as unknown as EntityMap[E]) : null;
  }

  async getByKey<E extends EntityName>(entity: E, key: string): Promise<EntityMap[E] | null> {
    const column = endpointKeyOf(entity);
    if (column === null) return null;
    const r = this.#tables[entity].findBy(column, key);
    return r ? (structuredClone(r) as unknown as EntityMap[E]) : null;
  }

  async insert<E extends EntityName>(entity: E, row: EntityMap[E]): Promise<EntityMap[E]> {
    this.#refuseWhenReadOnly(entity);
    const r = structuredClone(row) as unknown as Row;
    await this.#transaction(async (w) => {
      if (w.read(entity).rows.has(r.id as string)) {
        throw new StoreError('UNIQUE_VIOLATION', `primary key violation on key '{id="${String(r.id)}"}'`, { id: r.id });
      }
      await checkWrite(w.access(), entity, r);
      w.write(entity).put(entity, r);
    });
    return structuredClone(r) as unknown as EntityMap[E];
  }

  async update<E extends EntityName>(entity: E, row: EntityMap[E]): Promise<EntityMap[E]> {
    this.#refuseWhenReadOnly(entity);
    const r = structuredClone(row) as unknown as Row;
    await this.#transaction(async (w) => {
      if (!w.read(entity).rows.has(r.id as string)) {
        throw new StoreError('NOT_FOUND', `could not find the entity with primary key '{id="${String(r.id)}"}'`, { id: r.id });
      }
      await checkWrite(w.access(), entity, r);
      w.write(entity).put(entity, r);
    });
    return structuredClone(r) as unknown as EntityMap[E];
  }

  async delete(entity: EntityName, id: string): Promise<boolean> {
    this.#refuseWhenReadOnly(entity);
    if (!this.#tables[entity].rows.has(id)) return false;
    const { result } = await this.#transaction(async (w) => {
      if (!w.read(entity).rows.has(id)) return false;
      const plan = await planDelete(w.access(), entity, id);
      for (const step of plan) w.write(step.entity).remove(step.entity, step.id);
      return true;
    });
    return result;
  }

  async snapshot(): Promise<ConfigSnapshot> {
    const out = { version: this.#version } as ConfigSnapshot;
    for (const e of ENTITY_NAMES) {
      (out as unknown as Record<string, unknown>)[e] = structuredClone([...this.#tables[e].rows.values()].sort(compareRows));
    }
    return out;
  }

  async replaceAll(config: Omit<ConfigSnapshot, 'version'>): Promise<number> {
    const { version } = await this.#transaction(async (w) => {
      for (const e of ENTITY_NAMES) w.reset(e);
      const access = w.access();
      for (const e of INSERT_ORDER) {
        for (const row of (config[e] ?? []) as unknown as Row[]) {
          const r = structuredClone(row);
          if (w.read(e).rows.has(r.id as string)) {
            throw new StoreError('UNIQUE_VIOLATION', `primary key violation on key '{id="${String(r.id)}"}'`, { id: r.id });
          }
          await checkWrite(access, e, r);
          w.write(e).put(e, r);
        }
      }
    });
    return version;
  }

  onChange(listener: (event: ChangeEvent) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.#queue;
  }
}

export function createMemoryStore(snapshot?: Omit<ConfigSnapshot, 'version'>, opts: MemoryStoreOptions = {}): Store {
  return new MemoryStore(snapshot, opts);
}
