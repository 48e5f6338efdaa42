/**
 * Kong builds several public error messages by pretty-printing a Lua table
 * with Penlight (`pl.pretty.write(t, "")`): the unique-violation message
 * (`UNIQUE violation detected on '{name="x"}'`), the foreign-key messages and
 * `declarative config is invalid: {services={{host="required field missing"}}}`.
 * Clients match on these strings, so this module reproduces that rendering
 * for JSON-like values:
 *   - the array part (keys 1..n without holes) is written positionally;
 *   - other integer keys follow as `[k]=v`, ascending;
 *   - string keys follow, sorted, bare when they are Lua identifiers and
 *     `["key"]=` otherwise;
 *   - strings are double-quoted as `%q` does; `null` (ngx.null) prints as `null`.
 *
 * A LuaTable is modelled as a plain object whose integer-like keys ("1", "2")
 * are the Lua array indices; JS arrays are treated as 1-based Lua arrays.
 */

const LUA_KEYWORDS = new Set([
  'and', 'break', 'do', 'else', 'elseif', 'end', 'false', 'for', 'function', 'goto', 'if', 'in',
  'local', 'nil', 'not', 'or', 'repeat', 'return', 'then', 'true', 'until', 'while',
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const POSITIVE_INT = /^[1-9][0-9]*$/;

/** `string.format("%q", s)` as Lua 5.1 / LuaJIT writes it. */
export function luaQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\0') out += '\\000';
    else out += ch;
  }
  return out + '"';
}

function luaNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  // Lua's tostring uses %.14g
  return Number(n.toPrecision(14)).toString();
}

/** Split a Lua-table-like value into its positional part and its keyed part. */
function entriesOf(value: Record<string, unknown> | unknown[]): { array: unknown[]; ints: [number, unknown][]; strs: [string, unknown][] } {
  const intMap = new Map<number, unknown>();
  const strs: [string, unknown][] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      // holes in a JS array (undefined) are Lua nils
      if (v !== undefined) intMap.set(i + 1, v);
    });
  } else {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (POSITIVE_INT.test(k)) intMap.set(Number(k), v);
      else strs.push([k, v]);
    }
  }
  const array: unknown[] = [];
  for (let i = 1; intMap.has(i); i++) {
    array.push(intMap.get(i));
    intMap.delete(i);
  }
  const ints = [...intMap.entries()].sort((a, b) => a[0] - b[0]);
  strs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { array, ints, strs };
}

/** Render a JSON-like value the way `pl.pretty.write(value, "")` renders the equivalent Lua table. */
export function luaPretty(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return luaQuote(value);
    case 'number':
      return luaNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      const { array, ints, strs } = entriesOf(value as Record<string, unknown>);
      const parts: string[] = array.map((v) => luaPretty(v));
      for (const [k, v] of ints) parts.push(`[${k}]=${luaPretty(v)}`);
      for (const [k, v] of strs) {
        const key = IDENTIFIER.test(k) && !LUA_KEYWORDS.has(k) ? k : `[${luaQuote(k)}]`;
        parts.push(`${key}=${luaPretty(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return luaQuote(String(value));
  }
}

/**
 * Convert a Lua-table-like error tree to the JSON cjson would emit: a table
 * whose keys are all positive integers becomes an array (holes as null) unless
 * it is "excessively sparse" (cjson's default ratio 2, safe 10), in which case
 * it becomes an object with string keys. Everything else is an object.
 */
export function toCjson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i + 1), v] as [string, unknown]).filter(([, v]) => v !== undefined)
    : Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length > 0 && entries.every(([k]) => POSITIVE_INT.test(k))) {
    const max = Math.max(...entries.map(([k]) => Number(k)));
    const count = entries.length;
    if (!(max > count * 2 && max > 10)) {
      const arr: unknown[] = new Array(max).fill(null);
      for (const [k, v] of entries) arr[Number(k) - 1] = toCjson(v);
      return arr;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) out[k] = toCjson(v);
  return out;
}
