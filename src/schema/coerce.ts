/**
 * Form-encoded and query-string input arrives as strings. Kong converts each
 * value to its field's type before validating (kong/api/arguments.lua
 * infer_value): numbers and booleans parsed, a single value for an array
 * field becomes an array of one (`config.scopes_required=a`), an empty value
 * means null. Dotted keys (`config.a.b=1`, `service.id=…`) are nested by the
 * caller before this runs; `{ "1": "a", "2": "b" }` (from `paths[1]=…`) is
 * turned into an array in index order.
 */
import { pluginSchemaInfo } from './plugin-schemas.ts';
import { ENTITIES } from './entities/index.ts';
import { effectiveSchema } from './typedefs.ts';
import type { EntityName } from './entities/types.ts';

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function typesOf(schema: Obj): string[] {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type as string[];
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return [typeof schema.enum[0] === 'number' ? 'number' : 'string'];
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list)) return list.flatMap((b) => typesOf(b as Obj));
  }
  if ('const' in schema) return [typeof schema.const];
  return [];
}

function indexedToArray(v: Obj): unknown[] | null {
  const keys = Object.keys(v);
  if (keys.length === 0 || !keys.every((k) => /^\d+$/.test(k))) return null;
  return keys.sort((a, b) => Number(a) - Number(b)).map((k) => v[k]);
}

/** Convert one value to the type its schema asks for; leave what cannot be converted to the validator. */
export function coerceValue(raw: Obj, value: unknown): unknown {
  if (value === '') return null;
  const schema = effectiveSchema(raw);
  const types = typesOf(schema);
  if (types.includes('array')) {
    let arr: unknown[];
    if (Array.isArray(value)) arr = value;
    else if (isObject(value)) arr = indexedToArray(value) ?? [value];
    else if (value === null || value === undefined) return value;
    else arr = [value];
    const items = isObject(schema.items) ? schema.items : {};
    return arr.map((el) => coerceValue(items, el));
  }
  if (typeof value === 'string') {
    if (types.includes('boolean') && !types.includes('string')) {
      if (value === 'true') return true;
      if (value === 'false') return false;
      return value;
    }
    if ((types.includes('integer') || types.includes('number')) && !types.includes('string')) {
      const n = Number(value);
      return value.trim() !== '' && Number.isFinite(n) ? n : value;
    }
    return value;
  }
  if (isObject(value)) {
    if (isObject(schema.properties)) return coerceObject(schema, value);
    const values = isObject(schema.additionalProperties)
      ? schema.additionalProperties
      : isObject(schema.patternProperties)
        ? (Object.values(schema.patternProperties)[0] as Obj | undefined)
        : undefined;
    if (values) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, coerceValue(values, v)]));
  }
  return value;
}

function coerceObject(schema: Obj, value: Obj, overrides: Record<string, Obj> = {}): Obj {
  const props = isObject(schema.properties) ? schema.properties : {};
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    const prop = overrides[k] ?? (props[k] as Obj | undefined);
    out[k] = prop ? coerceValue(prop, v) : v;
  }
  return out;
}

/** Convert form-decoded input for `entity` to its schema's types (plugins: config by the named plugin's schema). */
export function coerceFormInput(entity: EntityName, input: unknown, existing?: { name?: unknown } | null): unknown {
  if (!isObject(input)) return input;
  const schema = ENTITIES[entity].schema as unknown as Obj;
  const overrides: Record<string, Obj> = {};
  // A PATCH body usually omits the plugin name: the stored plugin's name picks the config schema.
  const pluginName = typeof input.name === 'string' ? input.name : typeof existing?.name === 'string' ? existing.name : null;
  if (entity === 'plugins' && pluginName !== null) {
    const module = pluginSchemaInfo(pluginName);
    if (module) overrides.config = module.schema as unknown as Obj;
  }
  if (entity === 'certificates') overrides.snis = { type: 'array', items: { type: 'string' } };
  return coerceObject(schema, input, overrides);
}
