/**
 * The declarative configuration loader: `kong.yml` (YAML or JSON,
 * `_format_version: "3.0"`, also "2.1" and "1.1") → a complete, validated
 * ConfigSnapshot, or Kong's `invalid declarative configuration` error.
 *
 * Follows kong/db/schema/others/declarative_config.lua:
 *   1. parse the text (JSON first when it looks like JSON, else YAML);
 *   2. validate the document: top-level keys, every entity (with
 *      `prepareEntity`, which applies Kong's defaults), children written
 *      nested under their parent (`services[].routes[].plugins[]`), whose own
 *      foreign keys must be absent (`value must be null`) because the parent
 *      provides them;
 *   3. give every entity without an id Kong's deterministic id (UUID v5 of
 *      its endpoint key, or of the plugin cache key), so reloading a file
 *      keeps ids stable;
 *   4. only when everything is valid, resolve top-level references
 *      (`routes[].service: my-service`, by endpoint key or id) and check
 *      uniqueness — Kong reports these after schema errors are fixed.
 * Nothing is written anywhere: the caller replaces the store's content in
 * one transaction with the returned config, or keeps the old one.
 */
import { createHash } from 'node:crypto';
import { loadYaml } from './yaml-load.ts';
import { isUuid } from '../../schema/checks.ts';
import { emptyConfig, type ConfigSnapshot, type EntityMap, type EntityName } from '../../schema/entities/types.ts';
import { prepareEntity } from '../../schema/validate.ts';
import { hashBasicAuthPassword } from '../../schema/entities/basicauth-credentials.ts';
import {
  declarativeErrorBody,
  flattenedErrorBody,
  normalizeTree,
  type ErrTree,
  type FlattenedEntityError,
} from './errors.ts';
import { ENDPOINT_KEYS, ENTITY_ORDER, relationsOfChild, relationsOfParent, type Relation } from './relations.ts';
import { entityUuid } from './uuid.ts';

export type DeclarativeConfig = Omit<ConfigSnapshot, 'version'>;

export interface DeclarativeOk {
  ok: true;
  config: DeclarativeConfig;
  /** Kong's configuration hash (md5 of the text as received), for `check_hash` and `GET /status`. */
  hash: string;
  formatVersion: string;
}

export interface DeclarativeError {
  ok: false;
  /** `declarative config is invalid: {...}` (Kong's message). */
  message: string;
  /** The error tree as Kong's `fields` (cjson encoding). */
  fields: Record<string, unknown>;
  /** Kong's `flattened_errors` (one entry per invalid entity). */
  flattenedErrors: FlattenedEntityError[];
  /** The full 400 body Kong sends (code 14). */
  body: { code: number; name: string; message: string; fields: unknown };
  /** The full 400 body Kong sends with `?flatten_errors=1`. */
  flattenedBody: { code: number; name: string; message: string; fields: unknown; flattened_errors: FlattenedEntityError[] };
  hash: string;
}

export type DeclarativeResult = DeclarativeOk | DeclarativeError;

export const FORMAT_VERSIONS = ['1.1', '2.1', '3.0'] as const;

