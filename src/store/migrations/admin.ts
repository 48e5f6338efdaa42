/**
 * SchemaAdmin for each store: the connection the `migrations` commands and
 * `start` (to refuse an un-bootstrapped PostgreSQL database) use. It opens
 * the database without migrating it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { POSTGRES_MIGRATIONS } from './postgres.ts';
import { SQLITE_MIGRATIONS } from './sqlite.ts';
import { stateOf, tablesOf, type SchemaAdmin, type SchemaState } from './schema-state.ts';
import { migratePostgres } from '../postgres/index.ts';
import { migrateSqlite } from '../sqlite/index.ts';
import type { PostgresOptions } from '../postgres/index.ts';

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export function postgresSchemaAdmin(opts: PostgresOptions): SchemaAdmin {
  const schema = opts.schema ?? 'public';
  const client = new pg.Client({
    host: opts.host,
    port: opts.port,
    user: opts.user,
    password: opts.password,
    database: opts.database,
    connectionTimeoutMillis: opts.timeoutMs ?? 5000,
  });
  let connected: Promise<void> | null = null;
  const ready = (): Promise<void> => (connected ??= client.connect().then(() => undefined));
  const has = async (table: string): Promise<boolean> =>
    (await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${quote(schema)}.${quote(table)}`])).rows[0]?.t != null;
  return {
    description: `database '${opts.database}' on ${opts.host}:${opts.port}${schema !== 'public' ? ` (schema '${schema}')` : ''}`,
    async state(): Promise<SchemaState> {
      await ready();
      const kong = await has('schema_meta');
      if (!(await has('schema_migrations'))) return stateOf(POSTGRES_MIGRATIONS, [], kong);
      const rows = (await client.query<{ version: number }>(`SELECT version FROM ${quote(schema)}.schema_migrations`)).rows;
      return stateOf(POSTGRES_MIGRATIONS, rows.map((r) => r.version), kong);
    },
    async migrate(): Promise<string[]> {
      await ready();
      const applied = await migratePostgres(client, schema);
      return POSTGRES_MIGRATIONS.filter((m) => applied.includes(m.version)).map((m) => m.name);
    },
    async reset(): Promise<void> {
      await ready();
      // Only our tables: Kong drops the whole schema, but pg_schema is often `public`,
      // shared with whatever else lives in the database.
      await client.query('BEGIN');
      try {
        for (const t of [...tablesOf(POSTGRES_MIGRATIONS), 'schema_migrations']) await client.query(`DROP TABLE IF EXISTS ${quote(schema)}.${quote(t)} CASCADE`);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    async close(): Promise<void> {
      if (connected !== null) await client.end().catch(() => undefined);
    },
  };
}

export function sqliteSchemaAdmin(path: string): SchemaAdmin {
  let db: DatabaseSync | null = null;
  // Reading the state of a database that does not exist must not create it.
  const open = (create: boolean): DatabaseSync | null => {
    if (db !== null) return db;
    if (!create && !existsSync(path)) return null;
    mkdirSync(dirname(path), { recursive: true });
    db = new DatabaseSync(path, { enableForeignKeyConstraints: true, timeout: 5000 });
    db.exec('PRAGMA journal_mode = WAL');
    return db;
  };
  const has = (d: DatabaseSync, table: string): boolean => d.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
  return {
    description: `SQLite database ${path}`,
    async state(): Promise<SchemaState> {
      const d = open(false);
      if (d === null || !has(d, 'schema_migrations')) return stateOf(SQLITE_MIGRATIONS, [], false);
      const rows = d.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>;
      return stateOf(SQLITE_MIGRATIONS, rows.map((r) => r.version), false);
    },
    async migrate(): Promise<string[]> {
      const applied = migrateSqlite(open(true)!);
      return SQLITE_MIGRATIONS.filter((m) => applied.includes(m.version)).map((m) => m.name);
    },
    async reset(): Promise<void> {
      const d = open(false);
      if (d === null) return;
      d.exec('BEGIN IMMEDIATE');
      try {
        for (const t of [...tablesOf(SQLITE_MIGRATIONS), 'schema_migrations']) d.exec(`DROP TABLE IF EXISTS ${quote(t)}`);
        d.exec('COMMIT');
      } catch (err) {
        d.exec('ROLLBACK');
        throw err;
      }
    },
    async close(): Promise<void> {
      db?.close();
      db = null;
    },
  };
}
