/**
 * Custom plugins, loaded at start before any configuration goes live
 * (`applyPluginsSetting`, in the primary and in every worker): a plugin named
 * in `plugins` that we do not ship is looked for, in order,
 *   1. among the kong-pdk plugins of each kong-js-pluginserver's
 *      --plugins-directory (`pluginserver_names`, `pluginserver_<n>_start_cmd`),
 *      loaded as kong-js-pluginserver loads them (every entry of the directory,
 *      name = `Name` export or the file name);
 *   2. in each `plugins_path` directory: `<dir>/<name>/` (package.json main,
 *      else index.ts / index.js / index.mjs) or `<dir>/<name>.ts|.js|.mjs`;
 *   3. as an npm package `<name>` installed where Portcullis was started.
 * A module exporting { Plugin, … } is a kong-pdk plugin (js-plugin.ts); any
 * other must export a PluginModule (default export, or `plugin`).
 * Unlike bundled plugins these are loaded whole at start, not on first use:
 * their names are needed to validate the `plugins` setting, and the start is
 * the only moment no request waits on a module's evaluation.
 */
import process from 'node:process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire, registerHooks } from 'node:module';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PluginModule } from '../types.ts';
import { fromKongPdk, isKongPdkModule, kongPdkName } from './js-plugin.ts';
import { configSchemaFromKong } from './kong-schema.ts';
import { mark, startWatchdog } from './watchdog.ts';
import type { Logger } from 'pino';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyPlugin = PluginModule<any, any>;

export interface LoadedCustom {
  readonly plugin: AnyPlugin;
  readonly source: string;
}

/** kong-js-pluginserver's accepted extensions (server.js VALID_EXTENSIONS, minus native addons). */
const PDK_EXTENSIONS = new Set(['.js', '.ts', '.cjs', '.mjs', '']);
const API_URL = new URL('../api.ts', import.meta.url).href;

let hooked = false;

/** 'portcullis/plugin' resolves to our API wherever the importing plugin lives. */
function hookApi(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'portcullis/plugin' || specifier === 'portcullis') return { url: API_URL, shortCircuit: true, format: 'module-typescript' };
      return next(specifier, context);
    },
  });
}

