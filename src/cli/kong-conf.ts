/**
 * Kong's kong.conf syntax (kong/conf_loader, penlight's config reader as Kong
 * configures it): one `key = value` a line, `#` starts a comment unless
 * written `\#`, blank lines ignored, keys case-insensitive (Kong lower-cases
 * them), values trimmed. Booleans are `on`/`off` (also true/false), lists are
 * comma-separated — both interpreted by the setting that reads the value.
 */
import { readFileSync } from 'node:fs';
import { SettingsError } from './settings-error.ts';

export interface KongConf {
  /** Absolute path of the file read. */
  path: string;
  /** key (lower-case) → value as written (trimmed, comments removed). */
  values: Map<string, string>;
}

export function parseKongConf(text: string, path: string): KongConf {
  const values = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = stripComment(lines[i]!).trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new SettingsError(`${path}:${i + 1}: expected 'key = value' (got '${line}')`);
    const key = line.slice(0, eq).trim().toLowerCase();
    if (!/^[a-z0-9_]+$/.test(key)) throw new SettingsError(`${path}:${i + 1}: invalid property name '${key}'`);
    values.set(key, line.slice(eq + 1).trim());
  }
  return { path, values };
}

/** `#` starts a comment; `\#` is a literal `#` (Kong's escaping, used in passwords). */
function stripComment(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && line[i + 1] === '#') {
      out += '#';
      i++;
    } else if (c === '#') break;
    else out += c;
  }
  return out;
}

/** Read a kong.conf; a missing or unreadable file is an error naming it (Kong: "no file at: …"). */
export function readKongConf(path: string): KongConf {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SettingsError(code === 'ENOENT' ? `no file at: ${path}` : `cannot read configuration file ${path}: ${(err as Error).message}`);
  }
  return parseKongConf(text, path);
}

/** Kong's boolean values: on/off, true/false (and yes/no, 1/0, which we also read). */
export function parseBool(value: string, key: string): boolean {
  const v = value.trim().toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(v)) return true;
  if (['off', 'false', 'no', '0'].includes(v)) return false;
  throw new SettingsError(`${key}: expected on or off (got '${value}')`);
}

/** Kong's list values: comma-separated, each trimmed, empty items dropped. */
export function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
