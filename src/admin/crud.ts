/**
 * The generic entity endpoints Kong generates for every entity
 * (kong/api/endpoints.lua), for each foreign key `child.field → parent`:
 *
 *   /{entity}                         GET list, POST create (201)
 *   /{entity}/{id or key}             GET, PUT upsert (200), PATCH (200), DELETE (204, also when absent)
 *   /{parent}/{p}/{children}          GET list of p's children, POST create with the parent injected
 *   /{parent}/{p}/{children}/{c}      GET, PUT, PATCH, DELETE — c must belong to p (404 otherwise)
 *   /{child}/{c}/{field}              GET, PUT, PATCH the referenced parent; DELETE is 405
 *
 * e.g. /services/{service}/routes, /routes/{route}/service,
 * /consumers/{consumer}/plugins, /certificates/{certificate}/snis.
 */
import { randomUUID } from 'node:crypto';
import { isUuid } from '../schema/checks.ts';
import { coerceFormInput } from '../schema/validate.ts';
import { foreignKeysOf } from '../schema/entities/index.ts';
import type { EntityName } from '../schema/entities/types.ts';
import { bodyObject } from './body.ts';
import { methodNotAllowed, notFound } from './errors.ts';
import {
  byFieldOf,
  deleteEntity,
  findEntity,
  insertEntity,
  storeFailure,
  updateEntity,
  upsertEntity,
  type Row,
  type WriteHooks,
} from './entity-ops.ts';
import { nextNested, nextTopLevel, parsePaging } from './paging.ts';
import type { AdminRouter } from './router.ts';
import type { AdminContext, AdminRequest, AdminResponse } from './types.ts';

/** Per-entity behaviour beyond the generic endpoints (certificates' SNIs). */
export interface EntityAdapter {
  /** Resolve the `{id or key}` URL segment; default: id, else endpoint key. */
  lookup?(ctx: AdminContext, raw: string, method: string): Promise<Row | null>;
  /** Decorate a row served by the entity's own endpoints. */
  present?(ctx: AdminContext, row: Row): Promise<Row>;
  /** Hooks around writes from the entity's own endpoints. */
  hooks?(ctx: AdminContext, req: AdminRequest, input: Row): WriteHooks;
  /** Rewrite input before a PUT addressed by something that is not an id or key (certificates by SNI). */
  upsert?(ctx: AdminContext, raw: string, input: Row, req: AdminRequest): Promise<Row>;
  /** Whether a stored row is listed (rows past their ttl are not). */
  visible?(row: Row): boolean;
  /**
   * Resolve `{c}` of `/{parent}/{p}/{children}/{c}` when it is not an id
   * (acls: the group name within the consumer); null: not found.
   */
  lookupUnder?(ctx: AdminContext, parentRow: Row, raw: string): Promise<Row | null>;
  /** The field `{c}` names when a PUT under a parent creates a row (acls: `group`). */
  nestedKey?: string;
}

/**
 * Kong's admin_api_name / admin_api_nested_name: the URL names of entities
 * whose endpoints are not named after the entity
 * (kong/plugins/key-auth/daos.lua: /key-auths, /consumers/{consumer}/key-auth).
 */
const API_NAMES: Partial<Record<EntityName, { collection: string; nested: string }>> = {
  keyauth_credentials: { collection: 'key-auths', nested: 'key-auth' },
  basicauth_credentials: { collection: 'basic-auths', nested: 'basic-auth' },
  jwt_secrets: { collection: 'jwts', nested: 'jwt' },
  hmacauth_credentials: { collection: 'hmac-auths', nested: 'hmac-auth' },
  key_sets: { collection: 'key-sets', nested: 'key-sets' },
};

/** URL name of an entity's collection (`/key-auths`). */
export function collectionName(entity: EntityName): string {
  return API_NAMES[entity]?.collection ?? entity;
}

/** URL name of an entity under its parent (`/consumers/{c}/key-auth`). */
export function nestedName(entity: EntityName): string {
  return API_NAMES[entity]?.nested ?? entity;
}

export const adapters: Partial<Record<EntityName, EntityAdapter>> = {};

