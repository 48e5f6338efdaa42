/**
 * The schema state of a database, as Kong's `kong migrations` reads it
 * (kong/db/migrations/state.lua): bootstrapped or not, which migrations ran
 * and which are new. Our migrations have a single phase (`up`), so nothing
 * is ever "pending" (Kong's up-done-but-teardown-not-run state).
 *
 * One small interface over PostgreSQL and SQLite so the CLI's
 * bootstrap/up/finish/list/reset is written once (src/cli/commands/migrations.ts).
 */
import type { Migration } from './types.ts';

export interface SchemaState {
  needsBootstrap: boolean;
  executed: string[];
  /** Defined here, not yet run. */
  pending: string[];
  newMigrations: string[];
  /** The database holds Kong's own schema (its `schema_meta` table): never ours to touch. */
  kongSchema: boolean;
}

export interface SchemaAdmin {
  /** "database 'kong' on 127.0.0.1:5432" — for messages. */
  readonly description: string;
  state(): Promise<SchemaState>;
  /** Run every migration not yet run; returns their names. */
  migrate(): Promise<string[]>;
  /** Drop every table our migrations created (and the migrations record). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export function stateOf(defined: readonly Migration[], executedVersions: readonly number[], kongSchema: boolean): SchemaState {
  const done = new Set(executedVersions);
  const sorted = [...defined].sort((a, b) => a.version - b.version);
  return {
    needsBootstrap: done.size === 0,
    executed: sorted.filter((m) => done.has(m.version)).map((m) => m.name),
    pending: [],
    newMigrations: sorted.filter((m) => !done.has(m.version)).map((m) => m.name),
    kongSchema,
  };
}

/** Tables our migrations create, newest first (so children go before the tables they reference). */
export function tablesOf(defined: readonly Migration[]): string[] {
  const out: string[] = [];
  for (const m of [...defined].sort((a, b) => a.version - b.version)) {
    for (const stmt of m.up) {
      const t = /^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)/i.exec(stmt);
      if (t) out.push(t[1]!);
    }
  }
  return out.reverse();
}
