/**
 * Kong's proxy-cache Admin API (kong/plugins/proxy-cache/api.lua):
 *
 *   DELETE /proxy-cache                                   204, every entry of every proxy-cache plugin
 *   GET    /proxy-cache/:cache_key                        200 entry (first plugin holding it), or 404
 *   DELETE /proxy-cache/:cache_key                        204, or 404 when no plugin holds it
 *   GET    /proxy-cache/:plugin_id/caches/:cache_key      200 entry, or 404 (no such plugin or entry)
 *   DELETE /proxy-cache/:plugin_id/caches/:cache_key      204, or 404
 *
 * An entry is shown in Kong's shape: { status, headers, body, body_len,
 * timestamp, ttl, version, req_body }.
 *
 * Entries live in one cache per node (memory-store.ts), which the process
 * serving the Admin API opens too: an endpoint acts on the node's cache once,
 * whatever the number of workers.
 */
import type { PluginAdminRoute } from '../types.ts';
import type { AdminContext, AdminRequest, AdminResponse } from '../../admin/types.ts';
import type { PluginEntity } from '../../schema/entities/types.ts';
import * as memory from './memory-store.ts';

const NAME = 'proxy-cache';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NOT_FOUND: AdminResponse = { status: 404, body: { message: 'Not found' } };

export function entryView(e: memory.CachedResponse): Record<string, unknown> {
  const body = e.body.toString('utf8');
  return {
    status: e.status,
    headers: e.headers,
    body,
    body_len: e.body.length,
    timestamp: Math.floor(e.storedAt / 1000),
    ttl: e.ttl,
    version: e.version,
    req_body: e.reqBody,
  };
}

/** Every proxy-cache plugin entity (Kong's each_proxy_cache). */
async function proxyCachePlugins(ctx: AdminContext): Promise<PluginEntity[]> {
  const out: PluginEntity[] = [];
  let offset: string | null = null;
  do {
    const page: { data: PluginEntity[]; offset: string | null } = await ctx.store.list('plugins', { size: 1000, offset });
    for (const p of page.data) if (p.name === NAME) out.push(p);
    offset = page.offset;
  } while (offset !== null);
  return out;
}

async function pluginById(ctx: AdminContext, id: string | undefined): Promise<PluginEntity | null> {
  if (id === undefined || !UUID.test(id)) return null;
  const p = await ctx.store.get('plugins', id);
  return p !== null && p.name === NAME ? p : null;
}

export async function flushAll(_req: AdminRequest, ctx: AdminContext): Promise<AdminResponse> {
  for (const p of await proxyCachePlugins(ctx)) memory.flush(p.id);
  // Entries of plugins deleted since are unreachable; drop them too.
  memory.flush();
  return { status: 204 };
}

export async function getByKey(req: AdminRequest, ctx: AdminContext): Promise<AdminResponse> {
  const key = req.params.cache_key ?? '';
  for (const p of await proxyCachePlugins(ctx)) {
    const e = memory.fetch(p.id, key);
    if (e !== null) return { status: 200, body: entryView(e) };
  }
  return NOT_FOUND;
}

export async function deleteByKey(req: AdminRequest, ctx: AdminContext): Promise<AdminResponse> {
  const key = req.params.cache_key ?? '';
  for (const p of await proxyCachePlugins(ctx)) {
    if (memory.fetch(p.id, key) !== null) {
      memory.purge(p.id, key);
      return { status: 204 };
    }
  }
  return NOT_FOUND;
}

export async function getPluginEntry(req: AdminRequest, ctx: AdminContext): Promise<AdminResponse> {
  const p = await pluginById(ctx, req.params.plugin_id);
  if (p === null) return NOT_FOUND;
  const e = memory.fetch(p.id, req.params.cache_key ?? '');
  return e === null ? NOT_FOUND : { status: 200, body: entryView(e) };
}

export async function deletePluginEntry(req: AdminRequest, ctx: AdminContext): Promise<AdminResponse> {
  const p = await pluginById(ctx, req.params.plugin_id);
  if (p === null) return NOT_FOUND;
  const key = req.params.cache_key ?? '';
  if (memory.fetch(p.id, key) === null) return NOT_FOUND;
  memory.purge(p.id, key);
  return { status: 204 };
}

/** Kong's proxy-cache Admin API (kong/plugins/proxy-cache/api.lua); the cache is per node, so none is node-local. */
export const PROXY_CACHE_ADMIN_ROUTES: readonly PluginAdminRoute[] = [
  { method: 'DELETE', pattern: '/proxy-cache', handler: flushAll },
  { method: 'GET', pattern: '/proxy-cache/:cache_key', handler: getByKey },
  { method: 'DELETE', pattern: '/proxy-cache/:cache_key', handler: deleteByKey },
  { method: 'GET', pattern: '/proxy-cache/:plugin_id/caches/:cache_key', handler: getPluginEntry },
  { method: 'DELETE', pattern: '/proxy-cache/:plugin_id/caches/:cache_key', handler: deletePluginEntry },
];
