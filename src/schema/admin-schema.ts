/**
 * TypeBox → Kong's schema format, as served by GET /schemas/{entity} and
 * GET /schemas/plugins/{name}:
 *   { "fields": [ { "id": { "type": "string", "uuid": true, "auto": true } }, … ] }
 * so that the TypeBox schemas stay the single source of truth.
 */
import { pluginSchemaInfo } from './plugin-schemas.ts';
import { ENTITIES } from './entities/index.ts';
import type { EntityName } from './entities/types.ts';
import { HTTP_PROTOCOLS, effectiveSchema, kongOf } from './typedefs.ts';

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function literalValues(schema: Obj): unknown[] | null {
  if (Array.isArray(schema.enum)) return schema.enum as unknown[];
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list) && list.length > 0 && list.every((b) => isObject(b) && 'const' in b)) return list.map((b) => (b as Obj).const);
  }
  return null;
}

function kongType(schema: Obj): string {
  const k = kongOf(schema);
  if (k.type) return k.type;
  const literals = literalValues(schema);
  if (literals && schema.type === undefined) return typeof literals[0] === 'number' ? (literals.every(Number.isInteger) ? 'integer' : 'number') : 'string';
  const t = Array.isArray(schema.type) ? (schema.type as string[]).find((x) => x !== 'null') : (schema.type as string | undefined);
  switch (t) {
    case 'object':
      return isObject(schema.properties) && Object.keys(schema.properties).length > 0 ? 'record' : isObject(schema.properties) && schema.additionalProperties !== true ? 'record' : 'map';
    case undefined:
      for (const k2 of ['anyOf', 'oneOf'] as const) {
        const list = schema[k2];
        if (Array.isArray(list)) {
          const first = list.map((b) => b as Obj).find((b) => b.type !== 'null');
          if (first) return kongType(first);
        }
      }
      return 'string';
    default:
      return t;
  }
}

/** One field definition in Kong's format. */
export function toKongField(raw: Obj, required: boolean): Obj {
  const schema = effectiveSchema(raw);
  const k = kongOf(schema);
  const type = kongType(schema);
  const out: Obj = { type };
  // A field defaulting to null is optional in Kong's terms, whatever its TypeBox modifier.
  if (required && schema.default !== null) out.required = true;
  if (schema.default !== undefined) out.default = structuredClone(schema.default);
  const literals = literalValues(schema);
  if (literals) out.one_of = literals;
  const min = schema.minimum as number | undefined;
  const max = schema.maximum as number | undefined;
  if (min !== undefined && max !== undefined) out.between = [min, max];
  else if (schema.exclusiveMinimum !== undefined) out.gt = schema.exclusiveMinimum;
  else if (min !== undefined) out.gt = type === 'integer' ? min - 1 : min;
  const lenMin = (schema.minLength ?? schema.minItems) as number | undefined;
  const lenMax = (schema.maxLength ?? schema.maxItems) as number | undefined;
  if (lenMin !== undefined) out.len_min = lenMin;
  if (lenMax !== undefined) out.len_max = lenMax;
  if (typeof schema.pattern === 'string') out.match = schema.pattern;
  if (k.uuid) out.uuid = true;
  if (k.auto) out.auto = true;
  if (k.unique) out.unique = true;
  if (k.timestamp) out.timestamp = true;
  if (k.startsWith) out.starts_with = k.startsWith;
  if (k.referenceable) out.referenceable = true;
  if (k.encrypted) out.encrypted = true;
  if (type === 'foreign') {
    out.reference = k.reference;
    if (k.onDelete === 'cascade') out.on_delete = 'cascade';
  } else if (type === 'array' || type === 'set') {
    out.elements = isObject(schema.items) ? toKongField(schema.items, false) : { type: 'string' };
  } else if (type === 'map') {
    const values = isObject(schema.additionalProperties)
      ? schema.additionalProperties
      : isObject(schema.patternProperties)
        ? (Object.values(schema.patternProperties)[0] as Obj)
        : { type: 'string' };
    out.keys = { type: 'string' };
    out.values = toKongField(values, false);
  } else if (type === 'record') {
    out.fields = toKongFields(schema);
  }
  if (typeof schema.description === 'string') out.description = schema.description;
  return out;
}

/** The `fields` array of a record schema. */
export function toKongFields(schema: Obj): Obj[] {
  const props = isObject(schema.properties) ? schema.properties : {};
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(props)
    .filter(([, prop]) => kongOf(prop as Obj).internal !== true)
    .map(([name, prop]) => ({ [name]: toKongField(prop as Obj, required.has(name)) }));
}

/** GET /schemas/{entity}. */
export function schemaForAdmin(entity: EntityName): { fields: Obj[] } {
  const fields = toKongFields(ENTITIES[entity].schema as unknown as Obj);
  if (entity === 'plugins') {
    for (const f of fields) if ('config' in f) f.config = { type: 'record', abstract: true, description: (f.config as Obj).description };
  }
  return { fields };
}

/** GET /schemas/plugins/{name}, or null when no such plugin is enabled. */
export function pluginSchemaForAdmin(name: string): { fields: Obj[] } | null {
  const module = pluginSchemaInfo(name);
  if (!module) return null;
  const fields: Obj[] = [];
  for (const scope of ['consumer', 'route', 'service'] as const) {
    if (module.scopes && module.scopes[scope] === false) {
      fields.push({ [scope]: { type: 'foreign', reference: `${scope}s`, eq: null } });
    }
  }
  if (module.scopes?.consumer_group !== true) fields.push({ consumer_group: { type: 'foreign', reference: 'consumer_groups', eq: null } });
  const protocols = module.protocols ?? [...HTTP_PROTOCOLS];
  fields.push({
    protocols: {
      type: 'set',
      required: true,
      default: [...protocols],
      elements: { type: 'string', one_of: [...protocols].sort() },
      description: 'A list of the request protocols that will trigger this plugin.',
    },
  });
  const config = toKongField(module.schema as unknown as Obj, true);
  config.type = 'record';
  if (!Array.isArray(config.fields)) config.fields = [];
  fields.push({ config });
  return { fields };
}
