/**
 * The embedded default store: one SQLite file (node:sqlite).
 *
 * Durability: WAL with synchronous=FULL, so a write acknowledged to the
 * Admin API survives kill -9 and power loss (SQLite "WAL mode, FULL": each
 * commit syncs the WAL). Foreign keys are on as a safety net behind the
 * Kong-worded checks of ../integrity.ts.
 *
 * Two connections: writes go through one, serialised and each in a
 * BEGIN IMMEDIATE transaction; reads use the other and so only ever see
 * committed data. Every write bumps the configuration version in the same
 * transaction; listeners hear of it after COMMIT.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { INSERT_ORDER } from '../../schema/entities/index.ts';
import { ENTITY_NAMES, type ConfigSnapshot, type EntityMap, type EntityName } from '../../schema/entities/types.ts';
import { SQLITE_MIGRATIONS } from '../migrations/sqlite.ts';
import type { Migration } from '../migrations/types.ts';
import {
  checkWrite,
  decodeOffset,
  encodeOffset,
  endpointKeyOf,
  indexedColumns,
  pageSize,
  planDelete,
  type Row,
  type RowAccess,
} from '../integrity.ts';
import { StoreError, type ChangeEvent, type ListOptions, type ListPage, type Store } from '../store.ts';

const COLUMNS: Record<EntityName, string[]> = Object.fromEntries(
  ENTITY_NAMES.map((e) => [e, Object.keys(indexedColumns(e, {}))]),
) as Record<EntityName, string[]>;

function parse<T>(data: unknown): T {
  return JSON.parse(String(data)) as T;
}

/** Apply the migrations a database has not seen yet, each in its own transaction. */
export function migrateSqlite(db: DatabaseSync, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const stmt of m.up) db.exec(stmt);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Math.floor(Date.now() / 1000));
      db.exec('COMMIT');
      applied.push(m.version);
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
  return applied;
}

const statements = new WeakMap<DatabaseSync, Map<string, StatementSync>>();

/** Prepared statements are compiled once per connection and SQL text. */
function stmt(db: DatabaseSync, sql: string): StatementSync {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}

function openConnection(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true, timeout: 5000 });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA foreign_keys = ON');
  return db;
}

