/** `portcullis check <conf>` (Kong's `kong check`): is this kong.conf usable? Exit 0 valid, 1 not. */
import process from 'node:process';
import { loadSettings } from '../settings.ts';
import { applyPluginsSetting } from './start.ts';

export async function check(file: string): Promise<number> {
  try {
    const { settings, warnings } = loadSettings({ conf: file });
    await applyPluginsSetting(settings);
    for (const w of warnings) process.stderr.write(`warn: ${w}\n`);
    process.stdout.write(`configuration at ${settings.confPath} is valid\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}
