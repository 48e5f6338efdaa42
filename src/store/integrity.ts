/**
 * Referential integrity and uniqueness as Kong's DAO enforces them, shared by
 * every store (sqlite, postgres, memory), with Kong's messages
 * (kong/db/errors.lua):
 *  - unique fields and composite cache keys → UNIQUE_VIOLATION
 *    "UNIQUE violation detected on '{name="x"}'";
 *  - a foreign key naming no row → FOREIGN_KEY_VIOLATION
 *    "the foreign key '{id="…"}' does not reference an existing 'services' entity.";
 *  - deleting a row still referenced through a non-cascading key →
 *    FOREIGN_KEY_VIOLATION "an existing 'routes' entity references this 'services' entity";
 *  - cascades: a service's, route's or consumer's plugins, an upstream's
 *    targets, a certificate's SNIs go with it.
 * Also the pagination cursor and the tags filter.
 */
import { Buffer } from 'node:buffer';
import { ENTITIES, foreignKeysOf, referencesTo } from '../schema/entities/index.ts';
import type { EntityName } from '../schema/entities/types.ts';
import { luaPretty } from './declarative/lua-pretty.ts';
import { StoreError, type ListOptions } from './store.ts';

export type Row = Record<string, unknown>;

/** What the integrity checks need to read, inside the writing transaction. */
export interface RowAccess {
  get(entity: EntityName, id: string): Promise<Row | null>;
  /** A row whose indexed column `column` (a unique field or `cache_key`) equals value. */
  findBy(entity: EntityName, column: string, value: string): Promise<Row | null>;
  /** Ids of rows of `entity` whose foreign key `field` points at `id`. */
  referencing(entity: EntityName, field: string, id: string): Promise<string[]>;
  /** Ids of services listing this CA certificate in `ca_certificates`. */
  servicesUsingCaCertificate(id: string): Promise<string[]>;
}

