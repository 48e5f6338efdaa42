/**
 * The plugin registry: the only place the core learns which plugins exist.
 * Add a plugin by importing its module and listing it in BUNDLED.
 */
import type { PluginModule } from './types.ts';
import { correlationId } from './correlation-id/index.ts';
import { requestTransformer } from './request-transformer/index.ts';
import { rateLimiting } from './rate-limiting/index.ts';
import { acl } from './acl/index.ts';
import { cors } from './cors/index.ts';
import { keyAuth } from './key-auth/index.ts';
import { openidConnect } from './openid-connect/index.ts';
import { proxyCache } from './proxy-cache/index.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyPlugin = PluginModule<any, any>;

const BUNDLED: AnyPlugin[] = [
  // (plugins register here, one import + one entry each)
  openidConnect,
  correlationId,
  requestTransformer,
  rateLimiting,
  acl,
  cors,
  proxyCache,
  keyAuth,
];

const registry = new Map<string, AnyPlugin>();
for (const p of BUNDLED) registry.set(p.name, p);

export function getPlugin(name: string): AnyPlugin | undefined {
  return registry.get(name);
}

/** Names of every enabled plugin, sorted (GET /plugins/enabled). */
export function enabledPlugins(): string[] {
  return [...registry.keys()].sort();
}

/** For tests: register an extra plugin module. */
export function registerPlugin(p: AnyPlugin): void {
  registry.set(p.name, p);
}
