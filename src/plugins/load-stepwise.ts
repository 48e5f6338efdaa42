/**
 * Load a plugin module without stalling the event loop (ARCHITECTURE
 * principle 16: no request waits for plugin code).
 *
 * `await import()` alone is not enough: Node reads the files asynchronously
 * but strips types, compiles, links and evaluates the whole module graph in
 * one synchronous run — measured 330 ms for openid-connect (jose, undici,
 * ioredis and ~40 of its own files), during which a worker answers nothing.
 * So the graph is walked first (static, value-level `import`/`export … from`
 * of our own .ts files, read asynchronously) and imported leaves first, one
 * module per macrotask: each step then compiles and evaluates one file,
 * and requests are served in between. A CommonJS package (undici: 113
 * files, ≈ 110 ms in one piece) is stepped through file by file the same way
 * when its relative `require`s form no cycle (loading a cycle in another
 * order could hand a module a partial exports object); otherwise, and for
 * ES module packages, the package is one step.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Value imports and re-exports (type-only ones are erased by Node and load nothing). */
const IMPORT = /^[ \t]*(?:import|export)\s+(?!type\s)(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function staticImports(url: URL): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(fileURLToPath(url), 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) out.push(m[1]!);
  return out;
}

/** Every module `entry` statically needs, leaves first (our .ts files by URL, packages by name). */
async function loadOrder(entry: URL): Promise<string[]> {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = async (specifier: string, from: URL | null): Promise<void> => {
    const relative = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');
    const key = relative ? new URL(specifier, from ?? undefined).href : specifier;
    if (seen.has(key)) return;
    seen.add(key);
    if (relative && key.endsWith('.ts')) {
      const url = new URL(key);
      for (const dep of await staticImports(url)) await visit(dep, url);
    }
    // node: built-ins cost nothing to import and are usually loaded already; other files (JSON with
    // import attributes) are left to the module that imports them.
    if (relative ? key.endsWith('.ts') : !key.startsWith('node:')) order.push(key);
  };
  await visit(entry.href, null);
  return order;
}

const REQUIRE = /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;
const ESM_SYNTAX = /^[ \t]*(?:import|export)\s/m;
const requireHere = createRequire(import.meta.url);

/** Files of a CommonJS package, leaves first; null when it is not CommonJS or its requires form a cycle. */
async function commonJsOrder(pkg: string): Promise<string[] | null> {
  let main: string;
  try {
    main = requireHere.resolve(pkg);
  } catch {
    return null;
  }
  const state = new Map<string, 'open' | 'done'>();
  const order: string[] = [];
  let cyclic = false;
  const visit = async (file: string): Promise<void> => {
    if (cyclic || state.has(file)) {
      if (state.get(file) === 'open') cyclic = true;
      return;
    }
    state.set(file, 'open');
    const text = await readFile(file, 'utf8');
    if (file === main && ESM_SYNTAX.test(text)) {
      cyclic = true;
      return;
    }
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

/** Import one package, file by file when it is CommonJS without cycles. */
async function importPackage(pkg: string): Promise<void> {
  const files = await commonJsOrder(pkg);
  if (files !== null) {
    for (const file of files) {
      try {
        requireHere(file);
      } catch {
        // A file that fails alone (e.g. one loaded lazily behind a feature check) is left to the package.
      }
      await yieldToEventLoop();
    }
  }
  await import(pkg);
}

/** Import `entry` (a file URL) and its module graph one module per macrotask; resolves to its namespace. */
export async function importStepwise(entry: URL): Promise<Record<string, unknown>> {
  for (const specifier of await loadOrder(entry)) {
    if (specifier.startsWith('file:')) await import(specifier);
    else await importPackage(specifier);
    await yieldToEventLoop();
  }
  return (await import(entry.href)) as Record<string, unknown>;
}
