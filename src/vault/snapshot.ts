/**
 * The configuration a runtime is built from, with vault references resolved
 * (see resolve.ts). Entity fields Kong marks `referenceable` are listed here
 * rather than read from the entity schemas, so a proxy worker need not load
 * them; test/unit/vault/snapshot.test.ts keeps this list equal to the
 * schemas' annotations. Plugin configs are walked with the plugin's own
 * config schema (its fields carry `kong.referenceable`).
 */
import process from 'node:process';
import type { ConfigSnapshot } from '../schema/entities/types.ts';
import { createResolver, resolveBySchema, type Resolver } from './resolve.ts';
import { isVaultReference } from './reference.ts';

/**
 * Referenceable top-level string fields of the entities the runtime reads.
 * `keys` (jwk, pem) are left out until something in the proxy uses them: a
 * reference nothing reads must not fail a build (Kong resolves on use).
 */
export const REFERENCEABLE_ENTITY_FIELDS: Readonly<Partial<Record<keyof ConfigSnapshot, readonly string[]>>> = {
  certificates: ['cert', 'key', 'cert_alt', 'key_alt'],
  keyauth_credentials: ['key'],
};

type Row = Record<string, unknown>;

function resolveFields(rows: readonly Row[], fields: readonly string[], resolve: Resolver): Row[] | null {
  let out: Row[] | null = null;
  rows.forEach((row, i) => {
    let copy: Row | null = null;
    for (const f of fields) {
      const v = row[f];
      if (isVaultReference(v)) (copy ??= { ...row })[f] = resolve(v);
    }
    if (copy !== null) (out ??= [...rows])[i] = copy;
  });
  return out;
}

/**
 * A snapshot whose referenceable values are the secrets; the input is not
 * modified (it is the store's and the Admin API's view). Throws VaultError
 * with Kong's message for a reference that cannot be resolved.
 */
export function resolveSnapshotSecrets(
  snapshot: ConfigSnapshot,
  pluginConfigSchema: (name: string) => Record<string, unknown> | null,
  env: NodeJS.ProcessEnv = process.env,
): ConfigSnapshot {
  const resolve = createResolver(snapshot.vaults ?? [], env);
  let out: ConfigSnapshot | null = null;
  for (const [entity, fields] of Object.entries(REFERENCEABLE_ENTITY_FIELDS) as Array<[keyof ConfigSnapshot, readonly string[]]>) {
    const rows = snapshot[entity];
    if (!Array.isArray(rows)) continue;
    const resolved = resolveFields(rows as unknown as Row[], fields, resolve);
    if (resolved !== null) (out ??= { ...snapshot })[entity] = resolved as never;
  }
  let plugins: Row[] | null = null;
  (snapshot.plugins as unknown as Row[]).forEach((p, i) => {
    const schema = pluginConfigSchema(String(p.name));
    if (schema === null || p.config === null || typeof p.config !== 'object') return;
    const config = resolveBySchema(schema, p.config, resolve);
    if (config !== p.config) (plugins ??= [...(snapshot.plugins as unknown as Row[])])[i] = { ...p, config };
  });
  if (plugins !== null) (out ??= { ...snapshot }).plugins = plugins as never;
  return out ?? snapshot;
}
