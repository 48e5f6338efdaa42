/**
 * Admin API errors in Kong's shapes (kong/db/errors.lua codes and messages,
 * kong/api/endpoints.lua status mapping). Every error the Admin API answers
 * with is built here; src/admin/server.ts is the one place they become
 * responses. Public bodies never carry stack traces or internal detail.
 */
import { schemaViolationMessage } from '../schema/validate.ts';
import { luaPretty } from '../store/declarative/lua-pretty.ts';

/** kong/db/errors.lua error codes. */
export const KONG_CODES = {
  INVALID_PRIMARY_KEY: 1,
  SCHEMA_VIOLATION: 2,
  PRIMARY_KEY_VIOLATION: 3,
  FOREIGN_KEY_VIOLATION: 4,
  UNIQUE_VIOLATION: 5,
  NOT_FOUND: 6,
  INVALID_OFFSET: 7,
  DATABASE_ERROR: 8,
  INVALID_SIZE: 9,
  INVALID_UNIQUE: 10,
  INVALID_OPTIONS: 11,
  OPERATION_UNSUPPORTED: 12,
  FOREIGN_KEYS_UNRESOLVED: 13,
  DECLARATIVE_CONFIG: 14,
} as const;

export class AdminError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown> | null;
  readonly headers: Record<string, string>;
  constructor(status: number, body: Record<string, unknown> | null, headers: Record<string, string> = {}) {
    super(typeof body?.message === 'string' ? body.message : `HTTP ${status}`);
    this.name = 'AdminError';
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

export function message(status: number, text: string): AdminError {
  return new AdminError(status, { message: text });
}

export const notFound = (): AdminError => message(404, 'Not found');
export const methodNotAllowed = (): AdminError => message(405, 'Method not allowed');
export const unauthorized = (): AdminError => message(401, 'Unauthorized');
export const unexpected = (): AdminError => message(500, 'An unexpected error occurred');

function sortedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).sort();
}

export function schemaViolation(fields: Record<string, unknown>, msg?: string): AdminError {
  return new AdminError(400, {
    code: KONG_CODES.SCHEMA_VIOLATION,
    name: 'schema violation',
    message: msg ?? schemaViolationMessage(fields),
    fields,
  });
}

/** 409 `UNIQUE violation detected on '{name="x"}'`. */
export function uniqueViolation(fields: Record<string, unknown>): AdminError {
  return new AdminError(409, {
    code: KONG_CODES.UNIQUE_VIOLATION,
    name: 'unique constraint violation',
    message: `UNIQUE violation detected on '${luaPretty(fields)}'`,
    fields,
  });
}

/** 400: a foreign key names an entity that does not exist. */
export function foreignKeyInvalid(fieldName: string, fk: Record<string, unknown>, parentName: string): AdminError {
  return new AdminError(400, {
    code: KONG_CODES.FOREIGN_KEY_VIOLATION,
    name: 'foreign key violation',
    message: `the foreign key '${luaPretty(fk)}' does not reference an existing '${parentName}' entity.`,
    fields: { [fieldName]: fk },
  });
}

/** 400: deleting a parent still referenced by a child with an on-delete "restrict" relation. */
export function foreignKeyRestricted(parentName: string, childName: string): AdminError {
  return new AdminError(400, {
    code: KONG_CODES.FOREIGN_KEY_VIOLATION,
    name: 'foreign key violation',
    message: `an existing '${childName}' entity references this '${parentName}' entity`,
    fields: { '@referenced_by': childName },
  });
}

/** 400 code 13: `service: {name: "x"}` names no existing service. */
export function foreignKeysUnresolved(errors: Record<string, Record<string, string>>): AdminError {
  const buf: string[] = [];
  for (const field of sortedKeys(errors)) {
    const sub = errors[field]!;
    for (const subField of sortedKeys(sub)) buf.push(`${field}.${subField}: ${sub[subField]}`);
  }
  const msg = buf.length === 1 ? `foreign key unresolved (${buf[0]})` : `${buf.length} foreign keys unresolved (${buf.join('; ')})`;
  return new AdminError(400, {
    code: KONG_CODES.FOREIGN_KEYS_UNRESOLVED,
    name: 'foreign keys unresolved',
    message: msg,
    fields: errors,
  });
}

export function invalidSize(msg: string): AdminError {
  return new AdminError(400, { code: KONG_CODES.INVALID_SIZE, name: 'invalid size', message: msg });
}

export function invalidOffset(offset: string, err: string): AdminError {
  return new AdminError(400, {
    code: KONG_CODES.INVALID_OFFSET,
    name: 'invalid offset',
    message: `'${offset}' is not a valid offset: ${err}`,
  });
}

/** 400 code 11; Kong puts the details under `options`, not `fields`. */
export function invalidOptions(errors: Record<string, string>): AdminError {
  const buf = sortedKeys(errors).map((k) => `${k}: ${errors[k]}`);
  const msg = buf.length === 1 ? `invalid option (${buf[0]})` : `${buf.length} option violations (${buf.join('; ')})`;
  return new AdminError(400, { code: KONG_CODES.INVALID_OPTIONS, name: 'invalid options', message: msg, options: errors });
}

/** 400 code 1: an entity without endpoint key addressed by something that is not a UUID. */
export function invalidPrimaryKey(pk: Record<string, unknown>): AdminError {
  return new AdminError(400, {
    code: KONG_CODES.INVALID_PRIMARY_KEY,
    name: 'invalid primary key',
    message: `invalid primary key: '${luaPretty(pk)}'`,
    fields: { id: 'expected a valid UUID' },
  });
}

export type DbLessOperation = 'create' | 'update' | 'create or update' | 'remove';

/**
 * DB-less mode (kong/db/strategies/off): writes answer 405 code 12,
 * `cannot create 'services' entities when not using a database`, or
 * `... entities by 'name' when not using a database` when addressed by endpoint key.
 */
export function operationUnsupported(op: DbLessOperation, entity: string, byField?: string | null): AdminError {
  const by = byField ? ` by '${byField}'` : '';
  return new AdminError(405, {
    code: KONG_CODES.OPERATION_UNSUPPORTED,
    name: 'operation unsupported',
    message: `cannot ${op} '${entity}' entities${by} when not using a database`,
  });
}