/** md5 hex, Kong's (non-security) configuration fingerprint. */
export function configHash(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** Kong's hash of an empty DB-less configuration (`DECLARATIVE_EMPTY_CONFIG_HASH`). */
export const EMPTY_CONFIG_HASH = '00000000000000000000000000000000';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(tree: ErrTree, doc: Record<string, unknown>, hash: string): DeclarativeError {
  const body = declarativeErrorBody(tree);
  const flattenedBody = flattenedErrorBody(doc, tree);
  return {
    ok: false,
    message: body.message,
    fields: body.fields as Record<string, unknown>,
    flattenedErrors: flattenedBody.flattened_errors,
    body,
    flattenedBody,
    hash,
  };
}

/**
 * Parse and validate a declarative configuration text. `format` forces the
 * syntax; without it JSON is tried when the text starts with `{`, then YAML
 * (YAML 1.2 is a superset of JSON, so JSON files load either way).
 */
export function parseDeclarative(text: string, opts: { format?: 'yaml' | 'json' } = {}): DeclarativeResult {
  const hash = configHash(text);
  let doc: unknown;
  try {
    if (opts.format === 'json') doc = JSON.parse(text);
    else if (opts.format !== 'yaml' && text.trimStart().startsWith('{')) {
      try {
        doc = JSON.parse(text);
      } catch {
        doc = loadYaml(text);
      }
    } else doc = loadYaml(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return fail({ error: `failed parsing declarative configuration: ${detail}` }, {}, hash);
  }
  if (!isPlainObject(doc)) {
    return fail({ error: 'failed parsing declarative configuration: expected an object' }, {}, hash);
  }
  return loadDeclarative(doc, hash);
}

// ---------------------------------------------------------------------------

interface Collected {
  type: EntityName;
  row: Record<string, unknown>;
  /**
   * Where reference and unique-field errors are reported: the endpoint key
   * when the entity has one, else its 1-based position (top level), else its id.
   */
  at: string;
  /** 1-based position in its top-level section; null when nested. Duplicate ids and keys are reported there. */
  index: number | null;
  /** Top-level string references to resolve: field → value as written. */
  refs: Array<{ relation: Relation; value: string }>;
}

interface WalkState {
  rows: Collected[];
  tree: ErrTree;
  formatVersion: string;
}

const TOP_LEVEL_META: Record<string, 'string' | 'boolean' | 'array'> = {
  _format_version: 'string',
  _transform: 'boolean',
  _comment: 'string',
  _ignore: 'array',
};

function typeError(kind: 'string' | 'boolean' | 'array'): string {
  return kind === 'array' ? 'expected an array' : kind === 'boolean' ? 'expected a boolean' : 'expected a string';
}

function checkMeta(value: unknown, kind: 'string' | 'boolean' | 'array'): string | null {
  if (kind === 'array') return Array.isArray(value) ? null : typeError(kind);
  return typeof value === kind ? null : typeError(kind);
}

/**
 * Kong 3.0 marks regex route paths with a leading `~`; files written for
 * older formats are migrated on load (kong/db/declarative/migrations/route_path.lua):
 * a path made only of unreserved characters stays a prefix, anything else
 * becomes a regex.
 */
function migrateRoutePaths(input: Record<string, unknown>): void {
  const paths = input.paths;
  if (!Array.isArray(paths)) return;
  input.paths = paths.map((p) => (typeof p === 'string' && !/^[a-zA-Z0-9.\-_~/%]*$/.test(p) && !p.startsWith('~') ? `~${p}` : p));
}

/** Kong's `get_key_for_uuid_gen` + `generate_uuid`, with a positional fallback. */
function deterministicId(
  type: EntityName,
  item: Record<string, unknown>,
  parent: { relation: Relation; id: string } | null,
  position: string,
): string {
  const endpointKey = ENDPOINT_KEYS[type];
  if (endpointKey !== undefined && typeof item[endpointKey] === 'string') {
    let key = item[endpointKey] as string;
    if (type === 'targets') {
      // a target is unique only within its upstream: compose with the parent's key
      if (parent !== null) key = `${key}:${parent.id}`;
      else if (typeof item.upstream === 'string') key = `${key}:${item.upstream}`;
    }
    return entityUuid(type, key);
  }
  if (type === 'plugins' && typeof item.name === 'string') {
    // cache_key = { "name", "route", "service", "consumer" } (+ Enterprise's "consumer_group" when set,
    // so the ids of plugins without it stay Kong OSS's)
    const ck: string[] = ['plugins', item.name];
    const group = item.consumer_group !== undefined || parent?.relation.field === 'consumer_group';
    for (const field of group ? ['route', 'service', 'consumer', 'consumer_group'] : ['route', 'service', 'consumer']) {
      const v = item[field];
      if (typeof v === 'string') ck.push(v);
      else if (v === undefined) ck.push(parent !== null && parent.relation.field === field ? parent.id : '');
      // Kong skips non-string, non-nil values (null, tables)
    }
    return entityUuid(type, ck.join(':'));
  }
  // Kong draws a random id here; a position-derived one keeps reloads stable.
  return entityUuid(type, `@${position}`);
}

function walkEntity(
  state: WalkState,
  type: EntityName,
  item: unknown,
  parent: { relation: Relation; id: string } | null,
  position: string,
): ErrTree | string | null {
  if (!isPlainObject(item)) return 'expected a record';
  const errors: ErrTree = {};
  const input: Record<string, unknown> = {};
  const childLists: Array<{ relation: Relation; items: unknown[] }> = [];
  const children = relationsOfParent(type);

  for (const [key, value] of Object.entries(item)) {
    if (key === '_comment' || key === '_ignore') {
      const err = checkMeta(value, key === '_comment' ? 'string' : 'array');
      if (err !== null) errors[key] = err;
      continue;
    }
    const childRel = children.find((r) => r.child === key);
    if (childRel !== undefined) {
      if (Array.isArray(value)) childLists.push({ relation: childRel, items: value });
      else if (value !== null) errors[key] = 'expected an array';
      continue;
    }
    input[key] = value;
  }

  const refs: Collected['refs'] = [];
  for (const rel of relationsOfChild(type)) {
    const value = input[rel.field];
    if (parent !== null) {
      // nested: the parent is the only reference this entity may carry
      if (value !== undefined && value !== null) errors[rel.field] = 'value must be null';
      input[rel.field] = rel.field === parent.relation.field ? { id: parent.id } : null;
    } else if (value !== undefined && value !== null) {
      if (typeof value !== 'string') {
        errors[rel.field] = 'expected a string';
        delete input[rel.field];
      } else {
        refs.push({ relation: rel, value });
        // resolved after validation; a syntactically valid stand-in lets the rest of the entity be checked
        input[rel.field] = { id: isUuid(value) ? value : '00000000-0000-4000-8000-000000000000' };
      }
    }
  }

  if (type === 'routes' && state.formatVersion !== '3.0') migrateRoutePaths(input);

  const id = typeof input.id === 'string' ? input.id : deterministicId(type, item, parent, position);
  if (input.id === undefined || input.id === null) input.id = id;
  // timestamps written in the file (an export) are kept, so a round trip changes nothing
  const prepared = prepareEntity(type, input, { mode: 'insert', keepTimestamps: true });
  if (!prepared.ok) {
    const fieldErrs = normalizeTree(prepared.fields) as ErrTree;
    for (const [k, v] of Object.entries(fieldErrs)) if (!(k in errors)) errors[k] = v;
    if (Object.keys(fieldErrs).length === 0) errors['@entity'] = { 1: prepared.message };
  }

  // children: validated even when the parent is invalid, as Kong reports every error at once
  for (const { relation, items } of childLists) {
    const childErrs: ErrTree = {};
    items.forEach((child, i) => {
      const err = walkEntity(state, relation.child, child, { relation, id }, `${position}.${relation.child}[${i}]`);
      if (err !== null) childErrs[String(i + 1)] = err;
    });
    if (Object.keys(childErrs).length > 0) errors[relation.child] = childErrs;
  }

  if (Object.keys(errors).length > 0) return errors;
  if (prepared.ok) {
    const row = prepared.row as unknown as Record<string, unknown>;
    const endpointKey = ENDPOINT_KEYS[type];
    const keyValue = endpointKey !== undefined ? row[endpointKey] : undefined;
    const index = parent === null ? Number(/\[(\d+)\]$/.exec(position)?.[1] ?? 0) + 1 : null;
    state.rows.push({ type, row, at: typeof keyValue === 'string' ? keyValue : index !== null ? String(index) : String(row.id), index, refs });
  }
  return null;
}

/**
 * Validate an already-parsed declarative document (`POST /config` with a JSON
 * body). `hash` defaults to the md5 of its JSON encoding.
 */
export function loadDeclarative(doc: Record<string, unknown>, hash: string = configHash(JSON.stringify(doc))): DeclarativeResult {
  const tree: ErrTree = {};
  const rawVersion = doc._format_version;
  for (const [key, value] of Object.entries(doc)) {
    const meta = TOP_LEVEL_META[key];
    if (meta !== undefined) {
      const err = checkMeta(value, meta);
      if (err !== null) tree[key] = err;
      else if (key === '_format_version' && !(FORMAT_VERSIONS as readonly string[]).includes(value as string)) {
        tree[key] = `expected one of: ${FORMAT_VERSIONS.join(', ')}`;
      }
    } else if (!(ENTITY_ORDER as readonly string[]).includes(key)) {
      tree[key] = 'unknown field';
    } else if (!Array.isArray(value) && value !== null) {
      // `plugins:` with nothing under it is an empty list (YAML null)
      tree[key] = 'expected an array';
    }
  }
  if (rawVersion === undefined || rawVersion === null) tree._format_version = 'required field missing';

  const state: WalkState = { rows: [], tree, formatVersion: typeof rawVersion === 'string' ? rawVersion : '3.0' };
  for (const type of ENTITY_ORDER) {
    const list = doc[type];
    if (!Array.isArray(list)) continue;
    const sectionErrs: ErrTree = {};
    list.forEach((item, i) => {
      const err = walkEntity(state, type, item, null, `${type}[${i}]`);
      if (err !== null) sectionErrs[String(i + 1)] = err;
    });
    if (Object.keys(sectionErrs).length > 0) tree[type] = sectionErrs;
  }
  if (Object.keys(tree).length > 0) return fail(tree, doc, hash);

  // -- references and uniqueness (only reached when every entity is valid)
  const byKey = new Map<string, Map<string, Record<string, unknown>>>();
  const byId = new Map<string, Map<string, Record<string, unknown>>>();
  const refErrors: ErrTree = {};
  const conflicted = new Set<Record<string, unknown>>();
  /** Kong reports one message per place for uniqueness problems… */
  const report = (type: string, at: string, message: string): void => {
    const section = (refErrors[type] ??= {}) as ErrTree;
    if (section[at] === undefined) section[at] = message;
  };
  /** …and a list of messages per entity for unresolved references. */
  const reportRef = (type: string, at: string, message: string): void => {
    const section = (refErrors[type] ??= {}) as ErrTree;
    const list = (typeof section[at] === 'object' && section[at] !== null ? section[at] : (section[at] = {})) as ErrTree;
    const messages = [...Object.values(list), message].map(String).sort();
    for (const k of Object.keys(list)) delete list[k];
    messages.forEach((m, i) => (list[String(i + 1)] = m));
  };
  const place = (c: Collected): string => (c.index !== null ? String(c.index) : c.at);

  for (const c of state.rows) {
    const ids = byId.get(c.type) ?? new Map<string, Record<string, unknown>>();
    byId.set(c.type, ids);
    const id = String(c.row.id);
    const endpointKey = ENDPOINT_KEYS[c.type];
    const key = endpointKey !== undefined && c.type !== 'targets' ? c.row[endpointKey] : undefined;
    if (typeof key === 'string') {
      const keys = byKey.get(c.type) ?? new Map<string, Record<string, unknown>>();
      byKey.set(c.type, keys);
      if (keys.has(key)) {
        report(c.type, place(c), `uniqueness violation: '${c.type}' entity with ${endpointKey} set to '${key}' already declared`);
        conflicted.add(c.row);
        continue;
      }
      keys.set(key, c.row);
    }
    if (ids.has(id)) {
      report(c.type, place(c), `uniqueness violation: '${c.type}' entity with primary key set to '${id}' already declared`);
      conflicted.add(c.row);
      continue;
    }
    ids.set(id, c.row);
  }

  for (const c of state.rows) {
    for (const { relation, value } of c.refs) {
      const found = byKey.get(relation.parent)?.get(value) ?? byId.get(relation.parent)?.get(value);
      if (found === undefined) {
        reportRef(c.type, c.at, `invalid reference '${relation.field}: ${value}' (no such entry in '${relation.parent}')`);
      } else {
        c.row[relation.field] = { id: found.id };
      }
    }
  }

  // other unique constraints of Kong's schemas (checked here so the store never sees a conflict)
  const seen = new Set<string>();
  const unique = (c: Collected, label: string, shown: string, scope: string): void => {
    const k = `${c.type}\u0000${label}\u0000${scope}`;
    if (seen.has(k)) report(c.type, c.at, `uniqueness violation: '${c.type}' entity with ${label} set to '${shown}' already declared`);
    seen.add(k);
  };
  const fkId = (row: Record<string, unknown>, f: string): string => (row[f] as { id?: string } | null)?.id ?? '';
  for (const c of state.rows) {
    if (conflicted.has(c.row)) continue;
    if (c.type === 'consumers' && typeof c.row.custom_id === 'string') unique(c, 'custom_id', c.row.custom_id, c.row.custom_id);
    if (c.type === 'targets') unique(c, 'target', String(c.row.target), `${String(c.row.target)}@${fkId(c.row, 'upstream')}`);
    if (c.type === 'plugins') {
      let ck = `plugins:${String(c.row.name)}:${fkId(c.row, 'route')}:${fkId(c.row, 'service')}:${fkId(c.row, 'consumer')}`;
      if (fkId(c.row, 'consumer_group') !== '') ck += `:${fkId(c.row, 'consumer_group')}`;
      unique(c, 'cache key', ck, ck);
    }
  }

  if (Object.keys(refErrors).length > 0) return fail(refErrors, doc, hash);

  const config: DeclarativeConfig = emptyConfig();
  for (const type of ENTITY_ORDER) {
    const list = config[type] as Array<EntityMap[typeof type]>;
    for (const c of state.rows) if (c.type === type) list.push(c.row as unknown as EntityMap[typeof type]);
  }
  // Kong's schema transformations run unless the file says `_transform: false` (what an export
  // writes, its passwords being hashed already): basic-auth passwords are stored hashed
  // (kong/db/schema/others/declarative_config.lua, src/schema/entities/basicauth-credentials.ts).
  if (doc._transform !== false) {
    for (const row of config.basicauth_credentials) row.password = hashBasicAuthPassword(row.consumer.id, row.password);
  }
  return { ok: true, config, hash, formatVersion: rawVersion as string };
}
