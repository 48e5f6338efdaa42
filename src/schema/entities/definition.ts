/**
 * What the validator and the stores need to know about one entity kind:
 * its TypeBox schema, unique keys, foreign keys and Kong's entity checks.
 */
import type { TObject } from '@sinclair/typebox';
import { kongOf } from '../typedefs.ts';
import type { EntityName } from './types.ts';

/** Kong-shaped field errors: nested per field, entity-level messages under "@entity". */
export type FieldErrors = Record<string, unknown>;

export interface ForeignRelation {
  field: string;
  reference: EntityName;
  /** What deleting the referenced row does to this one (Kong's on_delete; default restrict). */
  onDelete: 'cascade' | 'restrict';
  required: boolean;
}

export interface EntityDefinition {
  name: EntityName;
  schema: TObject;
  /** Second lookup key of the Admin API endpoint (/services/{name or id}). */
  endpointKey: string | null;
  /** Single-column unique fields. */
  uniques: readonly string[];
  /** Composite uniqueness (Kong's cache_key), e.g. plugins (name, route, service, consumer). */
  cacheKey: readonly string[] | null;
  /** created_at/updated_at precision: Kong's auto_timestamp_s or auto_timestamp_ms. */
  timestamps: 's' | 'ms';
  /** Kong's shorthand fields (services' `url`): rewrite input before validation. */
  shorthands?(input: Record<string, unknown>, errors: FieldErrors): void;
  /** Defaults that depend on other fields (a grpc route's strip_path), applied before validation. */
  contextualDefaults?(input: Record<string, unknown>): void;
  /** Kong's entity_checks, run on the full, defaulted row. Add errors to `errors`. */
  check?(row: Record<string, unknown>, errors: FieldErrors): void;
  /** Derived fields after a successful validation (a target's default port, a CA's digest). */
  finalize?(row: Record<string, unknown>): void;
  /**
   * How a stored row is shown outside the store (Admin API, declarative
   * export): internal fields removed; null when the row is no longer visible
   * (a credential past its ttl). Default: the row as stored.
   */
  publicView?(row: Record<string, unknown>): Record<string, unknown> | null;
}

export function foreignRelations(schema: TObject): ForeignRelation[] {
  const out: ForeignRelation[] = [];
  const required = new Set(schema.required ?? []);
  for (const [field, prop] of Object.entries(schema.properties)) {
    const k = kongOf(prop);
    if (k.type === 'foreign' && k.reference) {
      out.push({ field, reference: k.reference, onDelete: k.onDelete ?? 'restrict', required: required.has(field) });
    }
  }
  return out;
}

// ---- helpers implementing Kong's generic entity checkers (kong/db/schema/init.lua) ----

export function isNonEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value !== '';
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

export function addEntityError(errors: FieldErrors, message: string): void {
  const list = (errors['@entity'] as string[] | undefined) ?? [];
  list.push(message);
  errors['@entity'] = list;
}

export function quotedList(names: readonly string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}

/** at_least_one_of: "at least one of these fields must be non-empty: 'a', 'b'". */
export function atLeastOneOf(row: Record<string, unknown>, errors: FieldErrors, fields: readonly string[]): void {
  if (fields.some((f) => isNonEmpty(row[f]))) return;
  addEntityError(errors, `at least one of these fields must be non-empty: ${quotedList(fields)}`);
}

/**
 * conditional: when `ifField` matches, `thenField` must pass `then`. The field
 * gets the validator's message and the entity gets Kong's summary (or then_err).
 */
export function conditional(
  row: Record<string, unknown>,
  errors: FieldErrors,
  ifField: string,
  ifMatch: (v: unknown) => boolean,
  thenField: string,
  then: (v: unknown) => string | null,
  thenErr?: string,
): void {
  if (errors[ifField] !== undefined || !ifMatch(row[ifField])) return;
  const err = then(row[thenField] ?? null);
  if (err === null) return;
  if (errors[thenField] === undefined) errors[thenField] = err;
  addEntityError(errors, thenErr ?? `failed conditional validation given value of field '${ifField}'`);
}

export const mustBeNull = (v: unknown): string | null => (v === null || v === undefined ? null : 'value must be null');
export const requiredValue = (v: unknown): string | null => (v === null || v === undefined ? 'required field missing' : null);
export const oneOfValues =
  (values: readonly string[]) =>
  (v: unknown): string | null =>
    values.includes(v as string) ? null : `expected one of: ${values.join(', ')}`;

/** distinct: "values of these fields must be distinct: 'a', 'b'". */
export function distinct(row: Record<string, unknown>, errors: FieldErrors, fields: readonly string[]): void {
  const seen = new Set<unknown>();
  for (const f of fields) {
    const v = row[f];
    if (!isNonEmpty(v)) continue;
    if (seen.has(v)) {
      addEntityError(errors, `values of these fields must be distinct: ${quotedList(fields)}`);
      return;
    }
    seen.add(v);
  }
}

/** mutually_required: "all or none of these fields must be set: 'a', 'b'". */
export function mutuallyRequired(row: Record<string, unknown>, errors: FieldErrors, fields: readonly string[]): void {
  const set = fields.filter((f) => isNonEmpty(row[f])).length;
  if (set !== 0 && set !== fields.length) {
    addEntityError(errors, `all or none of these fields must be set: ${quotedList(fields)}`);
  }
}
