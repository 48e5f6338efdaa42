/**
 * src/ reads `Buffer`, `process` and `performance` from their modules
 * (node:buffer, node:process, node:perf_hooks), never as globals (issue 13).
 * On Node these three globals are accessor properties of globalThis, so even
 * optimised code reaches them through a global-load IC and a getter call on
 * every read: 12 ns more per read than an imported binding, and −2 µs of CPU
 * per proxied request once the request path imported them (docs/benchmarks.md,
 * "Issue 13, fifth pass"). One rule for every file keeps a new hot-path read
 * from slipping back to the slow form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { sources } from '../../helpers/source-files.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

const MODULE_OF: Record<string, string> = { Buffer: 'node:buffer', process: 'node:process', performance: 'node:perf_hooks' };

/** The accessor globals `text` reads as values without importing them (comments and strings aside). */
export function globalReads(text: string): string[] {
  const uncommented = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/[^\n]*/g, '$1');
  const code = uncommented.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
  const out: string[] = [];
  for (const [name, mod] of Object.entries(MODULE_OF)) {
    if (!new RegExp(`(?<![.\\w$])${name}\\.\\w`).test(code)) continue;
    if (!uncommented.includes(`from '${mod}'`) && !uncommented.includes(`from "${mod}"`)) out.push(name);
  }
  return out;
}

test('the checker flags a global read and accepts an imported one', () => {
  assert.deepEqual(globalReads('const t = performance.now();\nconst b = Buffer.from("x");'), ['Buffer', 'performance']);
  assert.deepEqual(globalReads("import { Buffer } from 'node:buffer';\nconst b = Buffer.from('x');"), []);
  assert.deepEqual(globalReads('// performance.now() in a comment\nconst s = "process.env";\nx.process.env;'), []);
});

test('no file in src/ or bin/ reads Buffer, process or performance as a global', () => {
  const offenders: string[] = [];
  for (const file of [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'bin'))]) {
    const found = globalReads(readFileSync(file, 'utf8'));
    if (found.length > 0) offenders.push(`${relative(ROOT, file)}: ${found.join(', ')}`);
  }
  assert.deepEqual(offenders, [], `import these from ${Object.values(MODULE_OF).join(' / ')}`);
});
