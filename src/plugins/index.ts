/**
 * The plugin registry: the only place the core learns which plugins exist.
 * Add a plugin by listing its module in BUNDLED (name, file, exported const).
 *
 * Modules are loaded when a configuration first uses them: a proxy worker
 * whose configuration uses no plugin, or only light ones, never loads jose,
 * openid-client or ioredis — each of those costs a worker several MB of RSS
 * (see docs/benchmarks.md, "Profiling notes"). The runtime builder loads
 * them before a configuration goes live (loadPlugins, asynchronously and one
 * module per macrotask, see load-stepwise.ts), so no request waits for
 * plugin code (ARCHITECTURE principle 16). getPlugin() still loads a module
 * synchronously (require(esm)) if nothing loaded it before — a fallback for
 * callers outside the runtime builder (tests, tools). Callers that need
 * every plugin present (the Admin API: schemas, extension endpoints) call
 * loadAllPlugins().
 */
import { createRequire } from 'node:module';
import { importStepwise } from './load-stepwise.ts';
import type { PluginAdminRoute, PluginModule } from './types.ts';
import { setPluginLookup } from '../schema/plugin-schemas.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyPlugin = PluginModule<any, any>;

/** name → [module path relative to this file, name of the exported PluginModule]. */
const BUNDLED: ReadonlyArray<readonly [string, string, string]> = [
  // (plugins register here, one entry each)
  ['openid-connect', './openid-connect/index.ts', 'openidConnect'],
  ['correlation-id', './correlation-id/index.ts', 'correlationId'],
  ['request-transformer', './request-transformer/index.ts', 'requestTransformer'],
  ['response-transformer', './response-transformer/index.ts', 'responseTransformer'],
  ['rate-limiting', './rate-limiting/index.ts', 'rateLimiting'],
  ['response-ratelimiting', './response-ratelimiting/index.ts', 'responseRateLimiting'],
  ['acl', './acl/index.ts', 'acl'],
  ['cors', './cors/index.ts', 'cors'],
  ['proxy-cache', './proxy-cache/index.ts', 'proxyCache'],
  ['key-auth', './key-auth/index.ts', 'keyAuth'],
  ['request-termination', './request-termination/index.ts', 'requestTermination'],
  ['redirect', './redirect/index.ts', 'redirect'],
  ['ip-restriction', './ip-restriction/index.ts', 'ipRestriction'],
  ['request-size-limiting', './request-size-limiting/index.ts', 'requestSizeLimiting'],
  ['basic-auth', './basic-auth/index.ts', 'basicAuth'],
  ['jwt', './jwt/index.ts', 'jwt'],
  ['hmac-auth', './hmac-auth/index.ts', 'hmacAuth'],
  ['bot-detection', './bot-detection/index.ts', 'botDetection'],
  ['prometheus', './prometheus/index.ts', 'prometheus'],
  ['opentelemetry', './opentelemetry/index.ts', 'opentelemetry'],
  ['http-log', './http-log/index.ts', 'httpLog'],
  ['file-log', './file-log/index.ts', 'fileLog'],
  ['tcp-log', './tcp-log/index.ts', 'tcpLog'],
  ['udp-log', './udp-log/index.ts', 'udpLog'],
  ['syslog', './syslog/index.ts', 'syslog'],
  ['tls-handshake-modifier', './tls-handshake-modifier/index.ts', 'tlsHandshakeModifier'],
];

const load = createRequire(import.meta.url);
const bundled = new Map<string, readonly [string, string]>(BUNDLED.map(([name, file, exported]) => [name, [file, exported]] as const));
const registry = new Map<string, AnyPlugin>();

function loadBundled(name: string): AnyPlugin | undefined {
  const entry = bundled.get(name);
  if (entry === undefined) return undefined;
  return register(name, entry, load(entry[0]) as Record<string, unknown>);
}

