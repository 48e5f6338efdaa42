/** `portcullis config init|parse|db_export|db_import` (Kong's `kong config`). */
import process from 'node:process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadSettings, type FlagMap } from '../settings.ts';
import { configureLogger } from '../../shared/log.ts';
import { parseDeclarative, exportDeclarativeYaml } from '../../store/declarative/index.ts';
// The plugin registry: the file's plugin entries are validated against it (src/schema/plugin-schemas.ts).
import '../../plugins/index.ts';
import { KONG_YML_TEMPLATE } from './kong-yml-template.ts';

export type ConfigSub = 'init' | 'parse' | 'db_export' | 'db_import';

export async function config(sub: ConfigSub, flags: FlagMap, positional: readonly string[]): Promise<number> {
  const file = positional[0];
  if (sub === 'init') {
    // Kong writes ./kong.yml and never overwrites an existing file.
    const target = resolve(file ?? 'kong.yml');
    if (existsSync(target)) {
      process.stderr.write(`Error: ${target} already exists; will not overwrite it\n`);
      return 1;
    }
    await writeFile(target, KONG_YML_TEMPLATE);
    process.stdout.write(`${target} has been created\n`);
    return 0;
  }
  if (sub === 'parse') {
    const text = await readFile(file!, 'utf8');
    const parsed = parseDeclarative(text, { format: file!.endsWith('.json') ? 'json' : 'yaml' });
    if (parsed.ok) {
      process.stdout.write(`parse successful: ${file}\n`);
      return 0;
    }
    process.stderr.write(`Error: ${file} is invalid: ${parsed.message}\n`);
    for (const e of parsed.flattenedErrors) process.stderr.write(`  ${JSON.stringify(e)}\n`);
    return 1;
  }
  const { settings, warnings } = loadSettings(flags);
  for (const w of warnings) process.stderr.write(`warn: ${w}\n`);
  if (settings.database === 'off') {
    process.stderr.write(`Error: config ${sub} needs a database (sqlite or postgres)\n`);
    return 1;
  }
  const { applyPluginsSetting } = await import('./start.ts');
  await applyPluginsSetting(settings);
  // Like Kong, these need a bootstrapped database; they do not create tables on PostgreSQL.
  settings.pg.autoMigrate = false;
  const { openConfiguredStore } = await import('../../gateway.ts');
  const log = configureLogger('warn');
  const store = await openConfiguredStore({ ...settings, declarativeConfig: null }, log);
  try {
    if (sub === 'db_export') {
      const yaml = exportDeclarativeYaml(await store.snapshot());
      if (file === undefined) process.stdout.write(yaml);
      else {
        await writeFile(file, yaml);
        process.stdout.write(`exported configuration to ${file}\n`);
      }
      return 0;
    }
    const parsed = parseDeclarative(await readFile(file!, 'utf8'), { format: file!.endsWith('.json') ? 'json' : 'yaml' });
    if (!parsed.ok) {
      process.stderr.write(`Error: ${file} is invalid: ${parsed.message}\n`);
      return 1;
    }
    await store.replaceAll(parsed.config);
    process.stdout.write(`imported ${file}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
