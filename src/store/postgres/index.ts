/**
 * PostgreSQL store for cluster mode: every node points at the same database,
 * as Kong does. Same tables and integrity rules as the SQLite store.
 *
 * Writes: one transaction each, which starts by bumping the configuration
 * version row. That row lock serialises writers across all nodes, so the
 * Kong-worded uniqueness and foreign-key checks cannot race; the database
 * constraints remain as a safety net. The same transaction NOTIFYs the new
 * version, which PostgreSQL delivers on COMMIT, so every node's onChange
 * listeners fire for changes made anywhere (LISTEN on a dedicated connection,
 * re-established after a disconnect). The same connection carries the
 * cluster events plugins broadcast (./events.ts): one LISTEN connection per
 * node, whatever the plugins.
 */
import process from 'node:process';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { isUuid } from '../../schema/checks.ts';
import { INSERT_ORDER } from '../../schema/entities/index.ts';
import { ENTITY_NAMES, type ConfigSnapshot, type EntityMap, type EntityName } from '../../schema/entities/types.ts';
import { logger } from '../../shared/log.ts';
import { POSTGRES_MIGRATIONS } from '../migrations/postgres.ts';
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
import { PgClusterEvents } from './events.ts';
import { StoreError, type ChangeEvent, type ListOptions, type ListPage, type Store } from '../store.ts';

export interface PostgresOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Schema holding the tables (created if missing); default `public`. */
  schema?: string | null;
  /** Pool size; default 10. */
  max?: number;
  /** Kong's pg_timeout: connect timeout, milliseconds. */
  timeoutMs?: number;
  /**
   * Create or update the schema when opening (default true: tests, library
   * use). `portcullis start` passes false, as Kong refuses to start on a
   * database that was not bootstrapped (`migrations bootstrap`) or has new
   * migrations (`migrations up`).
   */
  autoMigrate?: boolean;
}

/** Kong's start-up refusal (kong/cmd/utils/migrations.lua check_state). */
export class SchemaNotReadyError extends Error {
  override name = 'SchemaNotReadyError';
}

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

const COLUMNS: Record<EntityName, string[]> = Object.fromEntries(
  ENTITY_NAMES.map((e) => [e, Object.keys(indexedColumns(e, {}))]),
) as Record<EntityName, string[]>;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P03', '08006', '08001', '08004']);

/** Map driver errors: constraint violations to Kong's kinds, connectivity to STORE_UNAVAILABLE. */
function mapPgError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; constraint?: string; message?: string; detail?: string };
  if (e.code === '23505') {
    const m = /Key \((\w+)\)=\((.*)\) already exists/.exec(e.detail ?? '');
    const field = m?.[1] ?? 'id';
    return new StoreError('UNIQUE_VIOLATION', `UNIQUE violation detected on '{${field}="${m?.[2] ?? ''}"}'`, { [field]: m?.[2] ?? null });
  }
  if (e.code === '23503') return new StoreError('FOREIGN_KEY_VIOLATION', 'foreign key violation', {});
  if (e.code !== undefined && CONNECTION_CODES.has(e.code)) return new StoreError('STORE_UNAVAILABLE', `database unavailable: ${e.message ?? e.code}`);
  return err;
}

/** Apply missing migrations; an advisory lock keeps nodes starting together from racing. */
export async function migratePostgres(client: pg.PoolClient | pg.Client, schema: string, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      for (const stmt of m.up) await client.query(stmt);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Math.floor(Date.now() / 1000)]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}

