/**
 * Node-local Admin API endpoints in cluster mode. Some plugin endpoints act on
 * per-process state (the openid-connect discovery and token caches; state that
 * is per node, such as proxy-cache entries, lives in src/core/node-state instead).
 * With `--workers N` the Admin API runs in the primary, whose caches are not
 * the workers' — so a route registered with `{ nodeLocal: true }` is also run
 * in every worker (over the cluster IPC channel, see src/cluster.ts), and the
 * client gets the first successful answer (the primary's own if it succeeded).
 */
import { Buffer } from 'node:buffer';
import { AdminRouter, withExtensions } from './router.ts';
import type { AdminContext, AdminRequest, AdminResponse } from './types.ts';
import { loadAllPluginsAsync, pluginAdminRoutes } from '../plugins/index.ts';

/** What the primary sends each worker for a node-local endpoint. */
export interface NodeLocalCall {
  method: string;
  path: string;
  query: string;
}

/** Runs a node-local call in every other process of this node and returns their answers. */
export type NodeLocalFanout = (call: NodeLocalCall) => Promise<AdminResponse[]>;

function listOf(r: AdminResponse): unknown[] | null {
  const data = (r.body as { data?: unknown } | undefined)?.data;
  return r.status === 200 && Array.isArray(data) ? data : null;
}

/**
 * The answer the client sees. Lists (`{data: [...]}`) are merged across
 * processes, without duplicates by `id`; otherwise ours when it succeeded,
 * else the first success elsewhere, else ours.
 */
export function mergeNodeLocal(own: AdminResponse, others: AdminResponse[]): AdminResponse {
  const ownList = listOf(own);
  if (ownList !== null) {
    const seen = new Set<unknown>();
    const data: unknown[] = [];
    for (const list of [ownList, ...others.map(listOf)]) {
      for (const item of list ?? []) {
        const key = (item as { id?: unknown } | null)?.id ?? JSON.stringify(item);
        if (seen.has(key)) continue;
        seen.add(key);
        data.push(item);
      }
    }
    return { ...own, body: { ...(own.body as object), data } };
  }
  if (own.status < 400) return own;
  return others.find((r) => r.status < 400) ?? own;
}

const router = new AdminRouter();

/**
 * Worker side: run a node-local call against this process' extension routes.
 * The context's store is a read-only view of the configuration this worker
 * serves (handlers look up their plugin entities in it).
 */
export async function runNodeLocal(call: NodeLocalCall, ctx: AdminContext): Promise<AdminResponse> {
  // Plugins declare their node-local endpoints (adminRoutes); a worker loads plugins lazily (src/plugins/index.ts).
  await loadAllPluginsAsync();
  const match = router.match(call.method, call.path, withExtensions(pluginAdminRoutes()));
  if (match.kind !== 'ok' || match.route.options.nodeLocal !== true) return { status: 404, body: { message: 'Not found' } };
  const req: AdminRequest = {
    method: call.method,
    path: call.path,
    params: match.params,
    query: new URLSearchParams(call.query),
    headers: {},
    body: { kind: 'none', value: undefined, raw: Buffer.alloc(0), contentType: null },
  };
  try {
    return await match.route.handler(req, ctx);
  } catch {
    return { status: 500, body: { message: 'An unexpected error occurred' } };
  }
}
