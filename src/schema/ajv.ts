/**
 * The one Ajv instance: compiles entity and plugin TypeBox schemas once
 * (cached per schema object) with Kong's conventions applied:
 *  - defaults filled in (useDefaults), nothing coerced, every error collected;
 *  - unknown fields rejected: objects with `properties` and no explicit
 *    additionalProperties get `additionalProperties: false`;
 *  - Kong rejects empty strings unless a field says otherwise (init.lua:
 *    "empty strings are not accepted by default"), so strings without
 *    minLength get minLength 1;
 *  - the `kong` annotation runs the named checks of checks.ts.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { runCheck } from './checks.ts';
import { isVaultReference } from '../vault/reference.ts';
import type { KongAnnotation } from './typedefs.ts';

type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as unknown as FormatsPlugin;

function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    coerceTypes: false,
    removeAdditional: false,
    strict: false,
    verbose: true,
    // TypeBox adds $id-less schemas with symbol keys; nothing to resolve remotely.
    validateSchema: false,
  });
  addFormats(ajv);
  ajv.addKeyword({
    keyword: 'kong',
    schemaType: 'object',
    errors: true,
    validate: function kongKeyword(schema: KongAnnotation, data: unknown): boolean {
      const self = kongKeyword as unknown as { errors: Partial<ErrorObject>[] | null };
      self.errors = null;
      // A vault reference in a referenceable field is resolved when a configuration is built
      // (src/vault/resolve.ts), not checked as the value it stands for (Kong: "can't validate a reference").
      if (schema.referenceable === true && isVaultReference(data)) return true;
      if (schema.check) {
        const err = runCheck(schema.check, data);
        if (err !== null) {
          self.errors = [{ keyword: 'kong', message: err, params: {} }];
          return false;
        }
      }
      if (schema.keysCheck && data !== null && typeof data === 'object' && !Array.isArray(data)) {
        for (const key of Object.keys(data)) {
          const err = runCheck(schema.keysCheck, key);
          if (err !== null) {
            self.errors = [{ keyword: 'kong', message: err, params: {} }];
            return false;
          }
        }
      }
      return true;
    },
  });
  return ajv;
}

let instance: Ajv | null = null;
const cache = new WeakMap<object, ValidateFunction>();

/** Deep copy of a schema with Kong's conventions made explicit (see file comment). */
export function kongify(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(kongify);
  if (schema === null || typeof schema !== 'object') return schema;
  const src = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === 'default' || k === 'const' || k === 'enum' || k === 'examples' || k === 'kong') out[k] = structuredClone(v);
    else if (k === 'properties' || k === 'patternProperties' || k === '$defs' || k === 'definitions') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, kongify(pv)]));
    } else out[k] = kongify(v);
  }
  if (out.type === 'string' && out.minLength === undefined && out.enum === undefined && out.const === undefined && out.format === undefined) {
    out.minLength = 1;
  }
  if (out.type === 'object' && out.properties !== undefined && out.additionalProperties === undefined && out.patternProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

export function compile(schema: TSchema): ValidateFunction {
  let fn = cache.get(schema);
  if (fn === undefined) {
    instance ??= createAjv();
    fn = instance.compile(kongify(schema) as object);
    cache.set(schema, fn);
  }
  return fn;
}
