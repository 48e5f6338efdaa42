/**
 * Kong's error bodies for an invalid declarative configuration
 * (kong/db/errors.lua `declarative_config` and `declarative_config_flattened`).
 *
 * Errors are collected in a tree mirroring the input, as Kong's declarative
 * schema reports them: `{ services: { 1: { host: "required field missing",
 * routes: { 2: { paths: ... } } } } }` — Lua tables, so array positions are
 * 1-based keys. `message` pretty-prints that tree the way Penlight does and
 * `fields` is the tree as cjson encodes it.
 *
 * With `?flatten_errors=1` Kong hoists every entity's errors into a flat list
 * (`flattened_errors`), one entry per invalid entity with its type, name, id,
 * tags, the entity as written and each error as `{type: "field", field:
 * "config.x", message}` or `{type: "entity", message}`. The port below keeps
 * Kong's traversal, including its draining order (sorted keys consumed from
 * the end), so entries come out in the same order as Kong's.
 */
import { isUuid } from '../../schema/checks.ts';
import type { EntityName } from '../../schema/entities/types.ts';
import { luaPretty, toCjson } from './lua-pretty.ts';
import { RELATIONS, SINGULAR } from './relations.ts';

/** A Lua-table-like error tree: string keys, array positions as "1", "2", … */
export type ErrTree = Record<string, unknown>;

export interface FlattenedEntityError {
  entity_name?: string;
  entity_id?: string;
  entity_tags?: string[];
  entity_type: string;
  entity: Record<string, unknown>;
  errors: Array<{ type: 'field'; field: string; message: string } | { type: 'entity'; message: string }>;
}

/** Kong error code for an invalid declarative configuration. */
export const DECLARATIVE_CONFIG_CODE = 14;
export const DECLARATIVE_CONFIG_NAME = 'invalid declarative configuration';

const POSITIVE_INT = /^[1-9][0-9]*$/;

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Turn JS arrays inside an error tree into 1-based keyed tables (Lua's view). */
export function normalizeTree(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: ErrTree = {};
    v.forEach((item, i) => {
      if (item !== undefined && item !== null) out[String(i + 1)] = normalizeTree(item);
    });
    return out;
  }
  if (isPlainObject(v)) {
    const out: ErrTree = {};
    for (const [k, item] of Object.entries(v)) if (item !== undefined) out[k] = normalizeTree(item);
    return out;
  }
  return v;
}

/** `declarative config is invalid: {...}` with Penlight's rendering of the tree. */
export function declarativeMessage(tree: ErrTree): string {
  return `declarative config is invalid: ${luaPretty(tree)}`;
}

/** The non-flattened error body (`errors:declarative_config(err_t)`). */
export function declarativeErrorBody(tree: ErrTree): { code: number; name: string; message: string; fields: unknown } {
  return {
    code: DECLARATIVE_CONFIG_CODE,
    name: DECLARATIVE_CONFIG_NAME,
    message: declarativeMessage(tree),
    fields: toCjson(tree),
  };
}