/** Install an entity's adapter (certificates.ts); done once by server.ts. */
export function setAdapter(entity: EntityName, adapter: EntityAdapter): void {
  adapters[entity] = adapter;
}

function lookup(ctx: AdminContext, entity: EntityName, raw: string, method: string): Promise<Row | null> {
  const a = adapters[entity];
  return a?.lookup ? a.lookup(ctx, raw, method) : findEntity(ctx, entity, raw);
}

async function mustLookup(ctx: AdminContext, entity: EntityName, raw: string, method: string): Promise<Row> {
  const row = await lookup(ctx, entity, raw, method);
  if (row === null) throw notFound();
  return row;
}

async function present(ctx: AdminContext, entity: EntityName, row: Row): Promise<Row> {
  const a = adapters[entity];
  return a?.present ? a.present(ctx, row) : row;
}

function hooksFor(ctx: AdminContext, entity: EntityName, req: AdminRequest, input: Row): WriteHooks {
  return adapters[entity]?.hooks?.(ctx, req, input) ?? {};
}

/** The request body as entity input; form values are converted to the schema's types (of `existing` on PATCH). */
export function entityInput(req: AdminRequest, entity: EntityName, existing: Row | null = null): Row {
  const obj = bodyObject(req.body);
  if (req.body.kind === 'form' || req.body.kind === 'multipart') return coerceFormInput(entity, obj, existing) as Row;
  return structuredClone(obj);
}

function fkId(row: Row, field: string): string | null {
  const v = row[field];
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string' ? (v as { id: string }).id : null;
}

/** One page of a collection, Kong's list body: `{data, offset?, next}`. */
export async function listPage(
  ctx: AdminContext,
  req: AdminRequest,
  entity: EntityName,
  foreign: { field: string; id: string; parentCollection: string; parentKey: string; childCollection: string } | null,
): Promise<AdminResponse> {
  const paging = parsePaging(req.query);
  let page;
  try {
    page = await ctx.store.list(entity, {
      size: paging.size,
      offset: paging.offset,
      tags: paging.tags,
      foreign: foreign === null ? null : { field: foreign.field, id: foreign.id },
    });
  } catch (err) {
    // an offset the store cannot decode is the client's mistake (Kong code 7)
    throw storeFailure(ctx, err, entity, 'create');
  }
  const data: Row[] = [];
  const visible = adapters[entity]?.visible;
  for (const row of page.data) {
    if (visible !== undefined && !visible(row as unknown as Row)) continue;
    data.push(await present(ctx, entity, row as unknown as Row));
  }
  const next =
    foreign === null
      ? nextTopLevel(collectionName(entity), page.offset, paging)
      : nextNested(foreign.parentCollection, foreign.parentKey, foreign.childCollection, page.offset);
  return { status: 200, body: page.offset !== null ? { data, offset: page.offset, next } : { data, next } };
}

/** Visit every row of an entity (pages of 1000). */
export async function scanAll(ctx: AdminContext, entity: EntityName, visit: (row: Row) => boolean | void): Promise<void> {
  let offset: string | null = null;
  do {
    let page;
    try {
      page = await ctx.store.list(entity, { size: 1000, offset });
    } catch (err) {
      throw storeFailure(ctx, err, entity, 'create');
    }
    for (const row of page.data) if (visit(row as unknown as Row) === true) return;
    offset = page.offset;
  } while (offset !== null);
}

// ---------------------------------------------------------------------------

