/** The TypeScript sources under a directory (declaration files aside), for the architecture tests. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}
