/**
 * The one validation entry of the Admin API and the declarative loader.
 *
 * prepareEntity() turns client input into a complete, defaulted row in Kong's
 * shape, or Kong's schema-violation error:
 *  - insert (POST): new uuid unless a valid one is given, created_at/updated_at;
 *  - update (PATCH): input merged over the existing row (records such as a
 *    plugin's `config` merged deeply, arrays replaced; Kong's merge_values),
 *    then the whole row validated again;
 *  - upsert (PUT): the input replaces the row, keeping id and created_at.
 * Unset optional fields come out as null, as Kong serves them.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { TObject, TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { pluginSchemaInfo } from './plugin-schemas.ts';
import type { PluginSchemaInfo } from './plugin-schemas.ts';
import { compile } from './ajv.ts';
import { isUuid, runCheck } from './checks.ts';
import { ENTITIES } from './entities/index.ts';
import { pluginSchema } from './entities/plugins.ts';
import type { EntityDefinition, FieldErrors } from './entities/definition.ts';
import type { EntityMap, EntityName } from './entities/types.ts';
import { mapAjvErrors, mergeFieldErrors, schemaViolationMessage } from './errors.ts';
import { HTTP_PROTOCOLS, effectiveSchema, kongOf, typedefs } from './typedefs.ts';

export { coerceFormInput } from './coerce.ts';
export { schemaForAdmin, pluginSchemaForAdmin } from './admin-schema.ts';
export { schemaViolationMessage } from './errors.ts';
export type { FieldErrors } from './entities/definition.ts';

export type PrepareMode = 'insert' | 'update' | 'upsert';

export interface PrepareOptions<E extends EntityName> {
  mode: PrepareMode;
  /** The stored row (update: required; upsert: keeps its created_at). */
  existing?: EntityMap[E] | null;
  /** The id from the URL (update/upsert), or the id to give a new row that has none (insert). */
  id?: string;
  /** Clock, epoch milliseconds (Date.now()); a value below 1e11 is taken as seconds. */
  now?: number;
  /** Keep valid created_at/updated_at given in the input (declarative import). */
  keepTimestamps?: boolean;
}

/** Values Kong accepts alongside an entity but stores elsewhere (a certificate's `snis`). */
export interface PrepareExtras {
  snis?: string[];
}

export type PrepareResult<E extends EntityName> =
  | { ok: true; row: EntityMap[E]; extras: PrepareExtras }
  | { ok: false; message: string; fields: FieldErrors };

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A schema node, seen through a nullable union (`Type.Union([X, Type.Null()])` is checked as X here). */
function asSchema(s: unknown): Obj {
  return effectiveSchema((s ?? {}) as Obj);
}

/** A record in Kong's sense: an object schema with declared fields (not a map, not a foreign key). */
function isRecordSchema(s: Obj): boolean {
  return s.type === 'object' && isObject(s.properties) && kongOf(s).type !== 'foreign' && kongOf(s).type !== 'map';
}

function fail(fields: FieldErrors): { ok: false; message: string; fields: FieldErrors } {
  return { ok: false, message: schemaViolationMessage(fields), fields };
}

function timestamp(def: EntityDefinition, nowMs: number): number {
  return def.timestamps === 's' ? Math.floor(nowMs / 1000) : Math.floor(nowMs) / 1000;
}

/** Kong's Schema:merge_values: top over bottom, records merged field by field. */
export function mergeValues(schema: Obj, top: Obj, bottom: Obj, overrides: Record<string, Obj> = {}): Obj {
  const out: Obj = { ...bottom, ...top };
  const props = asSchema(schema.properties);
  for (const [key, prop] of Object.entries(props)) {
    const t = top[key];
    const b = bottom[key];
    const propSchema = overrides[key] ?? asSchema(prop);
    if (t !== undefined && t !== null && isObject(t) && isObject(b) && (isRecordSchema(propSchema) || overrides[key] !== undefined)) {
      out[key] = mergeValues(propSchema, t, b);
    }
  }
  return out;
}

