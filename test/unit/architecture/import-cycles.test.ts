/**
 * No import cycles in src/ (issue 12): a cycle means two files cannot be read,
 * tested or changed one without the other, and it hides arrows that run back
 * up the layers (core → plugins, schema → plugin registry). Every import
 * counts — `import type` too, and `import()` / `require()` of a literal path —
 * because a type-only cycle is still a dependency a reader must follow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { sources } from '../../helpers/source-files.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const SRC = join(ROOT, 'src');

const SPECIFIER = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The relative imports of a file, resolved to files of the tree (comments stripped first). */
export function importsOf(file: string, text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/[^\n]*/g, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4]!;
    if (spec.startsWith('.')) out.push(resolve(dirname(file), spec));
  }
  return out;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

test('the checker finds a cycle, a self-import and a type-only cycle, and nothing in a tree without one', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['d']],
    ['e', ['a']],
  ]);
  assert.deepEqual(cycles(g), [['a', 'b', 'c'], ['d']]);
  assert.deepEqual(cycles(new Map([['x', ['y']], ['y', []]])), []);
  const text = "import type { T } from './t.ts';\n// import { gone } from './commented.ts';\nconst m = await import('./lazy.ts');\nexport { x } from './re.ts';";
  assert.deepEqual(importsOf('/p/f.ts', text), ['/p/t.ts', '/p/lazy.ts', '/p/re.ts']);
});

test('src/ has no import cycle (type-only imports and literal import()/require() included)', () => {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) graph.set(file, importsOf(file, readFileSync(file, 'utf8')));
  // The scan reads the real imports (a scan that saw none would find no cycle).
  assert.ok(graph.get(join(SRC, 'core/server.ts'))!.includes(join(SRC, 'core/proxy/handle.ts')));
  const found = cycles(graph).map((c) => c.map((f) => relative(ROOT, f)).join(' → '));
  assert.deepEqual(found, [], `import cycles:\n${found.join('\n')}`);
});