function collectionHandlers(router: AdminRouter, entity: EntityName): void {
  const path = collectionName(entity);
  router.add('GET', `/${path}`, async (req, ctx) => {
    if (entity === 'consumers' && req.query.get('custom_id') !== null) {
      // kong/api/routes/consumers.lua: /consumers?custom_id=x
      const customId = req.query.get('custom_id')!;
      let found: Row | null = null;
      await scanAll(ctx, 'consumers', (row) => {
        if (row.custom_id === customId) {
          found = row;
          return true;
        }
        return false;
      });
      return { status: 200, body: { data: found === null ? [] : [found], next: null } };
    }
    return listPage(ctx, req, entity, null);
  });

  router.add('POST', `/${path}`, async (req, ctx) => {
    const input = entityInput(req, entity);
    const row = await insertEntity(ctx, entity, input, hooksFor(ctx, entity, req, input));
    return { status: 201, body: await present(ctx, entity, row) };
  });

  router.add('GET', `/${path}/:id`, async (req, ctx) => {
    const row = await mustLookup(ctx, entity, req.params.id!, 'GET');
    return { status: 200, body: await present(ctx, entity, row) };
  });

  router.add('PUT', `/${path}/:id`, async (req, ctx) => {
    const input = entityInput(req, entity);
    const raw = req.params.id!;
    const a = adapters[entity];
    const row = a?.upsert ? await a.upsert(ctx, raw, input, req) : await upsertEntity(ctx, entity, raw, input, hooksFor(ctx, entity, req, input));
    return { status: 200, body: await present(ctx, entity, row) };
  });

  router.add('PATCH', `/${path}/:id`, async (req, ctx) => {
    const raw = req.params.id!;
    const existing = await mustLookup(ctx, entity, raw, 'PATCH');
    const input = entityInput(req, entity, existing);
    const row = await updateEntity(ctx, entity, existing, input, byFieldOf(entity, raw), hooksFor(ctx, entity, req, input));
    return { status: 200, body: await present(ctx, entity, row) };
  });

  router.add('DELETE', `/${path}/:id`, async (req, ctx) => {
    const raw = req.params.id!;
    const existing = await lookup(ctx, entity, raw, 'DELETE');
    await deleteEntity(ctx, entity, existing, byFieldOf(entity, raw));
    return { status: 204 };
  });
}

/** /{child}/{c}/{field}: the entity a foreign key points to. */
function foreignEntityHandlers(router: AdminRouter, child: EntityName, field: string, parent: EntityName): void {
  const pattern = `/${collectionName(child)}/:child/${field}`;

  async function target(req: AdminRequest, ctx: AdminContext): Promise<{ childRow: Row; parentRow: Row }> {
    const childRow = await mustLookup(ctx, child, req.params.child!, req.method);
    const id = fkId(childRow, field);
    if (id === null) throw notFound();
    let parentRow: Row | null;
    try {
      parentRow = (await ctx.store.get(parent, id)) as Row | null;
    } catch (err) {
      throw storeFailure(ctx, err, parent, 'update');
    }
    if (parentRow === null) throw notFound();
    return { childRow, parentRow };
  }

  router.add('GET', pattern, async (req, ctx) => ({ status: 200, body: (await target(req, ctx)).parentRow }));

  router.add('PATCH', pattern, async (req, ctx) => {
    const { parentRow } = await target(req, ctx);
    const row = await updateEntity(ctx, parent, parentRow, entityInput(req, parent), null);
    return { status: 200, body: row };
  });

  router.add('PUT', pattern, async (req, ctx) => {
    const childRow = await mustLookup(ctx, child, req.params.child!, 'PUT');
    const input = entityInput(req, parent);
    const id = fkId(childRow, field);
    if (id !== null) return { status: 200, body: await upsertEntity(ctx, parent, id, input) };
    // no parent yet: create one and point the child at it (Kong's "associate")
    const created = await upsertEntity(ctx, parent, randomUUID(), input);
    await updateEntity(ctx, child, childRow, { [field]: { id: created.id } }, null);
    return { status: 200, body: created };
  });

  router.add('DELETE', pattern, async (req, ctx) => {
    await target(req, ctx);
    throw methodNotAllowed();
  });
}