/** Sets (Kong's `set` type) drop duplicate elements instead of failing. */
function dedupeSets(schema: Obj, value: unknown): void {
  if (!isObject(value)) return;
  const props = asSchema(schema.properties);
  for (const [key, prop] of Object.entries(props)) {
    const p = asSchema(prop);
    const v = value[key];
    if (Array.isArray(v) && kongOf(p).type === 'set') {
      const seen = new Set<string>();
      value[key] = v.filter((x) => {
        const k = typeof x === 'object' ? JSON.stringify(x) : `${typeof x}:${String(x)}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    } else if (isObject(v) && isRecordSchema(p)) {
      dedupeSets(p, v);
    }
  }
}

function allowsNull(s: Obj): boolean {
  if (s.type === 'null' || (Array.isArray(s.type) && s.type.includes('null')) || s.nullable === true) return true;
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = s[k];
    if (Array.isArray(list) && list.some((b) => allowsNull(asSchema(b)))) return true;
  }
  return false;
}

function defaultOf(prop: Obj): unknown {
  return prop.default !== undefined ? prop.default : asSchema(prop).default;
}

/** Required fields of a record that are null or absent and have no default to fill them. */
function lacksRequired(schema: Obj, value: Obj): boolean {
  const props = asSchema(schema.properties);
  return ((schema.required as string[] | undefined) ?? []).some((key) => {
    const prop = props[key];
    return (value[key] === undefined || value[key] === null) && (prop === undefined || defaultOf(asSchema(prop)) === undefined);
  });
}

/** Nothing set in a record: every field null, absent, at its default, or itself such a record. */
function isBlankRecord(schema: Obj, value: Obj): boolean {
  const props = asSchema(schema.properties);
  for (const [key, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    const prop = props[key];
    if (prop === undefined) return false;
    const p = asSchema(prop);
    if (isObject(v) && isRecordSchema(p) && isBlankRecord(p, v)) continue;
    const d = defaultOf(prop as Obj);
    if (d === undefined || !isDeepStrictEqual(v, d)) return false;
  }
  return true;
}

/**
 * Null means "unset" for a field that is not required (Kong's ngx.null); it is
 * removed before validation so defaults apply and the type check passes.
 * A field with a default given null takes its default (issue 19: forms send
 * null for what the user left empty). A required field without a default set
 * to null is "required field missing".
 * An optional record (default null) given with nothing set in it (every field
 * null or at its default) while a field it requires is missing is taken as
 * not set: that is how Kong Manager's forms send a record the user left
 * alone (openid-connect `token_exchange: { subject_token_issuers: null, … }`).
 * Missing required records are created empty so their defaults fill in.
 * All of it at every depth, also inside arrays of records.
 */
function normalizeNulls(schema: Obj, value: Obj, errors: FieldErrors, path: string[]): void {
  const props = asSchema(schema.properties);
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [key, prop] of Object.entries(props)) {
    const p = asSchema(prop);
    const v = value[key];
    if (v === null && !allowsNull(prop as Obj)) {
      delete value[key];
      if (required.has(key) && defaultOf(prop as Obj) === undefined) mergeFieldErrors(errors, { [key]: 'required field missing' }, path);
      continue;
    }
    if (v === undefined && required.has(key) && isRecordSchema(p) && p.default === undefined) {
      value[key] = {};
    }
    const now = value[key];
    if (isObject(now) && isRecordSchema(p) && allowsNull(prop as Obj) && (defaultOf(prop as Obj) ?? null) === null && lacksRequired(p, now) && isBlankRecord(p, now)) {
      value[key] = null;
      continue;
    }
    if (isObject(now) && isRecordSchema(p)) normalizeNulls(p, now, errors, [...path, key]);
    if (Array.isArray(now) && isRecordSchema(asSchema(p.items))) {
      for (const el of now) if (isObject(el)) normalizeNulls(asSchema(p.items), el, errors, [...path, key]);
    }
  }
}

/** Output shape: every declared field present (null when unset), foreign keys as { id }. */
function shape(schema: Obj, value: Obj): Obj {
  const out: Obj = {};
  const props = asSchema(schema.properties);
  for (const [key, prop] of Object.entries(props)) {
    const p = asSchema(prop);
    const v = value[key];
    if (v === undefined || v === null) out[key] = null;
    else if (kongOf(p).type === 'foreign' && isObject(v)) out[key] = { id: v.id };
    else if (isObject(v) && isRecordSchema(p)) out[key] = shape(p, v);
    else if (Array.isArray(v) && isRecordSchema(asSchema(p.items))) out[key] = v.map((el) => (isObject(el) ? shape(asSchema(p.items), el) : el));
    else out[key] = v;
  }
  for (const [key, v] of Object.entries(value)) if (!(key in props)) out[key] = v;
  return out;
}

/** Foreign values must carry a primary key: Kong's validate_primary_key. */
function checkForeignKeys(schema: Obj, row: Obj, errors: FieldErrors): void {
  for (const [key, prop] of Object.entries(asSchema(schema.properties))) {
    if (kongOf(asSchema(prop)).type !== 'foreign') continue;
    const v = row[key];
    if (isObject(v) && (v.id === undefined || v.id === null)) {
      mergeFieldErrors(errors, { [key]: { id: 'missing primary key' } });
    }
  }
}

const pluginEntitySchemas = new WeakMap<object, TObject>();

/** The plugins entity schema specialised for one plugin: its protocols and its config schema. */
function pluginEntitySchema(module: PluginSchemaInfo): TObject {
  let schema = pluginEntitySchemas.get(module);
  if (schema === undefined) {
    const protocols = module.protocols ?? [...HTTP_PROTOCOLS];
    schema = Type.Object({
      ...pluginSchema.properties,
      config: module.schema,
      protocols: typedefs.protocols(protocols, protocols, { description: 'A list of the request protocols that will trigger this plugin.' }),
    });
    pluginEntitySchemas.set(module, schema);
  }
  return schema;
}

/**
 * Build (once) the validator of one plugin's entity schema, so the first
 * write of that plugin does not spend the Ajv compilation (~250 ms for
 * openid-connect) on the event loop of a serving process.
 */
export function warmPluginValidator(module: PluginSchemaInfo): void {
  compile(pluginEntitySchema(module));
}

function validateSnisExtra(value: unknown, errors: FieldErrors): string[] | undefined {
  if (value === undefined) return undefined;
  if (value === null) return [];
  if (!Array.isArray(value)) {
    errors.snis = 'expected an array';
    return undefined;
  }
  const seen = new Set<string>();
  for (const name of value) {
    if (typeof name !== 'string') {
      errors.snis = 'expected a string';
      return undefined;
    }
    if (seen.has(name)) {
      errors.snis = `${name} is duplicated`;
      return undefined;
    }
    const err = runCheck('wildcard_host', name);
    if (err !== null) {
      errors.snis = err;
      return undefined;
    }
    seen.add(name);
  }
  return [...seen].sort();
}

function nowMsOf(now: number | undefined): number {
  if (now === undefined) return Date.now();
  return now < 1e11 ? now * 1000 : now;
}

export function prepareEntity<E extends EntityName>(entity: E, input: unknown, opts: PrepareOptions<E>): PrepareResult<E> {
  const def = ENTITIES[entity];
  if (!isObject(input)) return fail({ '@entity': ['expected a record'] });
  const errors: FieldErrors = {};
  const extras: PrepareExtras = {};
  const data = structuredClone(input);
  // Foreign keys arrive as { id } (or, in nested endpoints, injected by the caller).

  if (entity === 'certificates' && 'snis' in data) {
    const snis = validateSnisExtra(data.snis, errors);
    if (snis !== undefined) extras.snis = snis;
    delete data.snis;
  }
  def.shorthands?.(data, errors);

  // Plugins: the plugin module supplies config's schema (Kong's subschema by name).
  let schema: TObject = def.schema;
  let module: PluginSchemaInfo | undefined;
  if (entity === 'plugins') {
    const name = data.name ?? (opts.mode === 'update' ? (opts.existing as Obj | null | undefined)?.name : undefined);
    if (name === undefined || name === null) return fail({ name: 'required field missing' });
    if (typeof name !== 'string') return fail({ name: 'expected a string' });
    module = pluginSchemaInfo(name);
    if (module === undefined) return fail({ name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property` });
    schema = pluginEntitySchema(module);
  }

  const ts = timestamp(def, nowMsOf(opts.now));
  let row: Obj;
  const existing = (opts.existing ?? null) as Obj | null;
  switch (opts.mode) {
    case 'insert': {
      row = data;
      if (row.id === undefined || row.id === null) row.id = opts.id ?? randomUUID();
      break;
    }
    case 'update': {
      const base = existing ?? {};
      const overrides: Record<string, Obj> = module ? { config: module.schema as unknown as Obj } : {};
      row = mergeValues(schema as unknown as Obj, data, base, overrides);
      row.id = opts.id ?? base.id ?? data.id;
      if (base.created_at !== undefined) row.created_at = base.created_at;
      break;
    }
    case 'upsert': {
      row = data;
      row.id = opts.id ?? data.id ?? existing?.id ?? randomUUID();
      if (existing?.created_at !== undefined) row.created_at = existing.created_at;
      break;
    }
  }
  const keep = (v: unknown) => opts.keepTimestamps === true && typeof v === 'number' && v > 0;
  const fresh = opts.mode === 'insert' || (opts.mode === 'upsert' && existing === null);
  if (fresh ? !keep(row.created_at) : row.created_at === undefined || row.created_at === null) row.created_at = ts;
  // Some entities have no updated_at (Kong's keyauth_credentials).
  if ('updated_at' in schema.properties && !keep(row.updated_at)) row.updated_at = ts;
  if (typeof row.id === 'string' && !isUuid(row.id)) errors.id = 'expected a valid UUID';

  dedupeSets(schema as unknown as Obj, row);
  if (module && isObject(row.config)) dedupeSets(module.schema as unknown as Obj, row.config);
  def.contextualDefaults?.(row);
  normalizeNulls(schema as unknown as Obj, row, errors, []);

  const validateFn = compile(schema);
  if (!validateFn(row)) mergeFieldErrors(errors, mapAjvErrors(validateFn.errors ?? []));
  checkForeignKeys(schema as unknown as Obj, row, errors);

  if (module) {
    const scopes = module.scopes;
    for (const scope of ['consumer', 'route', 'service'] as const) {
      if (scopes && scopes[scope] === false && row[scope] !== undefined && row[scope] !== null && errors[scope] === undefined) {
        errors[scope] = 'value must be null';
      }
    }
    // Consumer group scoping is opt-in (Kong Enterprise: plugins without it have `consumer_group = typedefs.no_consumer_group`).
    if (scopes?.consumer_group !== true && row.consumer_group !== undefined && row.consumer_group !== null && errors.consumer_group === undefined) {
      errors.consumer_group = 'value must be null';
    }
    if (errors.config === undefined && isObject(row.config) && module.check) {
      // Field errors are relative to config; '@entity' messages are the plugin's entity checks (Kong reports them at the top).
      // '@config' is a record-level message (Kong's custom_validator on the config record: `config: "<message>"`).
      const { '@entity': entityErrors, '@config': configError, ...extra } = module.check(row.config);
      if (typeof configError === 'string') errors.config = configError;
      else if (Object.keys(extra).length > 0) mergeFieldErrors(errors, { config: extra });
      if (entityErrors !== undefined) mergeFieldErrors(errors, { '@entity': entityErrors });
    }
  }

  def.check?.(row, errors);
  if (Object.keys(errors).length > 0) return fail(errors);

  const out = shape(schema as unknown as Obj, row);
  def.finalize?.(out);
  return { ok: true, row: out as unknown as EntityMap[E], extras };
}

/** POST /schemas/{entity}/validate: validate as an insert, store nothing. */
export function validateEntitySchema<E extends EntityName>(entity: E, input: unknown): PrepareResult<E> {
  return prepareEntity(entity, input, { mode: 'insert' });
}

/** POST /schemas/plugins/validate: a whole plugin entity, config included. */
export function validatePluginSchema(input: unknown): PrepareResult<'plugins'> {
  return prepareEntity('plugins', input, { mode: 'insert' });
}

/** The TypeBox schema a plugin's config is validated with (for callers that need it). */
export function pluginConfigSchema(name: string): TSchema | null {
  return pluginSchemaInfo(name)?.schema ?? null;
}
