/**
 * Schema endpoints (kong/api/routes/kong.lua, plugins.lua):
 *   GET  /schemas/{entity}            the entity's schema in Kong's format
 *   POST /schemas/{entity}/validate   validate without storing
 *   GET  /schemas/plugins/{name}      a plugin's schema
 *   POST /schemas/plugins/validate    validate a plugin entity (config included)
 *   GET  /plugins/schema/{name}       legacy: the plugin's config record only
 * Validation answers 200 `schema validation successful` or Kong's 400 schema violation.
 */
import { coerceFormInput, pluginSchemaForAdmin, schemaForAdmin, validateEntitySchema, validatePluginSchema } from '../schema/validate.ts';
import { ENTITY_NAMES, type EntityName } from '../schema/entities/types.ts';
import { bodyObject } from './body.ts';
import { message, schemaViolation } from './errors.ts';
import type { AdminRouter } from './router.ts';
import type { AdminRequest } from './types.ts';

function isEntity(name: string): name is EntityName {
  return (ENTITY_NAMES as readonly string[]).includes(name);
}

function input(req: AdminRequest, entity: EntityName): Record<string, unknown> {
  const obj = bodyObject(req.body);
  return (req.body.kind === 'form' || req.body.kind === 'multipart' ? coerceFormInput(entity, obj) : obj) as Record<string, unknown>;
}

const OK = { status: 200, body: { message: 'schema validation successful' } };

export function registerSchemas(router: AdminRouter): void {
  router.add('GET', '/schemas/:name', (req) => {
    const name = req.params.name!;
    if (!isEntity(name)) throw message(404, `No entity named '${name}'`);
    return { status: 200, body: schemaForAdmin(name) };
  });

  router.add('POST', '/schemas/:name/validate', (req) => {
    const name = req.params.name!;
    if (!isEntity(name)) throw message(404, `No entity named '${name}'`);
    const result = validateEntitySchema(name, input(req, name));
    if (!result.ok) throw schemaViolation(result.fields, result.message);
    return OK;
  });

  router.add('GET', '/schemas/plugins/:name', (req) => {
    const schema = pluginSchemaForAdmin(req.params.name!);
    if (schema === null) throw message(404, `No plugin named '${req.params.name!}'`);
    return { status: 200, body: schema };
  });

  router.add('POST', '/schemas/plugins/validate', (req) => {
    const result = validatePluginSchema(input(req, 'plugins'));
    if (!result.ok) throw schemaViolation(result.fields, result.message);
    return OK;
  });

  router.add('GET', '/plugins/schema/:name', (req) => {
    const schema = pluginSchemaForAdmin(req.params.name!);
    if (schema === null) throw message(404, `No plugin named '${req.params.name!}'`);
    const config = schema.fields.find((f) => 'config' in f)?.config as { fields?: unknown } | undefined;
    return { status: 200, body: { fields: config?.fields ?? [] } };
  });
}
