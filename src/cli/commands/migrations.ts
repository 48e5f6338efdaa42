/**
 * `portcullis migrations bootstrap|up|finish|list|status|reset` — Kong's
 * `kong migrations` (kong/cmd/migrations.lua, kong/cmd/utils/migrations.lua),
 * on PostgreSQL and SQLite, with Kong's messages and exit codes:
 *   list    0 up to date · 3 needs bootstrap · 4 pending · 5 new migrations
 *   others  0 done (also when there was nothing to do: every command is
 *           idempotent) · 1 error
 * `status` is ours: the same as `list` (Kong has no `status`).
 * Our migrations run in one phase, so `finish` never has anything to finish
 * and list never exits 4; both behave as Kong's with nothing pending.
 */
import process from 'node:process';
import { createInterface } from 'node:readline/promises';
import { join } from 'node:path';
import type { Settings } from '../settings.ts';
import type { SchemaAdmin } from '../../store/migrations/schema-state.ts';

export interface MigrationsOptions {
  yes?: boolean;
  quiet?: boolean;
}

/** 'status-code': no output, only the `list` exit code (for `start --run-migrations`). */
export type MigrationsSub = 'bootstrap' | 'up' | 'finish' | 'list' | 'status' | 'reset' | 'status-code';

class MigrationsError extends Error {
  override name = 'MigrationsError';
}

async function schemaAdmin(settings: Settings): Promise<SchemaAdmin> {
  const { postgresSchemaAdmin, sqliteSchemaAdmin } = await import('../../store/migrations/admin.ts');
  if (settings.database === 'postgres') return postgresSchemaAdmin(settings.pg);
  if (settings.database === 'sqlite') return sqliteSchemaAdmin(join(settings.dataDir, 'portcullis.db'));
  throw new MigrationsError('migrations need a database; database = off (DB-less) has none');
}

export async function migrationsCommand(sub: MigrationsSub, settings: Settings, opts: MigrationsOptions): Promise<number> {
  const say = (text: string): void => {
    if (!opts.quiet && sub !== 'status-code') process.stdout.write(text + '\n');
  };
  let admin: SchemaAdmin | null = null;
  try {
    admin = await schemaAdmin(settings);
    const state = await admin.state();
    if (state.kongSchema && state.needsBootstrap && sub !== 'list' && sub !== 'status' && sub !== 'status-code') {
      throw new MigrationsError(`${admin.description} holds Kong's own schema (schema_meta); Portcullis keeps its own tables and cannot share it: point pg_database (or pg_schema) elsewhere`);
    }
    switch (sub) {
      case 'list':
      case 'status':
      case 'status-code': {
        if (state.needsBootstrap) {
          say("Database needs bootstrapping or is older than Kong 1.0.\n\nTo start a new installation from scratch, run 'portcullis migrations bootstrap'.");
          return 3;
        }
        say(`Executed migrations:\n  core: ${state.executed.join(', ')}`);
        if (state.pending.length > 0) {
          say(`\nPending migrations:\n  core: ${state.pending.join(', ')}\n\nRun 'portcullis migrations finish' when ready`);
          return 4;
        }
        if (state.newMigrations.length > 0) {
          say(`\nNew migrations available:\n  core: ${state.newMigrations.join(', ')}\n\nRun 'portcullis migrations up' to proceed`);
          return 5;
        }
        say('\nDatabase is up-to-date');
        return 0;
      }
      case 'bootstrap': {
        if (!state.needsBootstrap) {
          say('Database already bootstrapped');
          return 0;
        }
        say(`Bootstrapping ${admin.description}...`);
        const ran = await admin.migrate();
        for (const m of ran) say(`migrating core on ${admin.description}...\ncore migrated up to: ${m} (executed)`);
        say(`${ran.length} migrations processed\n${ran.length} executed\nDatabase is up-to-date`);
        return 0;
      }
      case 'up': {
        if (state.needsBootstrap) throw new MigrationsError("Cannot run migrations: database needs bootstrapping; run 'portcullis migrations bootstrap'");
        if (state.newMigrations.length === 0) {
          say('Database is already up-to-date');
          return 0;
        }
        const ran = await admin.migrate();
        for (const m of ran) say(`migrating core on ${admin.description}...\ncore migrated up to: ${m} (executed)`);
        say(`${ran.length} migrations processed\n${ran.length} executed\nDatabase is up-to-date`);
        return 0;
      }
      case 'finish': {
        if (state.needsBootstrap) throw new MigrationsError("Cannot run migrations; run 'portcullis migrations bootstrap' instead");
        if (state.newMigrations.length > 0) say("\nNew migrations available; run 'portcullis migrations up' to proceed");
        else say('No pending migrations to finish');
        return 0;
      }
      case 'reset': {
        if (state.needsBootstrap) {
          say('Database not bootstrapped, nothing to reset');
          return 1;
        }
        if (!opts.yes) {
          if (!process.stdin.isTTY) throw new MigrationsError("not a tty: invoke 'reset' non-interactively with the --yes flag");
          if (!(await confirm('Are you sure? This operation is irreversible.'))) {
            say('cancelled');
            return 0;
          }
        }
        say('Resetting database...');
        await admin.reset();
        say('Database successfully reset');
        return 0;
      }
    }
    return 2;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = e instanceof MigrationsError ? e.message : `${admin?.description ?? 'database'}: ${e.message ?? e.code}`;
    process.stderr.write(`Error: ${what}\n`);
    return 1;
  } finally {
    await admin?.close();
  }
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (let i = 0; i < 3; i++) {
      const a = (await rl.question(`> ${question} [Y/n] `)).trim();
      if (['y', 'Y', 'yes', 'YES'].includes(a)) return true;
      if (['n', 'N', 'no', 'NO'].includes(a)) return false;
    }
    return false;
  } finally {
    rl.close();
  }
}
