/** `portcullis config parse|db_export|db_import` (Kong's `kong config` equivalents). */
import { readFile, writeFile } from 'node:fs/promises';
import { parseFlags, resolveSettings } from '../settings.ts';
import { configureLogger } from '../../shared/log.ts';
import { parseDeclarative, exportDeclarativeYaml } from '../../store/declarative/index.ts';
import { openConfiguredStore } from '../../gateway.ts';

export async function config(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, positional } = parseFlags(rest);
  const file = positional[0];
  if (sub === 'parse') {
    if (file === undefined) return usage();
    const text = await readFile(file, 'utf8');
    const parsed = parseDeclarative(text, { format: file.endsWith('.json') ? 'json' : 'yaml' });
    if (parsed.ok) {
      process.stdout.write(`parse successful: ${file}\n`);
      return 0;
    }
    process.stderr.write(`Error: ${file} is invalid: ${parsed.message}\n`);
    for (const e of parsed.flattenedErrors) process.stderr.write(`  ${JSON.stringify(e)}\n`);
    return 1;
  }
  if (sub === 'db_export' || sub === 'db_import') {
    const settings = resolveSettings(flags);
    if (settings.database === 'off') {
      process.stderr.write(`config ${sub} needs a database (sqlite or postgres)\n`);
      return 2;
    }
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
      if (file === undefined) return usage();
      const parsed = parseDeclarative(await readFile(file, 'utf8'), { format: file.endsWith('.json') ? 'json' : 'yaml' });
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
  return usage();
}

function usage(): number {
  process.stderr.write('usage: portcullis config parse FILE | db_export [FILE] | db_import FILE\n');
  return 2;
}
