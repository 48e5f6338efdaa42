/**
 * JSON bodies (kong/plugins/response-transformer/body_transformer.lua):
 * remove → rename → replace → add → append on the top-level object. Lua
 * truthiness is kept: `replace` needs a value other than absent / false,
 * `add` sets one that is absent or false, `rename` moves any present value.
 */
import { Buffer } from 'node:buffer';
import type { CompiledResponseTransformer, JsonPair } from './compile.ts';
import type { JsonType } from './schema.ts';

type Json = Record<string, unknown>;

function get(obj: Json, k: string): unknown {
  return Object.hasOwn(obj, k) ? obj[k] : undefined;
}
/** Own, enumerable property even for names like `__proto__` (no prototype pollution). */
function put(obj: Json, k: string, v: unknown): void {
  Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
}
function truthy(v: unknown): boolean {
  return v !== undefined && v !== false;
}

/** Lua's tonumber on a decimal or hex string; null when it is not a number. */
function toNumber(s: string): number | null {
  const t = s.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t)) return (t.startsWith('-') ? -1 : 1) * Number.parseInt(t.replace(/^[+-]?0[xX]/, ''), 16);
  return null;
}

/**
 * Kong's json_value: the value JSON-encoded with its quotes and the escapes of
 * `"` and `/` taken off again (other escapes stay, as in Kong), then cast by
 * json_types. A missing value encodes as the text `null`.
 */
function jsonValue(value: string | null, type: JsonType | null): unknown {
  let v = value === null ? 'null' : JSON.stringify(value).slice(1, -1).replaceAll('\\"', '"');
  v = v.replaceAll('\\/', '/');
  if (type === 'number') {
    const n = toNumber(v);
    return n !== null && Number.isFinite(n) ? n : undefined;
  }
  if (type === 'boolean') return v === 'true';
  return v;
}

/** Kong's append_value: a string becomes a list, a list grows, anything else is replaced by a list. */
function appendValue(cur: unknown, v: unknown): unknown {
  if (typeof cur === 'string') return [cur, v];
  if (Array.isArray(cur)) return [...cur, v];
  return [v];
}

function eachValue(list: readonly JsonPair[], fn: (name: string, v: unknown) => void): void {
  for (const p of list) {
    const v = jsonValue(p.value, p.type);
    if (v !== undefined) fn(p.name, v);
  }
}

/** The transformed body, or null when it is not a JSON object (Kong: "failed parsing json body"). */
export function transformJsonBody(conf: CompiledResponseTransformer, body: Buffer): Buffer | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  // Only an object has names to transform (a Lua table indexed by name).
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const doc = parsed as Json;
  const j = conf.json;
  for (const p of j.remove) delete doc[p.name];
  for (const p of j.rename) {
    const v = get(doc, p.name);
    if (v === undefined || p.value === null || p.value === p.name) continue;
    delete doc[p.name];
    put(doc, p.value, v);
  }
  eachValue(j.replace, (name, v) => {
    if (truthy(get(doc, name))) put(doc, name, v);
  });
  eachValue(j.add, (name, v) => {
    if (!truthy(get(doc, name))) put(doc, name, v);
  });
  eachValue(j.append, (name, v) => put(doc, name, appendValue(get(doc, name), v)));
  return Buffer.from(JSON.stringify(doc));
}