function compareKeys(a: string, b: string): number {
  const an = POSITIVE_INT.test(a);
  const bn = POSITIVE_INT.test(b);
  if (an && bn) return Number(a) - Number(b);
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Kong's `drain`: sorted keys consumed from the end, each removed as it is visited. */
function* drain(t: ErrTree): Generator<[string, unknown]> {
  const keys = Object.keys(t).sort(compareKeys);
  while (keys.length > 0) {
    const key = keys.pop()!;
    if (!(key in t)) continue;
    const value = t[key];
    delete t[key];
    if (value === undefined) continue;
    yield [key, value];
  }
}

function join(ns: string, field: string): string {
  return ns !== '' ? `${ns}.${field}` : field;
}

type FlatError = FlattenedEntityError['errors'][number];

function addEntityError(err: unknown, out: FlatError[]): void {
  if (isTable(err)) {
    for (const [, message] of luaArray(err)) addEntityError(message, out);
  } else {
    out.push({ type: 'entity', message: String(err) });
  }
}

/** ipairs over a Lua-like table (1..n without holes). */
function luaArray(t: Record<string, unknown> | unknown[]): [number, unknown][] {
  const out: [number, unknown][] = [];
  if (Array.isArray(t)) {
    for (let i = 0; i < t.length && t[i] !== undefined && t[i] !== null; i++) out.push([i + 1, t[i]]);
    return out;
  }
  for (let i = 1; t[String(i)] !== undefined; i++) out.push([i, t[String(i)]]);
  return out;
}

function categorize(errs: ErrTree, ns: string, out: FlatError[]): FlatError[] {
  for (const [field, err] of drain(errs)) {
    if (field === '@entity') addEntityError(err, out);
    else if (typeof err === 'string') out.push({ type: 'field', field: join(ns, field), message: err });
    else if (isTable(err)) categorize(normalizeTree(err) as ErrTree, join(ns, field), out);
  }
  return out;
}

function validName(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function validId(v: unknown): string | undefined {
  return typeof v === 'string' && isUuid(v) ? v : undefined;
}

function validTags(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((t) => typeof t === 'string') ? (v as string[]) : undefined;
}

function makePk(entity: Record<string, unknown>): { id: string } | undefined {
  const id = validId(entity.id);
  return id === undefined ? undefined : { id };
}

function addEntityErrors(entityType: EntityName, entity: unknown, errT: unknown, out: FlattenedEntityError[]): void {
  if (!isTable(errT) || Object.keys(errT).length === 0) return;
  if (!isPlainObject(entity)) return;
  const err = errT as ErrTree;
  const entityPk = makePk(entity);

  for (const ref of RELATIONS) {
    if (ref.child === entityType) {
      // an owned one-to-one reference written inline (services[].client_certificate: {...})
      const value = entity[ref.field];
      if (isPlainObject(value)) {
        const pk = makePk(value);
        if (pk === undefined) delete entity[ref.field];
        else entity[ref.field] = pk;
        const fieldErr = err[ref.field];
        delete err[ref.field];
        addEntityErrors(ref.parent, value, fieldErr, out);
      }
    } else if (ref.parent === entityType) {
      // children written nested under this entity (services[].routes[])
      const value = entity[ref.child];
      const fieldErr = err[ref.child];
      if (Array.isArray(value)) {
        delete entity[ref.child];
        delete err[ref.child];
        if (isTable(fieldErr)) {
          const childErrs = normalizeTree(fieldErr) as ErrTree;
          value.forEach((item, i) => {
            if (isPlainObject(item) && item[ref.field] === undefined && entityPk !== undefined) item[ref.field] = { ...entityPk };
            addEntityErrors(ref.child, item, childErrs[String(i + 1)], out);
          });
        }
      }
    }
  }

  if (Object.keys(err).length === 0) return;
  const errors = categorize(err, '', []);
  if (errors.length === 0) return;
  const entry: FlattenedEntityError = { entity_type: SINGULAR[entityType], entity, errors };
  const name = validName(entity.name);
  const id = validId(entity.id);
  const tags = validTags(entity.tags);
  const ordered: FlattenedEntityError = {
    ...(name !== undefined ? { entity_name: name } : {}),
    ...(id !== undefined ? { entity_id: id } : {}),
    ...(tags !== undefined ? { entity_tags: tags } : {}),
    ...entry,
  };
  out.push(ordered);
}

/**
 * Kong's `flatten_errors(input, err_t)`. Consumes `tree` (entries that could
 * be attributed to an entity are removed); what cannot be attributed stays in
 * it — Kong loses per-entity errors keyed by name here, we keep them in
 * `fields` so the user still sees them. `input` is deep-copied first.
 */
export function flattenErrors(input: Record<string, unknown>, tree: ErrTree): FlattenedEntityError[] {
  const doc = structuredClone(input);
  const out: FlattenedEntityError[] = [];
  for (const [section, sectionErrors] of drain(tree)) {
    const entities = doc[section];
    if (!isTable(sectionErrors) || !Array.isArray(entities) || !(section in SINGULAR)) {
      tree[section] = sectionErrors;
      continue;
    }
    const rest: ErrTree = {};
    for (const [i, errI] of drain(normalizeTree(sectionErrors) as ErrTree)) {
      const entity = POSITIVE_INT.test(i) ? entities[Number(i) - 1] : undefined;
      if (isPlainObject(entity)) addEntityErrors(section as EntityName, entity, errI, out);
      else rest[i] = errI;
    }
    if (Object.keys(rest).length > 0) tree[section] = rest;
  }
  return out;
}

/** The body Kong answers with `?flatten_errors=1`. */
export function flattenedErrorBody(input: Record<string, unknown>, tree: ErrTree): {
  code: number;
  name: string;
  message: string;
  fields: unknown;
  flattened_errors: FlattenedEntityError[];
} {
  const copy = structuredClone(tree);
  const flattened = flattenErrors(input, copy);
  return {
    code: DECLARATIVE_CONFIG_CODE,
    name: DECLARATIVE_CONFIG_NAME,
    message: declarativeMessage(copy),
    fields: toCjson(copy),
    flattened_errors: flattened,
  };
}