/** Map a raw SQLite constraint error to a StoreError (the pre-checks normally catch these first). */
function mapSqliteError(err: unknown): unknown {
  const msg = err instanceof Error ? err.message : String(err);
  const unique = /UNIQUE constraint failed: \w+\.(\w+)/.exec(msg);
  if (unique) return new StoreError('UNIQUE_VIOLATION', `UNIQUE violation detected on '{${unique[1]}}'`, { [unique[1]!]: null });
  if (msg.includes('FOREIGN KEY constraint failed')) return new StoreError('FOREIGN_KEY_VIOLATION', 'foreign key violation', {});
  return err;
}

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly readOnly = false;
  readonly #w: DatabaseSync;
  readonly #r: DatabaseSync;
  readonly #listeners: Array<(e: ChangeEvent) => void> = [];
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(path: string) {
    this.#w = openConnection(path);
    migrateSqlite(this.#w);
    // An in-memory database is private to its connection: read through the writer.
    this.#r = path === ':memory:' ? this.#w : openConnection(path);
  }

  #access(db: DatabaseSync): RowAccess {
    return {
      get: async (entity, id) => this.#get(db, entity, id),
      findBy: async (entity, column, value) => {
        const r = stmt(db, `SELECT data FROM ${entity} WHERE ${column} = ?`).get(value) as { data: string } | undefined;
        return r ? parse<Row>(r.data) : null;
      },
      referencing: async (entity, field, id) =>
        (stmt(db, `SELECT id FROM ${entity} WHERE ${field}_id = ?`).all(id) as { id: string }[]).map((r) => r.id),
      servicesUsingCaCertificate: async (id) =>
        (
          db
            .prepare(`SELECT id FROM services WHERE EXISTS (SELECT 1 FROM json_each(services.data, '$.ca_certificates') WHERE json_each.value = ?)`)
            .all(id) as { id: string }[]
        ).map((r) => r.id),
    };
  }

  #get(db: DatabaseSync, entity: EntityName, id: string): Row | null {
    const r = stmt(db, `SELECT data FROM ${entity} WHERE id = ?`).get(id) as { data: string } | undefined;
    return r ? parse<Row>(r.data) : null;
  }

  #write(entity: EntityName, row: Row, mode: 'insert' | 'update'): void {
    const cols = indexedColumns(entity, row);
    const names = ['id', 'created_at', 'tags', 'data', ...COLUMNS[entity]];
    const values: SQLInputValue[] = [
      row.id as string,
      row.created_at as number,
      Array.isArray(row.tags) ? JSON.stringify(row.tags) : null,
      JSON.stringify(row),
      ...COLUMNS[entity].map((c) => cols[c] ?? null),
    ];
    if (mode === 'insert') {
      stmt(this.#w, `INSERT INTO ${entity} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...values);
    } else {
      stmt(this.#w, `UPDATE ${entity} SET ${names.slice(1).map((n) => `${n} = ?`).join(', ')} WHERE id = ?`).run(...values.slice(1), values[0]!);
    }
  }

  #bump(): number {
    const r = stmt(this.#w, 'UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version').get() as { version: number };
    return Number(r.version);
  }

  /** Run fn in one serialised write transaction; bump the version; notify after COMMIT. */
  #transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.#transactionWithVersion(fn).then((r) => r.result);
  }

  #transactionWithVersion<T>(fn: () => Promise<T>): Promise<{ result: T; version: number }> {
    const run = async (): Promise<{ result: T; version: number }> => {
      if (this.#closed) throw new StoreError('STORE_UNAVAILABLE', 'store is closed');
      this.#w.exec('BEGIN IMMEDIATE');
      let result: T;
      let version: number;
      try {
        result = await fn();
        version = this.#bump();
        this.#w.exec('COMMIT');
      } catch (err) {
        if (this.#w.isTransaction) this.#w.exec('ROLLBACK');
        throw mapSqliteError(err);
      }
      this.#emit(version);
      return { result, version };
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  #emit(version: number): void {
    for (const l of this.#listeners) {
      try {
        l({ version });
      } catch {
        // a listener's failure must not undo a committed write
      }
    }
  }

  async list<E extends EntityName>(entity: E, options: ListOptions): Promise<ListPage<EntityMap[E]>> {
    const size = pageSize(options.size);
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (options.foreign) {
      if (!COLUMNS[entity].includes(`${options.foreign.field}_id`)) throw new Error(`${entity} has no foreign key ${options.foreign.field}`);
      where.push(`${options.foreign.field}_id = ?`);
      params.push(options.foreign.id);
    }
    const tags = options.tags;
    if (tags && tags.values.length > 0) {
      if (tags.mode === 'and') {
        for (const t of tags.values) {
          where.push(`EXISTS (SELECT 1 FROM json_each(${entity}.tags) WHERE json_each.value = ?)`);
          params.push(t);
        }
      } else {
        where.push(`EXISTS (SELECT 1 FROM json_each(${entity}.tags) WHERE json_each.value IN (${tags.values.map(() => '?').join(', ')}))`);
        params.push(...tags.values);
      }
    }
    if (options.offset) {
      const c = decodeOffset(options.offset);
      where.push('(created_at > ? OR (created_at = ? AND id > ?))');
      params.push(c.createdAt, c.createdAt, c.id);
    }
    const sql = `SELECT data FROM ${entity}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ?`;
    const rows = (stmt(this.#r, sql).all(...params, size + 1) as { data: string }[]).map((r) => parse<Row>(r.data));
    const more = rows.length > size;
    const data = more ? rows.slice(0, size) : rows;
    return { data: data as unknown as EntityMap[E][], offset: more ? encodeOffset(data[data.length - 1]!) : null };
  }

  async get<E extends EntityName>(entity: E, id: string): Promise<EntityMap[E] | null> {
    return this.#get(this.#r, entity, id) as EntityMap[E] | null;
  }

  async getByKey<E extends EntityName>(entity: E, key: string): Promise<EntityMap[E] | null> {
    const column = endpointKeyOf(entity);
    if (column === null) return null;
    const r = stmt(this.#r, `SELECT data FROM ${entity} WHERE ${column} = ?`).get(key) as { data: string } | undefined;
    return r ? parse<EntityMap[E]>(r.data) : null;
  }

  insert<E extends EntityName>(entity: E, row: EntityMap[E]): Promise<EntityMap[E]> {
    return this.#transaction(async () => {
      const r = row as unknown as Row;
      if (this.#get(this.#w, entity, r.id as string) !== null) throw new StoreError('UNIQUE_VIOLATION', `primary key violation on key '{id="${String(r.id)}"}'`, { id: r.id });
      await checkWrite(this.#access(this.#w), entity, r);
      this.#write(entity, r, 'insert');
      return row;
    });
  }

  update<E extends EntityName>(entity: E, row: EntityMap[E]): Promise<EntityMap[E]> {
    return this.#transaction(async () => {
      const r = row as unknown as Row;
      if (this.#get(this.#w, entity, r.id as string) === null) {
        throw new StoreError('NOT_FOUND', `could not find the entity with primary key '{id="${String(r.id)}"}'`, { id: r.id });
      }
      await checkWrite(this.#access(this.#w), entity, r);
      this.#write(entity, r, 'update');
      return row;
    });
  }

  async delete(entity: EntityName, id: string): Promise<boolean> {
    if (this.#get(this.#r, entity, id) === null) return false;
    return this.#transaction(async () => {
      if (this.#get(this.#w, entity, id) === null) return false;
      const plan = await planDelete(this.#access(this.#w), entity, id);
      for (const step of plan) stmt(this.#w, `DELETE FROM ${step.entity} WHERE id = ?`).run(step.id);
      return true;
    });
  }

  async snapshot(): Promise<ConfigSnapshot> {
    // One read transaction: every table and the version from the same instant.
    this.#r.exec('BEGIN');
    try {
      const version = Number((stmt(this.#r, 'SELECT version FROM config_version WHERE id = 1').get() as { version: number }).version);
      const out = { version } as ConfigSnapshot;
      for (const e of ENTITY_NAMES) {
        (out as unknown as Record<string, unknown>)[e] = (stmt(this.#r, `SELECT data FROM ${e} ORDER BY created_at, id`).all() as { data: string }[]).map(
          (r) => parse<Row>(r.data),
        );
      }
      return out;
    } finally {
      this.#r.exec('COMMIT');
    }
  }

  async replaceAll(config: Omit<ConfigSnapshot, 'version'>): Promise<number> {
    const { version } = await this.#transactionWithVersion(async () => {
      for (const e of [...INSERT_ORDER].reverse()) this.#w.exec(`DELETE FROM ${e}`);
      const access = this.#access(this.#w);
      for (const e of INSERT_ORDER) {
        for (const row of (config[e] ?? []) as unknown as Row[]) {
          if (this.#get(this.#w, e, row.id as string) !== null) throw new StoreError('UNIQUE_VIOLATION', `primary key violation on key '{id="${String(row.id)}"}'`, { id: row.id });
          await checkWrite(access, e, row);
          this.#write(e, row, 'insert');
        }
      }
    });
    return version;
  }

  onChange(listener: (event: ChangeEvent) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue;
    this.#closed = true;
    if (this.#r !== this.#w) this.#r.close();
    this.#w.close();
  }
}

/** Open (creating the folder and the file if needed) and migrate a SQLite store. */
export async function openSqliteStore(path: string): Promise<Store> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  return new SqliteStore(path);
}
