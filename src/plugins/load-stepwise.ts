/**
 * Load a plugin module without stalling the event loop (ARCHITECTURE
 * principle 16: no request waits for plugin code).
 *
 * `await import()` alone is not enough: Node reads the files asynchronously
 * but strips types, compiles, links and evaluates the whole module graph in
 * one synchronous run — measured 330 ms for openid-connect (jose, undici,
 * ioredis and ~40 of its own files), during which a worker answers nothing.
 * So the graph is walked first (static, value-level `import`/`export … from`,
 * files read asynchronously) and imported leaves first, one module per
 * macrotask: each step compiles and evaluates one file, and requests are
 * served in between. ES module packages are walked the same way (their
 * files by URL). A CommonJS package (undici: 113 files, ≈ 110 ms in one
 * piece) is stepped through file by file with require() when its relative
 * `require`s form no cycle (loading a cycle in another order could hand a
 * module a partial exports object); otherwise it is one step.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Value imports and re-exports (type-only ones are erased by Node and load nothing). */
const IMPORT = /^[ \t]*(?:import|export)\s+(?!type\s)(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
const REQUIRE = /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;
const ESM_SYNTAX = /^[ \t]*(?:import|export)\s/m;
const SCRIPT = /\.(?:ts|js|mjs)$/;
const requireHere = createRequire(import.meta.url);

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function source(url: string): Promise<string | null> {
  try {
    return await readFile(fileURLToPath(url), 'utf8');
  } catch {
    return null;
  }
}

/** One step of the load: an ES module by URL, a CommonJS file by path, or a package by name. */
type Step = { kind: 'esm'; url: string } | { kind: 'cjs'; file: string } | { kind: 'package'; name: string };

/** Files of a CommonJS package, leaves first; null when its relative requires form a cycle. */
async function commonJsOrder(main: string): Promise<string[] | null> {
  const state = new Map<string, 'open' | 'done'>();
  const order: string[] = [];
  let cyclic = false;
  const visit = async (file: string): Promise<void> => {
    if (cyclic) return;
    const st = state.get(file);
    if (st !== undefined) {
      if (st === 'open') cyclic = true;
      return;
    }
    state.set(file, 'open');
    const text = await readFile(file, 'utf8');
    const req = createRequire(file);
    for (const m of text.matchAll(REQUIRE)) {
      if (!m[1]!.startsWith('.')) continue;
      let dep: string;
      try {
        dep = req.resolve(m[1]!);
      } catch {
        continue; // an optional file that is not there: the package handles it
      }
      if (dep.endsWith('.js') || dep.endsWith('.cjs')) await visit(dep);
    }
    state.set(file, 'done');
    order.push(file);
  };
  await visit(main);
  return cyclic ? null : order;
}

/** Every step `entry` statically needs, leaves first. */
async function loadOrder(entry: URL): Promise<Step[]> {
  const order: Step[] = [];
  const seen = new Set<string>();
  const visitFile = async (url: string): Promise<void> => {
    if (seen.has(url)) return;
    seen.add(url);
    const text = await source(url);
    if (text === null) return;
    for (const m of text.matchAll(IMPORT)) await visit(m[1]!, url);
    order.push({ kind: 'esm', url });
  };
  const visitPackage = async (name: string): Promise<void> => {
    if (seen.has(name)) return;
    seen.add(name);
    let url: string;
    try {
      // Packages are resolved as the gateway's own code resolves them (one flat node_modules).
      url = import.meta.resolve(name);
    } catch {
      return;
    }
    if (url.startsWith('file:')) {
      const text = await source(url);
      if (text !== null && ESM_SYNTAX.test(text)) await visitFile(url);
      else {
        const files = await commonJsOrder(fileURLToPath(url)).catch(() => null);
        for (const file of files ?? []) order.push({ kind: 'cjs', file });
      }
    }
    order.push({ kind: 'package', name });
  };
  const visit = async (specifier: string, from: string): Promise<void> => {
    if (specifier.startsWith('node:')) return; // built-ins cost nothing and are usually loaded already
    if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) {
      const url = new URL(specifier, from).href;
      // Other files (JSON with import attributes) are left to the module that imports them.
      if (SCRIPT.test(url)) await visitFile(url);
      return;
    }
    await visitPackage(specifier);
  };
  await visitFile(entry.href);
  return order;
}

/** Import `entry` (a file URL) and its module graph one module per macrotask; resolves to its namespace. */
export async function importStepwise(entry: URL): Promise<Record<string, unknown>> {
  for (const step of await loadOrder(entry)) {
    try {
      if (step.kind === 'esm') await import(step.url);
      else if (step.kind === 'cjs') requireHere(step.file);
      else await import(step.name);
    } catch {
      // A piece that fails alone (e.g. a file a package loads only behind a feature check) is
      // left to the final import, which reports a real failure.
    }
    await yieldToEventLoop();
  }
  return (await import(entry.href)) as Record<string, unknown>;
}
