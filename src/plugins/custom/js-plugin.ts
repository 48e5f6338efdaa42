/**
 * A kong-pdk plugin module ({ Plugin, Schema, Version, Priority, Name }) as
 * one of our PluginModules: its Kong-style Schema translated (kong-schema.ts),
 * one instance of its Plugin class per plugin configuration (kong-pdk's
 * StartInstance: `new Plugin(config)`, reused by every request), and its
 * phase methods called with the in-process `kong` object (js-pdk.ts).
 *
 * Phases: rewrite, access, response (Kong's buffered phase: the route buffers
 * the upstream response), log. `certificate` and `preread` (TLS handshake,
 * stream) have no counterpart here: a plugin defining them is refused when
 * it loads, naming the method, rather than loaded with a handler that never runs.
 */
import { basename, extname } from 'node:path';
import type { RequestContext } from '../../core/context.ts';
import { IpMatcher } from '../../shared/ip.ts';
import type { PluginModule } from '../types.ts';
import { configSchemaFromKong } from './kong-schema.ts';
import { Kong, type BridgeEnv } from './js-pdk.ts';
import { mark, startWatchdog } from './watchdog.ts';

/** What a kong-pdk plugin file exports. */
export interface KongPdkModule {
  Plugin: new (config: unknown) => Record<string, unknown>;
  Schema?: unknown;
  Version?: unknown;
  Priority?: unknown;
  Name?: unknown;
}

interface JsInstance {
  readonly obj: Record<string, unknown>;
  readonly env: BridgeEnv;
}

const UNSUPPORTED_PHASES = ['certificate', 'preread'] as const;

/** kong-pdk's plugin name: `Name`, else the file's name (a directory's index → 'index', as kong-pdk does), lower-cased. */
export function kongPdkName(mod: KongPdkModule, file: string): string {
  const name = typeof mod.Name === 'string' && mod.Name !== '' ? mod.Name : basename(file, extname(file));
  return name.toLowerCase();
}

export function isKongPdkModule(mod: unknown): mod is KongPdkModule {
  return typeof mod === 'object' && mod !== null && typeof (mod as KongPdkModule).Plugin === 'function';
}

function call(inst: JsInstance, phase: string, ctx: RequestContext): void | Promise<void> {
  mark(inst.env.plugin);
  const r = (inst.obj[phase] as (kong: unknown) => unknown).call(inst.obj, new Kong(ctx, inst.env));
  mark(inst.env.plugin);
  if (r !== null && typeof r === 'object' && typeof (r as Promise<void>).then === 'function') return r as Promise<void>;
}

export function fromKongPdk(mod: KongPdkModule, file: string): PluginModule<Record<string, unknown>, JsInstance> {
  const name = kongPdkName(mod, file);
  const where = `plugin '${name}' (${file})`;
  const proto = mod.Plugin.prototype as Record<string, unknown>;
  for (const phase of UNSUPPORTED_PHASES) {
    if (typeof proto[phase] === 'function') {
      throw new Error(`${where}: its ${phase} handler cannot run in Portcullis (no ${phase} phase in-process); remove it or keep this plugin on Kong`);
    }
  }
  const priority = mod.Priority === undefined ? 0 : Number(mod.Priority);
  if (!Number.isFinite(priority)) throw new Error(`${where}: Priority must be a number`);
  const has = (p: string): boolean => typeof proto[p] === 'function';
  const plugin: PluginModule<Record<string, unknown>, JsInstance> = {
    name,
    version: mod.Version === undefined ? '0.0.0' : String(mod.Version),
    priority,
    schema: configSchemaFromKong(mod.Schema, `${where}: Schema`) as PluginModule['schema'],
    compile(config, env) {
      startWatchdog(env.log);
      // kong-pdk hands the instance a fresh copy of the stored config (JSON.parse of Kong's JSON).
      const obj = new mod.Plugin(structuredClone(config));
      return { obj, env: { plugin: name, pluginId: env.pluginId, log: env.log, trusted: new IpMatcher(env.settings.trustedIps) } };
    },
  };
  if (has('rewrite')) plugin.rewrite = (ctx, inst) => call(inst, 'rewrite', ctx);
  if (has('access')) plugin.access = (ctx, inst) => call(inst, 'access', ctx);
  if (has('response')) plugin.response = (ctx, inst) => call(inst, 'response', ctx);
  if (has('log')) {
    plugin.log = (ctx, inst) => {
      const p = call(inst, 'log', ctx);
      if (p !== undefined) p.catch((err: unknown) => inst.env.log.error({ request_id: ctx.id, plugin: name, phase: 'log', err }, 'plugin failed'));
    };
  }
  return plugin;
}
