/**
 * The write and lookup steps every entity endpoint shares, in Kong's order
 * (kong/db/dao/init.lua):
 *   resolve foreign keys given by endpoint key (`service: {name: "x"}`, code 13)
 *   → validate and default (prepareEntity; schema violation, code 2)
 *   → DB-less refusal (405, code 12) — after validation, as Kong does
 *   → referenced entities must exist (foreign key violation, code 4)
 *   → one store write (unique violation 409, code 5).
 * Nothing is written before every check has passed, so a bad request never
 * leaves a half-written entity.
 */
import { isUuid } from '../schema/checks.ts';
import { ENTITIES, foreignKeysOf } from '../schema/entities/index.ts';
import type { EntityMap, EntityName } from '../schema/entities/types.ts';
import { prepareEntity, type PrepareExtras, type PrepareMode } from '../schema/validate.ts';
import { StoreError } from '../store/store.ts';
import { luaPretty } from '../store/declarative/lua-pretty.ts';
import {
  AdminError,
  foreignKeyInvalid,
  foreignKeyRestricted,
  foreignKeysUnresolved,
  invalidOffset,
  invalidPrimaryKey,
  notFound,
  operationUnsupported,
  schemaViolation,
  uniqueViolation,
  unexpected,
  type DbLessOperation,
} from './errors.ts';
import type { AdminContext } from './types.ts';

export type Row = Record<string, unknown>;

function isObject(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function endpointKeyOf(entity: EntityName): string | null {
  return ENTITIES[entity].endpointKey;
}

/**
 * Kong's select_entity: a UUID selects by id only; anything else selects by
 * the endpoint key (services/routes name, consumers username, …); an entity
 * without endpoint key answers 400 invalid primary key.
 */
export async function findEntity(ctx: AdminContext, entity: EntityName, idOrKey: string): Promise<Row | null> {
  try {
    if (isUuid(idOrKey)) return (await ctx.store.get(entity, idOrKey)) as Row | null;
    const key = endpointKeyOf(entity);
    if (key === null) throw invalidPrimaryKey({ id: idOrKey });
    return (await ctx.store.getByKey(entity, idOrKey)) as Row | null;
  } catch (err) {
    throw storeFailure(ctx, err, entity, 'create');
  }
}

/** Like findEntity, but 404 when absent. */
export async function mustFind(ctx: AdminContext, entity: EntityName, idOrKey: string): Promise<Row> {
  const row = await findEntity(ctx, entity, idOrKey);
  if (row === null) throw notFound();
  return row;
}

/** The field a URL key selects by (null for an id), for DB-less messages. */
export function byFieldOf(entity: EntityName, idOrKey: string): string | null {
  return isUuid(idOrKey) ? null : endpointKeyOf(entity);
}

/**
 * Map a store failure to Kong's error. AdminErrors pass through; anything
 * unknown is logged and answered as a bare 500 (no detail leaves the process).
 */
export function storeFailure(ctx: AdminContext, err: unknown, entity: EntityName, op: DbLessOperation, byField?: string | null): AdminError {
  if (err instanceof AdminError) return err;
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'UNIQUE_VIOLATION':
        return uniqueViolation(err.fields);
      case 'FOREIGN_KEY_VIOLATION': {
        // the stores word these as Kong does; a CA certificate still used by services is
        // Kong's "referenced by others" (code 19), not a foreign key violation
        if (err.message.startsWith('ca certificate ')) {
          return new AdminError(400, { code: 19, name: 'referenced by others', message: err.message });
        }
        const referencedBy = err.fields['@referenced_by'];
        if (typeof referencedBy === 'string') return foreignKeyRestricted(entity, referencedBy);
        for (const [field, fk] of Object.entries(err.fields)) {
          const rel = foreignKeysOf(entity).find((r) => r.field === field);
          if (rel !== undefined && isObject(fk)) return foreignKeyInvalid(field, fk, rel.reference);
        }
        return new AdminError(400, { code: 4, name: 'foreign key violation', message: err.message, fields: err.fields });
      }
      case 'INVALID_OFFSET':
        return invalidOffset(String(err.fields.offset ?? ''), err.message);
      case 'NOT_FOUND':
        return notFound();
      case 'READ_ONLY':
        return operationUnsupported(op, entity, byField);
      case 'STORE_UNAVAILABLE':
        ctx.log.error({ err, entity }, 'admin api: store unavailable');
        return unexpected();
    }
  }
  ctx.log.error({ err, entity }, 'admin api: unexpected store error');
  return unexpected();
}

/**
 * Foreign keys written by endpoint key (`service: {name: "s1"}`, `service.name=s1`)
 * become `{ id }`; an unknown one is Kong's 400 `foreign keys unresolved` (code 13).
 */
export async function resolveForeignKeys(ctx: AdminContext, entity: EntityName, input: Row): Promise<void> {
  const errors: Record<string, Record<string, string>> = {};
  for (const fk of foreignKeysOf(entity)) {
    const value = input[fk.field];
    if (!isObject(value) || (value.id !== undefined && value.id !== null)) continue;
    const refKey = endpointKeyOf(fk.reference);
    if (refKey === null || value[refKey] === undefined || value[refKey] === null) continue;
    const keyValue = String(value[refKey]);
    const found = await findEntity(ctx, fk.reference, keyValue).catch(() => null);
    if (found !== null) {
      input[fk.field] = { id: found.id };
    } else {
      errors[fk.field] = {
        [refKey]: `the foreign key cannot be resolved with '${luaPretty({ [refKey]: value[refKey] })}' for an existing '${fk.reference}' entity`,
      };
    }
  }
  if (Object.keys(errors).length > 0) throw foreignKeysUnresolved(errors);
}

