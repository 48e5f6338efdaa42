/**
 * A Kong-style schema (the `Schema` a kong-pdk plugin exports: the `fields`
 * array of its config record, Kong's kong/db/schema field syntax) translated
 * into the TypeBox schema our validation, defaults and GET /schemas use.
 *
 * Supported: string, number, integer, boolean, array, set, map, record;
 * required, default, one_of, between, gt, len_eq, len_min, len_max,
 * referenceable, encrypted, description, elements, keys, values, fields.
 * Anything else (a Lua `match` pattern, custom_validator, a `function`
 * field, foreign) is refused when the plugin loads, naming the field —
 * never accepted and ignored.
 *
 * Kong's semantics kept: a field that is neither required nor defaulted is
 * null when absent; a record is filled from its fields' defaults.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { KongAnnotation } from '../../schema/typedefs.ts';

type Obj = Record<string, unknown>;

const ATTRIBUTES = new Set([
  'type', 'required', 'default', 'one_of', 'between', 'gt', 'len_eq', 'len_min', 'len_max', 'referenceable', 'encrypted',
  'description', 'elements', 'keys', 'values', 'fields',
]);

export class KongSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KongSchemaError';
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The config record's TypeBox schema from a Kong `fields` array. */
export function configSchemaFromKong(fields: unknown, where: string): TSchema & { type: 'object' } {
  if (fields === undefined || fields === null) return Type.Object({}, { additionalProperties: false }) as TSchema & { type: 'object' };
  return recordSchema(fields, where, false) as TSchema & { type: 'object' };
}

function recordSchema(fields: unknown, where: string, nested: boolean): TSchema {
  if (!Array.isArray(fields)) throw new KongSchemaError(`${where}: expected an array of fields`);
  const props: Record<string, TSchema> = {};
  for (const entry of fields) {
    if (!isObj(entry) || Object.keys(entry).length !== 1) throw new KongSchemaError(`${where}: each field must be an object with one key, { name: { type: … } }`);
    const [name, def] = Object.entries(entry)[0]!;
    props[name] = fieldSchema(def, `${where}.${name}`);
  }
  const opts: Obj = { additionalProperties: false };
  if (nested) {
    opts.kong = { type: 'record' } satisfies KongAnnotation;
    opts.default = {};
  }
  return Type.Object(props, opts);
}

function fieldSchema(def: unknown, where: string): TSchema {
  if (!isObj(def)) throw new KongSchemaError(`${where}: expected a field definition object`);
  for (const key of Object.keys(def)) {
    if (!ATTRIBUTES.has(key)) throw new KongSchemaError(`${where}: field attribute '${key}' is not supported by Portcullis`);
  }
  const s = baseSchema(def, where);
  const kong: KongAnnotation = { ...((s as { kong?: KongAnnotation }).kong ?? {}) };
  if (def.referenceable === true) kong.referenceable = true;
  if (def.encrypted === true) kong.encrypted = true;
  if (Object.keys(kong).length > 0) (s as Obj).kong = kong;
  if (typeof def.description === 'string') (s as Obj).description = def.description;
  if (def.default !== undefined && def.default !== null) {
    (s as Obj).default = structuredClone(def.default);
    return s;
  }
  if (def.required === true) {
    if (def.type === 'record') delete (s as Obj).default;
    return s;
  }
  if (def.type === 'record') return s; // filled from its fields' defaults, as Kong does
  // Kong: absent and not required → null.
  return Type.Union([s, Type.Null()], { default: null, ...(typeof def.description === 'string' ? { description: def.description } : {}) });
}

function baseSchema(def: Obj, where: string): TSchema {
  const type = def.type;
  const o: Obj = {};
  if (Array.isArray(def.one_of)) o.enum = [...def.one_of];
  if (Array.isArray(def.between)) {
    const [min, max] = def.between as unknown[];
    if (typeof min !== 'number' || typeof max !== 'number') throw new KongSchemaError(`${where}: between must be two numbers`);
    o.minimum = min;
    o.maximum = max;
  }
  if (typeof def.gt === 'number') o.exclusiveMinimum = def.gt;
  const len = (minKey: string, maxKey: string): void => {
    if (typeof def.len_eq === 'number') {
      o[minKey] = def.len_eq;
      o[maxKey] = def.len_eq;
    }
    if (typeof def.len_min === 'number') o[minKey] = def.len_min;
    if (typeof def.len_max === 'number') o[maxKey] = def.len_max;
  };
  switch (type) {
    case 'string':
      len('minLength', 'maxLength');
      return Type.String(o);
    case 'number':
      return Type.Number(o);
    case 'integer':
      return Type.Integer(o);
    case 'boolean':
      return Type.Boolean(o);
    case 'array':
    case 'set': {
      if (def.elements === undefined) throw new KongSchemaError(`${where}: ${type} needs 'elements'`);
      len('minItems', 'maxItems');
      if (type === 'set') o.kong = { type: 'set' } satisfies KongAnnotation;
      return Type.Array(elementSchema(def.elements, `${where}.elements`), o);
    }
    case 'map': {
      if (def.keys === undefined || def.values === undefined) throw new KongSchemaError(`${where}: map needs 'keys' and 'values'`);
      const keys = elementSchema(def.keys, `${where}.keys`);
      if ((keys as Obj).type !== 'string') throw new KongSchemaError(`${where}: map keys must be strings`);
      return Type.Record(Type.String(), elementSchema(def.values, `${where}.values`), { kong: { type: 'map' } satisfies KongAnnotation });
    }
    case 'record':
      return recordSchema(def.fields ?? [], where, true);
    default:
      throw new KongSchemaError(`${where}: field type '${String(type)}' is not supported by Portcullis`);
  }
}

/** An element / key / value definition: a field without a name, never null. */
function elementSchema(def: unknown, where: string): TSchema {
  if (!isObj(def)) throw new KongSchemaError(`${where}: expected a field definition object`);
  for (const key of Object.keys(def)) {
    if (!ATTRIBUTES.has(key)) throw new KongSchemaError(`${where}: field attribute '${key}' is not supported by Portcullis`);
  }
  const s = baseSchema(def, where);
  if (def.referenceable === true) (s as Obj).kong = { ...((s as Obj).kong as Obj | undefined), referenceable: true };
  return s;
}
