/**
 * Ajv errors → Kong's field errors, and Kong's schema-violation summary.
 *
 * Kong reports at most one message per field, in the order of its validators
 * (kong/db/schema/init.lua validators_order): presence, type, one_of,
 * between, length, starts_with/match, custom. An error inside an array
 * element is reported as Kong's validate_elements does: an array holding the
 * element's error at the element's position (null elsewhere), e.g.
 * `"paths": [null, "must not have empty segments"]`. The summary message is
 * kong/db/errors.lua schema_violation: entity errors first, then fields in
 * sorted order, "schema violation (x)" for one, "N schema violations (x; y)"
 * for several.
 */
import type { ErrorObject } from 'ajv';
import { kongOf } from './typedefs.ts';
import type { FieldErrors } from './entities/definition.ts';

const PRIORITY: Record<string, number> = {
  required: 0,
  additionalProperties: 0,
  type: 1,
  const: 2,
  enum: 2,
  anyOf: 2,
  oneOf: 2,
  exclusiveMinimum: 3,
  exclusiveMaximum: 3,
  minimum: 3,
  maximum: 3,
  minLength: 4,
  maxLength: 4,
  minItems: 4,
  maxItems: 4,
  minProperties: 4,
  maxProperties: 4,
  pattern: 5,
  format: 5,
  kong: 6,
};

interface Mapped {
  path: Segment[];
  message: string;
  priority: number;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function typeName(schema: Record<string, unknown> | undefined, jsonType: string): string {
  const kong = schema ? kongOf(schema) : {};
  if (kong.type === 'set') return 'expected a set';
  if (kong.type === 'map') return 'expected a map';
  if (kong.type === 'foreign') return 'expected a record';
  switch (jsonType) {
    case 'string':
      return 'expected a string';
    case 'integer':
      return 'expected an integer';
    case 'number':
      return 'expected a number';
    case 'boolean':
      return 'expected a boolean';
    case 'array':
      return 'expected an array';
    case 'object':
      return schema && (schema.properties === undefined || schema.patternProperties !== undefined) && schema.additionalProperties !== false
        ? 'expected a map'
        : 'expected a record';
    case 'null':
      return 'value must be null';
    default:
      return `expected a ${jsonType}`;
  }
}

function jsonTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function branchAccepts(branch: Record<string, unknown>, value: unknown): boolean {
  if ('const' in branch) return branch.const === value;
  const t = branch.type;
  if (t === undefined) return true;
  const actual = jsonTypeOf(value);
  const types = Array.isArray(t) ? (t as string[]) : [t as string];
  return types.some((x) => x === actual || (x === 'number' && actual === 'integer'));
}

function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function messageFor(e: ErrorObject): string {
  const parent = e.parentSchema as Record<string, unknown> | undefined;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'required field missing';
    case 'additionalProperties':
      return 'unknown field';
    case 'type':
      return typeName(parent, String(p.type).split(',')[0]!);
    case 'enum':
      return `expected one of: ${(p.allowedValues as unknown[]).map(formatValue).join(', ')}`;
    case 'const':
      return `value must be ${formatValue(p.allowedValue)}`;
    case 'minimum':
    case 'maximum': {
      const min = parent?.minimum as number | undefined;
      const max = parent?.maximum as number | undefined;
      if (min !== undefined && max !== undefined) return `value should be between ${min} and ${max}`;
      // Kong's `gt = n` on an integer field reads as minimum n + 1 here.
      if (min !== undefined) return parent?.type === 'integer' && min >= 1 ? `value must be greater than ${min - 1}` : `value must be greater than or equal to ${min}`;
      return `value must be less than or equal to ${max}`;
    }
    case 'exclusiveMinimum':
      return `value must be greater than ${p.limit as number}`;
    case 'exclusiveMaximum':
      return `value must be less than ${p.limit as number}`;
    case 'minLength':
    case 'minItems':
    case 'minProperties':
      return `length must be at least ${p.limit as number}`;
    case 'maxLength':
    case 'maxItems':
    case 'maxProperties':
      return `length must be at most ${p.limit as number}`;
    case 'pattern':
    case 'format':
      return `invalid value: ${formatValue(e.data)}`;
    case 'uniqueItems':
      return 'expected a set';
    case 'kong':
      return e.message ?? 'failed validating';
    default:
      return `failed validating: ${e.message ?? e.keyword}`;
  }
}

