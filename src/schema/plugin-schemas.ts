/**
 * What the schema layer needs of a plugin — its config schema, where it may
 * be attached, its protocols and its cross-field check — and the seam through
 * which it gets it. The plugin registry (src/plugins/index.ts) sets the lookup
 * when it loads, so the schema layer never imports the plugin layer above it
 * (issue 12: arrows run one way). Until then any plugin lookup throws: a
 * process that validates plugins without the registry is a wiring bug, not
 * "plugin not enabled".
 */
import type { TSchema } from '@sinclair/typebox';
import type { Protocol } from './entities/types.ts';

export interface PluginSchemaInfo {
  readonly name: string;
  readonly schema: TSchema;
  readonly scopes?: { readonly consumer: boolean; readonly route: boolean; readonly service: boolean; readonly consumer_group?: boolean };
  readonly protocols?: readonly Protocol[];
  check?(config: Record<string, unknown>): Record<string, unknown>;
}

export type PluginLookup = (name: string) => PluginSchemaInfo | undefined;

let lookup: PluginLookup | null = null;

export function setPluginLookup(l: PluginLookup): void {
  lookup = l;
}

/** The plugin named `name` as the schema layer sees it; undefined when it is not enabled. */
export function pluginSchemaInfo(name: string): PluginSchemaInfo | undefined {
  if (lookup === null) throw new Error('the plugin registry (src/plugins/index.ts) is not loaded in this process');
  return lookup(name);
}