/** /{parent}/{p}/{children} and /{parent}/{p}/{children}/{c}. */
function nestedHandlers(router: AdminRouter, parent: EntityName, child: EntityName, field: string): void {
  const collection = `/${collectionName(parent)}/:parent/${nestedName(child)}`;
  const item = `${collection}/:child`;

  router.add('GET', collection, async (req, ctx) => {
    const parentRow = await mustLookup(ctx, parent, req.params.parent!, 'GET');
    return listPage(ctx, req, child, {
      field,
      id: String(parentRow.id),
      parentCollection: collectionName(parent),
      parentKey: req.params.parent!,
      childCollection: nestedName(child),
    });
  });

  router.add('POST', collection, async (req, ctx) => {
    const parentRow = await mustLookup(ctx, parent, req.params.parent!, 'POST');
    const input = entityInput(req, child);
    input[field] = { id: parentRow.id };
    const row = await insertEntity(ctx, child, input, hooksFor(ctx, child, req, input));
    return { status: 201, body: await present(ctx, child, row) };
  });

  const under = adapters[child]?.lookupUnder;
  async function childUnder(ctx: AdminContext, parentRow: Row, raw: string, method: string): Promise<Row | null> {
    return under !== undefined && !isUuid(raw) ? under(ctx, parentRow, raw) : lookup(ctx, child, raw, method);
  }

  async function owned(req: AdminRequest, ctx: AdminContext): Promise<{ parentRow: Row; childRow: Row }> {
    const parentRow = await mustLookup(ctx, parent, req.params.parent!, req.method);
    const childRow = await childUnder(ctx, parentRow, req.params.child!, req.method);
    if (childRow === null) throw notFound();
    if (fkId(childRow, field) !== parentRow.id) throw notFound();
    return { parentRow, childRow };
  }

  router.add('GET', item, async (req, ctx) => {
    const { childRow } = await owned(req, ctx);
    return { status: 200, body: await present(ctx, child, childRow) };
  });

  router.add('PUT', item, async (req, ctx) => {
    const parentRow = await mustLookup(ctx, parent, req.params.parent!, 'PUT');
    const input = entityInput(req, child);
    input[field] = { id: parentRow.id };
    const raw = req.params.child!;
    const nestedKey = adapters[child]?.nestedKey;
    if (nestedKey !== undefined && !isUuid(raw)) {
      // Kong's acl api.lua: PUT /consumers/{c}/acls/{group} updates that group's row or creates it
      const found = await childUnder(ctx, parentRow, raw, 'PUT');
      input[nestedKey] = raw;
      const row = await upsertEntity(ctx, child, found !== null ? String(found.id) : randomUUID(), input, hooksFor(ctx, child, req, input));
      return { status: 200, body: await present(ctx, child, row) };
    }
    const row = await upsertEntity(ctx, child, raw, input, hooksFor(ctx, child, req, input));
    return { status: 200, body: await present(ctx, child, row) };
  });

  router.add('PATCH', item, async (req, ctx) => {
    const { parentRow, childRow } = await owned(req, ctx);
    const input = entityInput(req, child, childRow);
    if (input[field] === undefined) input[field] = { id: parentRow.id };
    const row = await updateEntity(ctx, child, childRow, input, byFieldOf(child, req.params.child!), hooksFor(ctx, child, req, input));
    return { status: 200, body: await present(ctx, child, row) };
  });

  router.add('DELETE', item, async (req, ctx) => {
    const { childRow } = await owned(req, ctx);
    await deleteEntity(ctx, child, childRow, byFieldOf(child, req.params.child!));
    return { status: 204 };
  });
}

/** Entities with top-level endpoints (targets live under /upstreams/{upstream}/targets only). */
export const TOP_LEVEL: readonly EntityName[] = [
  'services',
  'routes',
  'consumers',
  'plugins',
  'certificates',
  'snis',
  'ca_certificates',
  'upstreams',
  'keyauth_credentials',
  'acls',
  'basicauth_credentials',
  'jwt_secrets',
  'hmacauth_credentials',
  'consumer_groups',
  'key_sets',
  'keys',
  'vaults',
];

export function registerCrud(router: AdminRouter): void {
  for (const entity of TOP_LEVEL) collectionHandlers(router, entity);
  for (const child of TOP_LEVEL) {
    for (const fk of foreignKeysOf(child)) {
      if (!TOP_LEVEL.includes(fk.reference)) continue;
      foreignEntityHandlers(router, child, fk.field, fk.reference);
      nestedHandlers(router, fk.reference, child, fk.field);
    }
  }
}
