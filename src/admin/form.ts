/**
 * Kong's decoding of form arguments (application/x-www-form-urlencoded and
 * multipart/form-data) into nested values (kong/api/api_helpers.lua
 * `normalize_nested_params`, kong/api/arguments.lua `decode`):
 *   config.second=10           → { config: { second: "10" } }
 *   paths[]=/a&paths[]=/b      → { paths: ["/a", "/b"] }
 *   paths[1]=/a&paths[2]=/b    → { paths: ["/a", "/b"] }
 *   paths=/a&paths=/b          → { paths: ["/a", "/b"] }
 *   config.headers[1].name=x   → { config: { headers: [{ name: "x" }] } }
 * Values stay strings (or arrays of strings): turning "10" into 10 or a
 * lone "/a" into ["/a"] needs the entity schema, which is the job of
 * `coerceFormInput` in src/schema.
 */

type PathEntry = string | number | typeof APPEND;
const APPEND: unique symbol = Symbol('append');

/** Kong's `key_to_path`: `x[1].y` → ["x", 1, "y"], `x[]` → ["x", APPEND]. */
export function keyToPath(key: string, path: PathEntry[] = []): PathEntry[] {
  const arr = /^(.+)\[(\d*)\]$/s.exec(key);
  if (arr !== null) {
    keyToPath(arr[1]!, path);
    path.push(arr[2] === '' ? APPEND : Number(arr[2]));
    return path;
  }
  const dot = /^(.+)\.(.+)$/s.exec(key);
  if (dot !== null) {
    keyToPath(dot[1]!, path);
    keyToPath(dot[2]!, path);
    return path;
  }
  path.push(key);
  return path;
}

type Node = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Node {
  return typeof v === 'object' && v !== null;
}

/** Lua array positions are 1-based; a JS array slot is position - 1. */
function slot(entry: PathEntry, node: Node): string | number {
  if (entry === APPEND) return Array.isArray(node) ? node.length : Object.keys(node).length;
  if (typeof entry === 'number') return Array.isArray(node) ? Math.max(entry - 1, 0) : String(entry);
  return entry;
}

function setIn(node: Node, key: string | number, value: unknown): void {
  if (Array.isArray(node) && typeof key === 'number') node[key] = value;
  else (node as Record<string, unknown>)[String(key)] = value;
}

function getIn(node: Node, key: string | number): unknown {
  return Array.isArray(node) && typeof key === 'number' ? node[key] : (node as Record<string, unknown>)[String(key)];
}

/** Remove holes left by sparse `x[3]=` indices, keeping index order. */
function compact(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(compact);
  if (isContainer(v)) {
    for (const [k, x] of Object.entries(v)) (v as Record<string, unknown>)[k] = compact(x);
  }
  return v;
}

/**
 * Decode `[name, value]` pairs (in arrival order) into nested arguments.
 * A name given several times yields an array of its values.
 */
export function decodeFormPairs(pairs: Iterable<[string, unknown]>): Record<string, unknown> {
  const grouped = new Map<string, unknown[]>();
  for (const [k, v] of pairs) {
    const list = grouped.get(k);
    if (list === undefined) grouped.set(k, [v]);
    else list.push(v);
  }
  const root: Record<string, unknown> = {};
  for (const [key, values] of grouped) {
    const value = values.length === 1 ? values[0] : values;
    const path = keyToPath(key);
    let node: Node = root;
    for (let i = 0; i < path.length - 1; i++) {
      const k = slot(path[i]!, node);
      let next = getIn(node, k);
      if (!isContainer(next)) {
        const following = path[i + 1];
        next = following === APPEND || typeof following === 'number' ? [] : {};
        setIn(node, k, next);
      }
      node = next as Node;
    }
    const last = path[path.length - 1]!;
    if (last === APPEND && Array.isArray(value)) {
      // `x[]=a&x[]=b`: the whole list is the array
      if (Array.isArray(node)) node.push(...value);
    } else {
      setIn(node, slot(last, node), value);
    }
  }
  return compact(root) as Record<string, unknown>;
}

/** application/x-www-form-urlencoded text → nested arguments. */
export function decodeUrlEncoded(text: string): Record<string, unknown> {
  return decodeFormPairs(new URLSearchParams(text).entries());
}
