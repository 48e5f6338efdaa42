/**
 * Open the configured store: the embedded SQLite file (default), PostgreSQL
 * (cluster mode, several nodes sharing one database) or the in-memory store
 * of DB-less mode.
 */
import type { ConfigSnapshot } from '../schema/entities/types.ts';
import { createMemoryStore } from './memory.ts';
import { openPostgresStore, type PostgresOptions } from './postgres/index.ts';
import { openSqliteStore } from './sqlite/index.ts';
import type { Store } from './store.ts';

export interface SqliteOpenOptions {
  path: string;
}

export interface MemoryOpenOptions {
  snapshot?: Omit<ConfigSnapshot, 'version'> | undefined;
  readOnly?: boolean;
}

export type { PostgresOptions };

export function openStore(kind: 'sqlite', options: SqliteOpenOptions): Promise<Store>;
export function openStore(kind: 'postgres', options: PostgresOptions): Promise<Store>;
export function openStore(kind: 'memory', options?: MemoryOpenOptions): Promise<Store>;
export function openStore(kind: 'sqlite' | 'postgres' | 'memory', options?: SqliteOpenOptions | PostgresOptions | MemoryOpenOptions): Promise<Store>;
export async function openStore(
  kind: 'sqlite' | 'postgres' | 'memory',
  options?: SqliteOpenOptions | PostgresOptions | MemoryOpenOptions,
): Promise<Store> {
  switch (kind) {
    case 'sqlite':
      return openSqliteStore((options as SqliteOpenOptions).path);
    case 'postgres':
      return openPostgresStore(options as PostgresOptions);
    case 'memory': {
      const o = (options ?? {}) as MemoryOpenOptions;
      return createMemoryStore(o.snapshot, { readOnly: o.readOnly ?? false });
    }
  }
}