/** Refuse a database that is not bootstrapped or not up to date, with Kong's advice. */
async function checkSchema(client: pg.PoolClient, schema: string, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<void> {
  const exists = (await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${quoteIdent(schema)}.schema_migrations`])).rows[0]?.t != null;
  const done = exists ? new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version)) : new Set<number>();
  if (done.size === 0) throw new SchemaNotReadyError("Database needs bootstrapping; run 'portcullis migrations bootstrap'");
  if (migrations.some((m) => !done.has(m.version))) throw new SchemaNotReadyError("New migrations available; run 'portcullis migrations up' to proceed");
}

function parseRow(data: unknown): Row {
  return JSON.parse(String(data)) as Row;
}

class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly readOnly = false;
  readonly #pool: pg.Pool;
  readonly #opts: PostgresOptions;
  readonly #schema: string;
  readonly #channel: string;
  readonly #listeners: Array<(e: ChangeEvent) => void> = [];
  #listenClient: pg.Client | null = null;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #lastVersion = 0;
  #closed = false;
  readonly events: PgClusterEvents;

  constructor(opts: PostgresOptions) {
    this.#opts = opts;
    this.#schema = opts.schema ?? 'public';
    // NOTIFY channels are identifiers (at most 63 bytes): name the schema by a hash.
    this.#channel = `portcullis_config_${createHash('sha256').update(this.#schema).digest('hex').slice(0, 24)}`;
    this.#pool = new pg.Pool({
      host: opts.host,
      port: opts.port,
      user: opts.user,
      password: opts.password,
      database: opts.database,
      max: opts.max ?? 10,
      ...(opts.timeoutMs !== undefined ? { connectionTimeoutMillis: opts.timeoutMs } : {}),
      options: `-c search_path=${quoteIdent(this.#schema)}`,
    });
    this.events = new PgClusterEvents(this.#pool, `portcullis_events_${createHash('sha256').update(this.#schema).digest('hex').slice(0, 24)}`);
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.#pool.on('error', (err) => logger().warn({ err: err.message }, 'postgres: idle connection error'));
  }

  async init(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      if (this.#opts.autoMigrate === false) await checkSchema(client, this.#schema);
      else await migratePostgres(client, this.#schema);
    } finally {
      client.release();
    }
    this.#lastVersion = await this.#currentVersion(this.#pool);
    await this.#listen();
  }

  async #currentVersion(q: Queryable): Promise<number> {
    const r = await q.query<{ version: string }>('SELECT version FROM config_version WHERE id = 1');
    return Number(r.rows[0]?.version ?? 0);
  }

  async #listen(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({
      host: this.#opts.host,
      port: this.#opts.port,
      user: this.#opts.user,
      password: this.#opts.password,
      database: this.#opts.database,
      options: `-c search_path=${quoteIdent(this.#schema)}`,
      // Which node's listener this is, in pg_stat_activity.
      application_name: `portcullis-listen-${process.pid}`,
    });
    const retry = () => {
      this.events.lost();
      if (this.#closed || this.#reconnectTimer !== null) return;
      if (this.#listenClient === client) this.#listenClient = null;
      client.end().catch(() => undefined);
      this.#reconnectTimer = setTimeout(() => {
        this.#reconnectTimer = null;
        this.#listen().catch(() => retry());
      }, 1000);
      this.#reconnectTimer.unref();
    };
    client.on('error', (err) => {
      logger().warn({ err: err.message }, 'postgres: change-notification connection lost; reconnecting');
      retry();
    });
    client.on('end', retry);
    client.on('notification', (msg) => {
      if (msg.channel === this.events.notifyChannel) return this.events.notified(msg.payload);
      if (msg.channel !== this.#channel) return;
      const v = Number(msg.payload);
      if (Number.isFinite(v)) this.#emit(v);
    });
    await client.connect();
    await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
    await client.query(`LISTEN ${quoteIdent(this.events.notifyChannel)}`);
    this.#listenClient = client;
    // Changes committed and events sent while no one listened (first start, after a reconnect).
    this.#emit(await this.#currentVersion(client));
    await this.events.listening(client);
  }

  /** Fire listeners once per new version, whether the change was ours or another node's. */
  #emit(version: number): void {
    if (version <= this.#lastVersion) return;
    this.#lastVersion = version;
    for (const l of this.#listeners) {
      try {
        l({ version });
      } catch {
        // a listener's failure must not undo a committed write
      }
    }
  }

  async #query<T extends pg.QueryResultRow>(q: Queryable, text: string, params: unknown[] = []): Promise<pg.QueryResult<T>> {
    try {
      return await q.query<T>(text, params);
    } catch (err) {
      throw mapPgError(err);
    }
  }

  #access(c: pg.PoolClient): RowAccess {
    return {
      get: async (entity, id) => this.#get(c, entity, id),
      findBy: async (entity, column, value) => {
        const r = await this.#query<{ data: string }>(c, `SELECT data FROM ${entity} WHERE ${column} = $1`, [value]);
        return r.rows[0] ? parseRow(r.rows[0].data) : null;
      },
      referencing: async (entity, field, id) => {
        if (!isUuid(id)) return [];
        return (await this.#query<{ id: string }>(c, `SELECT id FROM ${entity} WHERE ${field}_id = $1`, [id])).rows.map((r) => r.id);
      },
      servicesUsingCaCertificate: async (id) =>
        (await this.#query<{ id: string }>(c, `SELECT id FROM services WHERE (data::jsonb -> 'ca_certificates') ? $1`, [id])).rows.map((r) => r.id),
    };
  }

  async #get(q: Queryable, entity: EntityName, id: string): Promise<Row | null> {
    if (!isUuid(id)) return null;
    const r = await this.#query<{ data: string }>(q, `SELECT data FROM ${entity} WHERE id = $1`, [id]);
    return r.rows[0] ? parseRow(r.rows[0].data) : null;
  }

  async #write(c: pg.PoolClient, entity: EntityName, row: Row, mode: 'insert' | 'update'): Promise<void> {
    const cols = indexedColumns(entity, row);
    const names = ['id', 'created_at', 'tags', 'data', ...COLUMNS[entity]];
    const values: unknown[] = [row.id, row.created_at, Array.isArray(row.tags) ? row.tags : null, JSON.stringify(row), ...COLUMNS[entity].map((n) => cols[n] ?? null)];
    if (mode === 'insert') {
      await this.#query(c, `INSERT INTO ${entity} (${names.join(', ')}) VALUES (${names.map((_n, i) => `$${i + 1}`).join(', ')})`, values);
    } else {
      const sets = names.slice(1).map((n, i) => `${n} = $${i + 2}`);
      await this.#query(c, `UPDATE ${entity} SET ${sets.join(', ')} WHERE id = $1`, values);
    }
  }

  async #transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<{ result: T; version: number }> {
    if (this.#closed) throw new StoreError('STORE_UNAVAILABLE', 'store is closed');
    let c: pg.PoolClient;
    try {
      c = await this.#pool.connect();
    } catch (err) {
      throw mapPgError(err);
    }
    try {
      await this.#query(c, 'BEGIN');
      // Taking the version row's lock first serialises writers across every node.
      const v = await this.#query<{ version: string }>(c, 'UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version');
      const version = Number(v.rows[0]!.version);
      const result = await fn(c);
      await this.#query(c, 'SELECT pg_notify($1, $2)', [this.#channel, String(version)]);
      await this.#query(c, 'COMMIT');
      this.#emit(version);
      return { result, version };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw mapPgError(err);
    } finally {
      c.release();
    }
  }

  async list<E extends EntityName>(entity: E, options: ListOptions): Promise<ListPage<EntityMap[E]>> {
    const size = pageSize(options.size);
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.foreign) {
      if (!COLUMNS[entity].includes(`${options.foreign.field}_id`)) throw new Error(`${entity} has no foreign key ${options.foreign.field}`);
      if (!isUuid(options.foreign.id)) return { data: [], offset: null };
      params.push(options.foreign.id);
      where.push(`${options.foreign.field}_id = $${params.length}`);
    }
    const tags = options.tags;
    if (tags && tags.values.length > 0) {
      params.push(tags.values);
      where.push(`tags ${tags.mode === 'and' ? '@>' : '&&'} $${params.length}::text[]`);
    }
    if (options.offset) {
      const c = decodeOffset(options.offset);
      params.push(c.createdAt, c.id);
      where.push(`(created_at, id) > ($${params.length - 1}::double precision, $${params.length}::uuid)`);
    }
    params.push(size + 1);
    const sql = `SELECT data FROM ${entity}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT $${params.length}`;
    const rows = (await this.#query<{ data: string }>(this.#pool, sql, params)).rows.map((r) => parseRow(r.data));
    const more = rows.length > size;
    const data = more ? rows.slice(0, size) : rows;
    return { data: data as unknown as EntityMap[E][], offset: more ? encodeOffset(data[data.length - 1]!) : null };
  }

  async get<E extends EntityName>(entity: E, id: string): Promise<EntityMap[E] | null> {
    return (await this.#get(this.#pool, entity, id)) as EntityMap[E] | null;
  }

  async getByKey<E extends EntityName>(entity: E, key: string): Promise<EntityMap[E] | null> {
    const column = endpointKeyOf(entity);
    if (column === null) return null;
    const r = await this.#query<{ data: string }>(this.#pool, `SELECT data FROM ${entity} WHERE ${column} = $1`, [key]);
    return r.rows[0] ? (parseRow(r.rows[0].data) as unknown as EntityMap[E]) : null;
  }

  async insert<E extends EntityName>(entity: E, row: EntityMap[E]): Promise<EntityMap[E]> {
    const r = row as unknown as Row;
    await this.#transaction(async (c) => {
      if ((await this.#get(c, entity, r.id as string)) !== null) {
        throw new StoreError('UNIQUE_VIOLATION', `primary key violation on key '{id="${String(r.id)}"}'`, { id: r.id });
      }
      await checkWrite(this.#access(c), entity, r);
      await this.#write(c, entity, r, 'insert');
    });
    return row;
  }

  async update<E extends EntityName>(entity: E, row: EntityMap[E]): Promise<EntityMap[E]> {
    const r = row as unknown as Row;
    await this.#transaction(async (c) => {
      if ((await this.#get(c, entity, r.id as string)) === null) {
        throw new StoreError('NOT_FOUND', `could not find the entity with primary key '{id="${String(r.id)}"}'`, { id: r.id });
      }
      await checkWrite(this.#access(c), entity, r);
      await this.#write(c, entity, r, 'update');
    });
    return row;
  }

  async delete(entity: EntityName, id: string): Promise<boolean> {
    if ((await this.#get(this.#pool, entity, id)) === null) return false;
    const { result } = await this.#transaction(async (c) => {
      if ((await this.#get(c, entity, id)) === null) return false;
      const plan = await planDelete(this.#access(c), entity, id);
      for (const step of plan) await this.#query(c, `DELETE FROM ${step.entity} WHERE id = $1`, [step.id]);
      return true;
    });
    return result;
  }

  async snapshot(): Promise<ConfigSnapshot> {
    let c: pg.PoolClient;
    try {
      c = await this.#pool.connect();
    } catch (err) {
      throw mapPgError(err);
    }
    try {
      // One consistent view of every table and the version.
      await this.#query(c, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const out = { version: await this.#currentVersion(c) } as ConfigSnapshot;
      for (const e of ENTITY_NAMES) {
        const r = await this.#query<{ data: string }>(c, `SELECT data FROM ${e} ORDER BY created_at, id`);
        (out as unknown as Record<string, unknown>)[e] = r.rows.map((x) => parseRow(x.data));
      }
      await this.#query(c, 'COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async replaceAll(config: Omit<ConfigSnapshot, 'version'>): Promise<number> {
    const { version } = await this.#transaction(async (c) => {
      for (const e of [...INSERT_ORDER].reverse()) await this.#query(c, `DELETE FROM ${e}`);
      const access = this.#access(c);
      for (const e of INSERT_ORDER) {
        for (const row of (config[e] ?? []) as unknown as Row[]) {
          if ((await this.#get(c, e, row.id as string)) !== null) {
            throw new StoreError('UNIQUE_VIOLATION', `primary key violation on key '{id="${String(row.id)}"}'`, { id: row.id });
          }
          await checkWrite(access, e, row);
          await this.#write(c, e, row, 'insert');
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
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const l = this.#listenClient;
    this.#listenClient = null;
    if (l) {
      l.removeAllListeners('end');
      await l.end().catch(() => undefined);
    }
    await this.#pool.end();
  }
}

/** Connect, migrate (creating the schema if needed) and start listening for other nodes' changes. */
export async function openPostgresStore(opts: PostgresOptions): Promise<Store> {
  const store = new PostgresStore(opts);
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof SchemaNotReadyError) throw err;
    throw mapPgError(err);
  }
  return store;
}
