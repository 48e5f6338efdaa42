/** kong.ctx.plugin: per-request state private to one plugin. */
import type { RequestContext } from '../core/context.ts';

export function pluginState<T>(ctx: RequestContext, plugin: string): T | undefined {
  return ctx.pluginState?.get(plugin) as T | undefined;
}

export function setPluginState(ctx: RequestContext, plugin: string, value: unknown): void {
  if (ctx.pluginState === null) ctx.pluginState = new Map();
  ctx.pluginState.set(plugin, value);
}
