/**
 * A versioned schema migration. Migrations are append-only: a released one is
 * never edited, a change is a new version. Each store records the versions it
 * applied in `schema_migrations` and runs the missing ones in order, each in
 * its own transaction.
 */
export interface Migration {
  version: number;
  name: string;
  /** SQL statements, run in order inside one transaction. */
  up: readonly string[];
}