async function importFile(file: string): Promise<Record<string, unknown>> {
  hookApi();
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/**
 * The kong-pdk module in a namespace: CommonJS modules arrive whole as
 * `default` (the named exports Node detects statically may miss some, e.g. `Name`).
 */
function pdkModule(ns: Record<string, unknown>): unknown {
  if (isKongPdkModule(ns.default)) return ns.default;
  if (isKongPdkModule(ns)) return ns;
  return null;
}

function resolveEntry(path: string): string | null {
  let st;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  if (st.isFile()) return path;
  if (!st.isDirectory()) return null;
  const pkg = join(path, 'package.json');
  if (existsSync(pkg)) {
    const main = (JSON.parse(readFileSync(pkg, 'utf8')) as { main?: unknown }).main;
    if (typeof main === 'string') return resolveEntry(join(path, main)) ?? resolveEntry(`${join(path, main)}.js`);
  }
  for (const index of ['index.ts', 'index.js', 'index.mjs', 'index.cjs']) if (existsSync(join(path, index))) return join(path, index);
  return null;
}

/** Every plugin of a kong-js-pluginserver directory, as the server loads them: name → file and module. */
async function scanPdkDirectory(dir: string, failures: string[]): Promise<Map<string, { file: string; mod: unknown }>> {
  const out = new Map<string, { file: string; mod: unknown }>();
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (err) {
    throw new Error(`plugins directory ${dir}: ${(err as Error).message}`);
  }
  for (const entry of entries) {
    if (entry.startsWith('.') || entry.includes('node_modules')) continue;
    const file = resolveEntry(join(dir, entry));
    if (file === null || !PDK_EXTENSIONS.has(extname(file))) continue;
    try {
      const mod = pdkModule(await importFile(file));
      if (mod === null) continue;
      const name = kongPdkName(mod as Parameters<typeof kongPdkName>[0], file);
      if (!out.has(name)) out.set(name, { file, mod });
    } catch (err) {
      failures.push(`${file}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Check a user's PluginModule and fill in what may be left out (compile, a Kong-style `fields` schema). */
function ownPlugin(ns: Record<string, unknown>, name: string, file: string): AnyPlugin {
  const candidate = (ns.default ?? ns.plugin) as Record<string, unknown> | undefined;
  if (candidate === undefined || candidate === null || typeof candidate !== 'object') {
    throw new Error(`plugin '${name}' (${file}): export a PluginModule as the default export (or as 'plugin'), or kong-pdk's { Plugin, Schema, … }`);
  }
  const p = { ...candidate } as Record<string, unknown>;
  if (p.name !== name) throw new Error(`plugin '${name}' (${file}): its module is named '${String(p.name)}'`);
  if (typeof p.priority !== 'number' || !Number.isFinite(p.priority)) throw new Error(`plugin '${name}' (${file}): priority must be a number`);
  if (p.version === undefined) p.version = '0.0.0';
  if (p.schema === undefined && p.fields !== undefined) p.schema = configSchemaFromKong(p.fields, `plugin '${name}' (${file}): fields`);
  delete p.fields;
  if (p.schema === undefined) p.schema = configSchemaFromKong([], name);
  const schema = p.schema as { type?: unknown };
  if (schema.type !== 'object') throw new Error(`plugin '${name}' (${file}): schema must be an object schema (Type.Object) or give Kong-style 'fields'`);
  if (p.compile === undefined) p.compile = (config: unknown) => Object.freeze(config);
  for (const phase of ['rewrite', 'access', 'response', 'header_filter', 'body_filter', 'log', 'compile', 'close', 'check']) {
    if (p[phase] !== undefined && typeof p[phase] !== 'function') throw new Error(`plugin '${name}' (${file}): ${phase} must be a function`);
  }
  // The watchdog names a custom plugin that holds the event loop (watchdog.ts): mark entry and return of every phase.
  const compile = p.compile as (config: unknown, env: { log: Logger }) => unknown;
  p.compile = (config: unknown, env: { log: Logger }) => {
    startWatchdog(env.log);
    return compile.call(p, config, env);
  };
  for (const phase of ['rewrite', 'access', 'response', 'header_filter', 'body_filter', 'log']) {
    const fn = p[phase] as ((...args: unknown[]) => unknown) | undefined;
    if (fn === undefined) continue;
    p[phase] = (...args: unknown[]) => {
      mark(name);
      const r = fn.apply(p, args);
      mark(name);
      return r;
    };
  }
  return p as unknown as AnyPlugin;
}

export interface CustomSources {
  /** Names in `plugins` that are not bundled. */
  names: readonly string[];
  pluginServers: readonly { name: string; directory: string }[];
  pluginsPath: readonly string[];
  cwd: string;
}

/** Load the named custom plugins; throws an Error naming the first that is not found or cannot load. */
export async function loadCustomPlugins(src: CustomSources): Promise<LoadedCustom[]> {
  const out: LoadedCustom[] = [];
  const failures: string[] = [];
  const pdk = new Map<string, { file: string; mod: unknown }>();
  for (const server of src.pluginServers) {
    for (const [name, found] of await scanPdkDirectory(resolve(src.cwd, server.directory), failures)) if (!pdk.has(name)) pdk.set(name, found);
  }
  const req = createRequire(join(src.cwd, 'noop.js'));
  for (const name of src.names) {
    const fromServer = pdk.get(name);
    if (fromServer !== undefined) {
      out.push({ plugin: fromKongPdk(fromServer.mod as Parameters<typeof fromKongPdk>[0], fromServer.file) as AnyPlugin, source: fromServer.file });
      continue;
    }
    let file: string | null = null;
    for (const dir of src.pluginsPath) {
      file = resolveEntry(join(dir, name));
      for (const ext of ['.ts', '.js', '.mjs']) file ??= resolveEntry(join(dir, name + ext));
      if (file !== null) break;
    }
    if (file === null) {
      try {
        file = req.resolve(name);
      } catch {
        file = null;
      }
    }
    if (file === null) {
      const where = [
        ...src.pluginServers.map((s) => `${s.directory} (pluginserver ${s.name})`),
        ...src.pluginsPath,
        `node_modules of ${src.cwd}`,
      ];
      const extra = failures.length > 0 ? `; files that failed to load: ${failures.join('; ')}` : '';
      throw new Error(`plugins: '${name}' is enabled but not installed (looked in ${where.join(', ')})${extra}`);
    }
    const ns = await importFile(file);
    const mod = pdkModule(ns);
    const plugin = mod !== null ? (fromKongPdk(mod as Parameters<typeof fromKongPdk>[0], file) as AnyPlugin) : ownPlugin(ns, name, file);
    if (plugin.name !== name) throw new Error(`plugins: '${name}' (${file}) is a kong-pdk plugin named '${plugin.name}'`);
    out.push({ plugin, source: file });
  }
  for (const f of failures) process.emitWarning(`kong-pdk plugin file failed to load: ${f}`, { code: 'PORTCULLIS_PLUGIN_LOAD' });
  return out;
}