/** Every `{ id }` a row holds must name an existing entity (Kong: the database's foreign key constraint). */
export async function checkForeignKeys(ctx: AdminContext, entity: EntityName, row: Row): Promise<void> {
  for (const fk of foreignKeysOf(entity)) {
    const value = row[fk.field];
    if (!isObject(value) || typeof value.id !== 'string') continue;
    let parent: unknown;
    try {
      parent = await ctx.store.get(fk.reference, value.id);
    } catch (err) {
      throw storeFailure(ctx, err, entity, 'create');
    }
    if (parent === null) throw foreignKeyInvalid(fk.field, { id: value.id }, fk.reference);
  }
}

export interface Prepared {
  row: Row;
  extras: PrepareExtras;
}

/** Validate and default; 400 schema violation on failure. */
export function prepare(entity: EntityName, input: Row, mode: PrepareMode, existing: Row | null, id?: string): Prepared {
  const result = prepareEntity(entity, input, {
    mode,
    existing: existing as EntityMap[typeof entity] | null,
    ...(id !== undefined ? { id } : {}),
  });
  if (!result.ok) throw schemaViolation(result.fields, result.message);
  return { row: result.row as unknown as Row, extras: result.extras };
}

/** Hooks an endpoint may run between validation and the write (certificates' SNIs). */
export interface WriteHooks {
  /** After validation and FK checks, before the write: throw to refuse. */
  check?(prepared: Prepared, existing: Row | null): Promise<void>;
  /** After the write. */
  after?(row: Row, prepared: Prepared, existing: Row | null): Promise<void>;
}

async function write(
  ctx: AdminContext,
  entity: EntityName,
  input: Row,
  mode: PrepareMode,
  existing: Row | null,
  id: string | undefined,
  op: DbLessOperation,
  byField: string | null,
  hooks: WriteHooks,
): Promise<Row> {
  await resolveForeignKeys(ctx, entity, input);
  const prepared = prepare(entity, input, mode, existing, id);
  if (ctx.store.readOnly) throw operationUnsupported(op, entity, byField);
  await checkForeignKeys(ctx, entity, prepared.row);
  await hooks.check?.(prepared, existing);
  let row: Row;
  try {
    row =
      existing === null
        ? ((await ctx.store.insert(entity, prepared.row as unknown as EntityMap[typeof entity])) as unknown as Row)
        : ((await ctx.store.update(entity, prepared.row as unknown as EntityMap[typeof entity])) as unknown as Row);
  } catch (err) {
    throw storeFailure(ctx, err, entity, op, byField);
  }
  await hooks.after?.(row, prepared, existing);
  return row;
}

/** POST: create. */
export function insertEntity(ctx: AdminContext, entity: EntityName, input: Row, hooks: WriteHooks = {}): Promise<Row> {
  return write(ctx, entity, input, 'insert', null, undefined, 'create', null, hooks);
}

/** PATCH: merge over the existing row. */
export function updateEntity(
  ctx: AdminContext,
  entity: EntityName,
  existing: Row,
  input: Row,
  byField: string | null,
  hooks: WriteHooks = {},
): Promise<Row> {
  return write(ctx, entity, input, 'update', existing, String(existing.id), 'update', byField, hooks);
}

/**
 * PUT: create or replace, addressed by id or endpoint key. Addressed by key,
 * the key from the URL is the entity's key; addressed by id, the URL's id wins.
 */
export async function upsertEntity(ctx: AdminContext, entity: EntityName, idOrKey: string, input: Row, hooks: WriteHooks = {}): Promise<Row> {
  let existing: Row | null;
  let id: string | undefined;
  let byField: string | null = null;
  if (isUuid(idOrKey)) {
    existing = await findEntity(ctx, entity, idOrKey);
    id = idOrKey;
    delete input.id;
  } else {
    const key = endpointKeyOf(entity);
    if (key === null) throw invalidPrimaryKey({ id: idOrKey });
    byField = key;
    existing = await findEntity(ctx, entity, idOrKey);
    input[key] = idOrKey;
    id = existing !== null ? String(existing.id) : typeof input.id === 'string' && isUuid(input.id) ? input.id : undefined;
  }
  return write(ctx, entity, input, 'upsert', existing, id, 'create or update', byField, hooks);
}

/**
 * DELETE: 204 whether or not the entity existed (Kong). Children with an
 * on-delete "restrict" reference (a service's routes) make the store refuse
 * with Kong's foreign key violation; "cascade" children go with it.
 */
export async function deleteEntity(ctx: AdminContext, entity: EntityName, existing: Row | null, byField: string | null): Promise<void> {
  if (existing === null) return;
  if (ctx.store.readOnly) throw operationUnsupported('remove', entity, byField);
  const id = String(existing.id);
  // restrict / cascade rules are enforced by the store inside its transaction
  try {
    await ctx.store.delete(entity, id);
  } catch (err) {
    throw storeFailure(ctx, err, entity, 'remove', byField);
  }
}