function fkId(value: unknown): string | null {
  if (value !== null && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string') return (value as { id: string }).id;
  return null;
}

/** Kong's cache_key column: entity name and the key fields (foreign keys by id), joined by ':'. */
export function cacheKeyOf(entity: EntityName, row: Row): string | null {
  const fields = ENTITIES[entity].cacheKey;
  if (!fields) return null;
  const parts: string[] = [entity];
  for (const f of fields) {
    const v = row[f];
    parts.push(v === null || v === undefined ? '' : typeof v === 'object' ? (fkId(v) ?? '') : String(v));
  }
  return parts.join(':');
}

/** Indexed column values of a row: unique fields, foreign ids (`<field>_id`), cache key. */
export function indexedColumns(entity: EntityName, row: Row): Record<string, string | null> {
  const def = ENTITIES[entity];
  const out: Record<string, string | null> = {};
  for (const u of def.uniques) {
    const v = row[u];
    out[u] = typeof v === 'string' ? v : null;
  }
  for (const fk of foreignKeysOf(entity)) out[`${fk.field}_id`] = fkId(row[fk.field]);
  if (def.cacheKey) out.cache_key = cacheKeyOf(entity, row);
  return out;
}

export function uniqueViolation(fields: Record<string, unknown>): StoreError {
  return new StoreError('UNIQUE_VIOLATION', `UNIQUE violation detected on '${luaPretty(fields)}'`, fields);
}

/**
 * Check a row about to be written (insert, or update of `row.id`): unique
 * fields, cache key, foreign keys. Throws StoreError.
 */
export async function checkWrite(access: RowAccess, entity: EntityName, row: Row): Promise<void> {
  const def = ENTITIES[entity];
  const id = row.id as string;
  for (const field of def.uniques) {
    const v = row[field];
    if (typeof v !== 'string') continue;
    const other = await access.findBy(entity, field, v);
    if (other && other.id !== id) throw uniqueViolation({ [field]: v });
  }
  if (def.cacheKey) {
    const key = cacheKeyOf(entity, row)!;
    const other = await access.findBy(entity, 'cache_key', key);
    if (other && other.id !== id) {
      const fields: Record<string, unknown> = {};
      for (const f of def.cacheKey) {
        const v = row[f];
        fields[f] = v === undefined ? null : v !== null && typeof v === 'object' ? { id: fkId(v) } : v;
      }
      throw uniqueViolation(fields);
    }
  }
  for (const fk of foreignKeysOf(entity)) {
    const ref = fkId(row[fk.field]);
    if (ref === null) continue;
    if ((await access.get(fk.reference, ref)) === null) {
      throw new StoreError(
        'FOREIGN_KEY_VIOLATION',
        `the foreign key '${luaPretty({ id: ref })}' does not reference an existing '${fk.reference}' entity.`,
        { [fk.field]: { id: ref } },
      );
    }
  }
}

export interface PlannedDelete {
  entity: EntityName;
  id: string;
}

/**
 * Everything a delete removes, children first, or a FOREIGN_KEY_VIOLATION
 * when a non-cascading reference exists (Kong's foreign_key_violation_restricted).
 */
export async function planDelete(access: RowAccess, entity: EntityName, id: string): Promise<PlannedDelete[]> {
  const out: PlannedDelete[] = [];
  const seen = new Set<string>();
  async function visit(e: EntityName, rowId: string): Promise<void> {
    const key = `${e}:${rowId}`;
    if (seen.has(key)) return;
    seen.add(key);
    for (const ref of referencesTo(e)) {
      const children = await access.referencing(ref.entity, ref.field, rowId);
      if (children.length === 0) continue;
      if (ref.onDelete === 'restrict') {
        throw new StoreError('FOREIGN_KEY_VIOLATION', `an existing '${ref.entity}' entity references this '${e}' entity`, {
          '@referenced_by': ref.entity,
        });
      }
      for (const child of children) await visit(ref.entity, child);
    }
    if (e === 'ca_certificates') {
      const users = await access.servicesUsingCaCertificate(rowId);
      if (users.length > 0) {
        throw new StoreError('FOREIGN_KEY_VIOLATION', `ca certificate ${rowId} is still referenced by services (id = ${users[0]})`, {
          '@referenced_by': 'services',
        });
      }
    }
    out.push({ entity: e, id: rowId });
  }
  await visit(entity, id);
  return out;
}

// ---- pagination ----

export interface Cursor {
  createdAt: number;
  id: string;
}

/** Opaque offset: base64url of the last row's (created_at, id); rows are ordered by both. */
export function encodeOffset(row: Row): string {
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString('base64url');
}

export function decodeOffset(offset: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(offset, 'base64url').toString('utf8'));
  } catch {
    throw new StoreError('INVALID_OFFSET', 'bad base64 encoding', { offset });
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'number' || typeof parsed[1] !== 'string') {
    throw new StoreError('INVALID_OFFSET', 'bad base64 encoding', { offset });
  }
  return { createdAt: parsed[0], id: parsed[1] };
}

export function compareRows(a: Row, b: Row): number {
  const ca = a.created_at as number;
  const cb = b.created_at as number;
  if (ca !== cb) return ca - cb;
  const ia = a.id as string;
  const ib = b.id as string;
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

export function afterCursor(row: Row, cursor: Cursor): boolean {
  const c = row.created_at as number;
  return c > cursor.createdAt || (c === cursor.createdAt && (row.id as string) > cursor.id);
}

export function matchesTags(row: Row, tags: ListOptions['tags']): boolean {
  if (!tags || tags.values.length === 0) return true;
  const rowTags = Array.isArray(row.tags) ? (row.tags as string[]) : [];
  return tags.mode === 'and' ? tags.values.every((t) => rowTags.includes(t)) : tags.values.some((t) => rowTags.includes(t));
}

export function matchesForeign(row: Row, foreign: ListOptions['foreign']): boolean {
  if (!foreign) return true;
  return fkId(row[foreign.field]) === foreign.id;
}

export function pageSize(size: number | undefined): number {
  if (size === undefined || !Number.isFinite(size)) return 100;
  return Math.max(1, Math.min(1000, Math.floor(size)));
}

/** Lookup column of getByKey(): the endpoint key (plugins: instance_name; none for certificates, targets). */
export function endpointKeyOf(entity: EntityName): string | null {
  return ENTITIES[entity].endpointKey;
}
