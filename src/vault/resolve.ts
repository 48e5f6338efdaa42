/**
 * Resolving vault references when a configuration is built (Kong resolves
 * `referenceable` fields when it loads an entity, kong/db/schema/init.lua
 * process_auto_fields → kong.vault.update). The snapshot the store serves
 * keeps the reference: GET answers, exports, the cluster snapshot sent to
 * workers and logs only ever see `{vault://…}`; the secret exists only in
 * the compiled runtime (plugin configs, TLS contexts).
 *
 * A reference that cannot be resolved fails the build with Kong's message
 * (`could not retrieve value for reference … (…)`), so the previous
 * configuration keeps serving and the error is reported where config errors
 * are (log, GET /status `configuration_error`, POST /config answer).
 */
import process from 'node:process';
import { envVaultGet, type EnvVaultConfig } from './env.ts';
import { isVaultReference, parseReference } from './reference.ts';

export interface VaultRow {
  prefix: string;
  name: string;
  config?: Record<string, unknown> | null;
}

export class VaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultError';
  }
}

export type Resolver = (reference: string) => string;

/** A resolver over the configured vault entities (by prefix) and the bundled vaults (by name). */
export function createResolver(vaults: readonly VaultRow[], env: NodeJS.ProcessEnv = process.env): Resolver {
  const byPrefix = new Map(vaults.map((v) => [v.prefix, v]));
  const cache = new Map<string, string>();
  return (reference) => {
    const cached = cache.get(reference);
    if (cached !== undefined) return cached;
    const parsed = parseReference(reference);
    if (!parsed.ok) throw new VaultError(`could not parse reference ${reference} (${parsed.error})`);
    const { ref } = parsed;
    const entity = byPrefix.get(ref.name);
    const vaultName = entity?.name ?? ref.name;
    if (vaultName !== 'env') throw new VaultError(`could not retrieve value for reference ${reference} (could not find vault (${ref.name}))`);
    const conf: EnvVaultConfig = { ...((entity?.config ?? {}) as EnvVaultConfig), ...ref.config };
    const got = envVaultGet(ref.resource, conf, ref.version, env);
    if ('error' in got) throw new VaultError(`could not retrieve value for reference ${reference} (could not get value from external vault (${got.error}))`);
    let value = got.value;
    if (ref.key !== null) {
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        // Kong: "unable to json decode value (…)"; the value itself is not repeated here
        throw new VaultError(`could not retrieve value for reference ${reference} (could not get subfield value: unable to json decode value)`);
      }
      const sub = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[ref.key] : undefined;
      if (sub === undefined || sub === null) throw new VaultError(`could not retrieve value for reference ${reference} (could not get subfield value: subfield ${ref.key} not found in JSON secret)`);
      if (typeof sub !== 'string') throw new VaultError(`could not retrieve value for reference ${reference} (could not get subfield value: unexpected ${typeof sub} value in JSON secret for subfield ${ref.key})`);
      value = sub;
    }
    cache.set(reference, value);
    return value;
  };
}

type Node = Record<string, unknown>;

function nonNullBranch(schema: Node): Node {
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list)) {
      const nonNull = (list as Node[]).filter((b) => b.type !== 'null');
      if (nonNull.length === 1) return nonNull[0]!;
    }
  }
  return schema;
}

function referenceable(schema: Node): boolean {
  return (schema.kong as { referenceable?: boolean } | undefined)?.referenceable === true;
}

/**
 * A copy of `value` with every reference in a field the JSON schema marks
 * `kong.referenceable` (a string, or strings of an array) replaced by its
 * secret; `value` itself is never modified. Unchanged sub-trees are shared.
 */
export function resolveBySchema(schemaIn: Node, value: unknown, resolve: Resolver): unknown {
  const schema = nonNullBranch(schemaIn);
  if (typeof value === 'string') return referenceable(schema) && isVaultReference(value) ? resolve(value) : value;
  if (Array.isArray(value)) {
    const items = schema.items as Node | undefined;
    if (items === undefined) return value;
    const itemSchema = nonNullBranch(items);
    const listReferenceable = referenceable(schema) || referenceable(itemSchema);
    let out: unknown[] | null = null;
    value.forEach((v, i) => {
      const r = typeof v === 'string' ? (listReferenceable && isVaultReference(v) ? resolve(v) : v) : resolveBySchema(itemSchema, v, resolve);
      if (r !== v) (out ??= [...value])[i] = r;
    });
    return out ?? value;
  }
  if (typeof value === 'object' && value !== null) {
    const props = schema.properties as Record<string, Node> | undefined;
    if (props === undefined) return value;
    let out: Node | null = null;
    for (const [k, v] of Object.entries(value as Node)) {
      const p = props[k];
      if (p === undefined || v === null || v === undefined) continue;
      const r = resolveBySchema(p, v, resolve);
      if (r !== v) (out ??= { ...(value as Node) })[k] = r;
    }
    return out ?? value;
  }
  return value;
}