function register(name: string, entry: readonly [string, string], mod: Record<string, unknown>): AnyPlugin {
  const plugin = mod[entry[1]] as AnyPlugin | undefined;
  if (plugin === undefined || plugin.name !== name) throw new Error(`plugin module ${entry[0]} does not export '${entry[1]}' named '${name}'`);
  registry.set(name, plugin);
  return plugin;
}

/**
 * Kong's `plugins` setting (kong.conf `plugins`, KONG_PLUGINS): null means
 * `bundled` (every plugin we ship); otherwise only the named ones are
 * enabled. A plugin that is not enabled is unknown to validation, the
 * runtime and the Admin API, as in Kong.
 */
let enabled: ReadonlySet<string> | null = null;

/** The plugin names the `plugins` setting can name beyond `bundled` (for its validation). */
export function bundledPluginNames(): string[] {
  return [...bundled.keys()].sort();
}

/** Apply the `plugins` setting; `null` enables every bundled plugin. */
export function setEnabledPlugins(names: readonly string[] | null): void {
  enabled = names === null ? null : new Set(names);
}

function isEnabled(name: string): boolean {
  return enabled === null || enabled.has(name);
}

export function getPlugin(name: string): AnyPlugin | undefined {
  if (!isEnabled(name)) return undefined;
  return registry.get(name) ?? loadBundled(name);
}

// The schema layer looks plugins up through this seam (src/schema/plugin-schemas.ts), never by import.
setPluginLookup(getPlugin);

/** Load every enabled bundled plugin (their schemas and Admin API endpoints). Idempotent. */
export function loadAllPlugins(): void {
  for (const name of bundled.keys()) if (!registry.has(name) && isEnabled(name)) loadBundled(name);
}

/**
 * Load the named plugins' modules without blocking the event loop for long
 * (one module per macrotask). Unknown names are left to the runtime build,
 * which refuses them. Concurrent calls for one plugin share one load.
 */
export async function loadPlugins(names: Iterable<string>): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (const name of names) {
    if (registry.has(name)) continue;
    const entry = bundled.get(name);
    if (entry === undefined) continue;
    let p = loading.get(name);
    if (p === undefined) {
      p = importStepwise(new URL(entry[0], import.meta.url)).then((mod) => {
        if (!registry.has(name)) register(name, entry, mod);
      });
      loading.set(name, p);
      void p.finally(() => loading.delete(name));
    }
    pending.push(p);
  }
  await Promise.all(pending);
}

const loading = new Map<string, Promise<void>>();

/** loadAllPlugins without blocking the event loop for long. */
export function loadAllPluginsAsync(): Promise<void> {
  return loadPlugins(bundled.keys());
}

/** Names of every enabled plugin, sorted (GET /plugins/enabled). */
export function enabledPlugins(): string[] {
  return [...new Set([...bundled.keys(), ...registry.keys()])].filter(isEnabled).sort();
}

/** Custom plugins registered at start (custom/load.ts): name → where it was loaded from. */
const custom = new Map<string, string>();

/**
 * Register a custom plugin (loaded at start from a kong-js-pluginserver
 * directory, `plugins_path` or an npm package). It may not take a bundled
 * plugin's name, nor another custom plugin's.
 */
export function registerCustomPlugin(p: AnyPlugin, source: string): void {
  if (bundled.has(p.name)) throw new Error(`plugins: custom plugin '${p.name}' (${source}) has the name of a bundled plugin`);
  const other = custom.get(p.name);
  if (other !== undefined && other !== source) throw new Error(`plugins: '${p.name}' is provided twice (${other} and ${source})`);
  custom.set(p.name, source);
  registry.set(p.name, p);
}

/** For tests: register an extra plugin module. */
export function registerPlugin(p: AnyPlugin): void {
  registry.set(p.name, p);
}

/** The Admin API endpoints of every loaded plugin (PluginModule.adminRoutes), in registry order. */
export function pluginAdminRoutes(): PluginAdminRoute[] {
  const out: PluginAdminRoute[] = [];
  for (const p of registry.values()) if (p.adminRoutes !== undefined) out.push(...p.adminRoutes);
  return out;
}