/** Path segments as Kong nests errors: array positions stay (see setFieldError), as numbers. */
function kongPath(segments: string[]): Segment[] {
  return segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** A field name, or (a number) the position of an element in an array field. */
export type Segment = string | number;

/** Map Ajv errors (validated with allErrors + verbose) to Kong's nested field errors. */
export function mapAjvErrors(errors: readonly ErrorObject[], prefix: string[] = []): FieldErrors {
  // Resolve anyOf (TypeBox unions): keep the errors of the branch matching the value's type,
  // or say "expected one of" for unions of literals.
  const dropPrefixes: string[] = [];
  const replaced = new Map<ErrorObject, Mapped | null>();
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    const branches = (e.schema as Record<string, unknown>[]) ?? [];
    const path = [...prefix, ...kongPath(decodePointer(e.instancePath))];
    if (branches.length > 0 && branches.every((b) => 'const' in b || Array.isArray(b.enum))) {
      const values = branches.flatMap((b) => ('const' in b ? [b.const] : (b.enum as unknown[])));
      replaced.set(e, { path, message: `expected one of: ${values.map(formatValue).join(', ')}`, priority: 2 });
      dropPrefixes.push(`${e.schemaPath}/`);
      continue;
    }
    const match = branches.findIndex((b) => branchAccepts(b, e.data));
    if (match === -1) {
      const first = branches.find((b) => b.type !== 'null') ?? branches[0];
      const t = first ? (Array.isArray(first.type) ? String(first.type[0]) : String(first.type)) : 'value';
      replaced.set(e, { path, message: typeName(first, t), priority: 1 });
      dropPrefixes.push(`${e.schemaPath}/`);
    } else {
      replaced.set(e, null);
      branches.forEach((_b, i) => {
        if (i !== match) dropPrefixes.push(`${e.schemaPath}/${i}/`);
      });
    }
  }

  const mapped: Mapped[] = [];
  for (const e of errors) {
    if (replaced.has(e)) {
      const r = replaced.get(e);
      if (r) mapped.push(r);
      continue;
    }
    if (dropPrefixes.some((p) => e.schemaPath.startsWith(p))) continue;
    const segments = decodePointer(e.instancePath);
    if (e.keyword === 'required') segments.push(String((e.params as { missingProperty: string }).missingProperty));
    if (e.keyword === 'additionalProperties') segments.push(String((e.params as { additionalProperty: string }).additionalProperty));
    mapped.push({ path: [...prefix, ...kongPath(segments)], message: messageFor(e), priority: PRIORITY[e.keyword] ?? 7 });
  }

  const best = new Map<string, Mapped>();
  for (const m of mapped) {
    const key = JSON.stringify(m.path);
    const prev = best.get(key);
    if (prev === undefined || m.priority < prev.priority) best.set(key, m);
  }
  const out: FieldErrors = {};
  // Shallow paths first, so that a field-level error wins over its children's.
  for (const m of [...best.values()].sort((a, b) => a.path.length - b.path.length)) setFieldError(out, m.path, m.message);
  return fillHoles(out) as FieldErrors;
}

/** Positions without an error are null, as cjson encodes Kong's sparse error arrays. */
export function fillHoles(value: unknown): unknown {
  if (Array.isArray(value)) return Array.from(value, (v) => (v === undefined ? null : fillHoles(v)));
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) (value as Record<string, unknown>)[k] = fillHoles(v);
  }
  return value;
}

/**
 * Set a nested field error unless an ancestor already has a message. A number
 * segment is an array position: its parent is an array (Kong's element errors).
 */
export function setFieldError(errors: FieldErrors, path: readonly Segment[], message: unknown): void {
  if (path.length === 0) {
    const list = (errors['@entity'] as unknown[] | undefined) ?? [];
    list.push(message);
    errors['@entity'] = list;
    return;
  }
  let node: Record<string | number, unknown> = errors;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    const next = node[seg];
    if (typeof next === 'string') return;
    if (next === undefined || next === null || typeof next !== 'object') node[seg] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[seg] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  if (node[last] === undefined || node[last] === null) node[last] = message;
}

/** An error for the element at `index` of an array field: `[null, …, message]` (Kong's shape). */
export function elementError(index: number, message: unknown): unknown[] {
  const out: unknown[] = new Array<unknown>(index).fill(null);
  out.push(message);
  return out;
}

/** Merge `extra` into `errors` without overwriting existing messages. */
export function mergeFieldErrors(errors: FieldErrors, extra: FieldErrors, prefix: readonly Segment[] = []): void {
  for (const [k, v] of Object.entries(extra)) {
    if (k === '@entity' && prefix.length === 0) {
      for (const m of v as unknown[]) setFieldError(errors, [], m);
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      mergeFieldErrors(errors, v as FieldErrors, [...prefix, k]);
    } else {
      setFieldError(errors, [...prefix, k], v);
    }
  }
}

function isIdentifier(k: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(k);
}

/** Penlight's pretty.write, as Kong uses it for nested error tables in messages. */
export function prettyWrite(value: unknown, indent = '  ', level = 0): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (typeof value !== 'object') return String(value);
  const pad = indent === '' ? '' : indent.repeat(level + 1);
  const close = indent === '' ? '' : indent.repeat(level);
  const nl = indent === '' ? '' : '\n';
  const entries: string[] = Array.isArray(value)
    ? value.map((v) => `${pad}${prettyWrite(v, indent, level + 1)}`)
    : Object.keys(value)
        .sort()
        .map((k) => `${pad}${isIdentifier(k) ? k : `[${JSON.stringify(k)}]`} = ${prettyWrite((value as Record<string, unknown>)[k], indent, level + 1)}`);
  return `{${nl}${entries.join(`,${nl}`)}${nl}${close}}`;
}

/** kong/db/errors.lua schema_violation's message. */
export function schemaViolationMessage(errors: FieldErrors): string {
  const buf: string[] = [];
  const entity = errors['@entity'];
  if (Array.isArray(entity)) for (const e of entity) buf.push(String(e));
  for (const field of Object.keys(errors).sort()) {
    if (field === '@entity') continue;
    const value = errors[field];
    if (Array.isArray(value)) {
      // Lua arrays are 1-based; positions without an error are absent from Kong's table.
      value.forEach((v, i) => {
        if (v !== null && v !== undefined) buf.push(`${field}.${i + 1}: ${typeof v === 'object' ? prettyWrite(v) : String(v)}`);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const sub of Object.keys(value).sort()) {
        const v = (value as Record<string, unknown>)[sub];
        buf.push(`${field}.${sub}: ${typeof v === 'object' && v !== null ? prettyWrite(v) : String(v)}`);
      }
    } else {
      buf.push(`${field}: ${String(value)}`);
    }
  }
  if (buf.length === 1) return `schema violation (${buf[0]})`;
  return `${buf.length} schema violations (${buf.join('; ')})`;
}
