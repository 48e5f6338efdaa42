/**
 * Upstream targets live under their upstream only (kong/api/routes/upstreams.lua,
 * kong/api/routes/targets.lua):
 *   /upstreams/{upstream}/targets            GET list, POST create
 *   /upstreams/{upstream}/targets/all        GET list (Kong keeps it for compatibility)
 *   /upstreams/{upstream}/targets/{target}   GET, PATCH, PUT (an update, as Kong), DELETE
 *                                            — {target} is an id or the `host:port` address
 *   /upstreams/{upstream}/health             GET targets with their health (`?balancer_health=1`: the balancer's)
 *   /upstreams/{upstream}/targets/{target}[/{address}]/healthy|unhealthy
 *                                            PUT (POST too, as Kong's docs show) — set health by hand
 * Health is the node's (src/core/proxy/balancer/health-owner.ts): each node
 * answers with its own state, as Kong does.
 *   /targets, /targets/{id}, /targets/{id}/upstream  404 (disabled, as Kong)
 * A target address is unique within its upstream (409 otherwise).
 */
import { isUuid } from '../schema/checks.ts';
import { entityInput, listPage, scanAll } from './crud.ts';
import { notFound, uniqueViolation } from './errors.ts';
import { deleteEntity, insertEntity, mustFind, storeFailure, updateEntity, type Row, type WriteHooks } from './entity-ops.ts';
import { escapeUri } from './paging.ts';
import type { AdminRouter } from './router.ts';
import type { AdminContext, AdminRequest, AdminResponse } from './types.ts';

function upstreamIdOf(row: Row): string | null {
  const u = row.upstream as { id?: unknown } | null;
  return u !== null && typeof u === 'object' && typeof u.id === 'string' ? u.id : null;
}

/** 409 when another target of the same upstream already has this address. */
function uniqueTargetHooks(ctx: AdminContext): WriteHooks {
  return {
    async check(prepared) {
      const upstreamId = upstreamIdOf(prepared.row);
      if (upstreamId === null) return;
      let clash = false;
      await scanAll(ctx, 'targets', (row) => {
        if (upstreamIdOf(row) === upstreamId && row.target === prepared.row.target && row.id !== prepared.row.id) {
          clash = true;
          return true;
        }
        return false;
      });
      if (clash) throw uniqueViolation({ target: prepared.row.target, upstream: { id: upstreamId } });
    },
  };
}

async function findTarget(ctx: AdminContext, upstream: Row, raw: string): Promise<Row> {
  let target: Row | null = null;
  if (isUuid(raw)) {
    try {
      target = (await ctx.store.get('targets', raw)) as Row | null;
    } catch (err) {
      throw storeFailure(ctx, err, 'targets', 'update');
    }
  } else {
    await scanAll(ctx, 'targets', (row) => {
      if (upstreamIdOf(row) === upstream.id && row.target === raw) {
        target = row;
        return true;
      }
      return false;
    });
  }
  if (target === null || upstreamIdOf(target) !== upstream.id) throw notFound();
  return target;
}

async function listTargets(req: AdminRequest, ctx: AdminContext, suffix: string): Promise<AdminResponse> {
  const upstream = await mustFind(ctx, 'upstreams', req.params.upstream!);
  return listPage(ctx, req, 'targets', {
    field: 'upstream',
    id: String(upstream.id),
    parentCollection: 'upstreams',
    parentKey: req.params.upstream!,
    childCollection: suffix,
  });
}

export function registerTargets(router: AdminRouter): void {
  router.add('GET', '/upstreams/:upstream/targets', (req, ctx) => listTargets(req, ctx, 'targets'));
  router.add('GET', '/upstreams/:upstream/targets/all', (req, ctx) => listTargets(req, ctx, 'targets/all'));

  router.add('POST', '/upstreams/:upstream/targets', async (req, ctx) => {
    const upstream = await mustFind(ctx, 'upstreams', req.params.upstream!);
    const input = entityInput(req, 'targets');
    input.upstream = { id: upstream.id };
    return { status: 201, body: await insertEntity(ctx, 'targets', input, uniqueTargetHooks(ctx)) };
  });

  router.add('GET', '/upstreams/:upstream/targets/:target', async (req, ctx) => {
    const upstream = await mustFind(ctx, 'upstreams', req.params.upstream!);
    return { status: 200, body: await findTarget(ctx, upstream, req.params.target!) };
  });

  const update = async (req: AdminRequest, ctx: AdminContext): Promise<AdminResponse> => {
    const upstream = await mustFind(ctx, 'upstreams', req.params.upstream!);
    const target = await findTarget(ctx, upstream, req.params.target!);
    const input = entityInput(req, 'targets');
    return { status: 200, body: await updateEntity(ctx, 'targets', target, input, null, uniqueTargetHooks(ctx)) };
  };
  router.add('PATCH', '/upstreams/:upstream/targets/:target', update);
  router.add('PUT', '/upstreams/:upstream/targets/:target', update);

  router.add('DELETE', '/upstreams/:upstream/targets/:target', async (req, ctx) => {
    const upstream = await mustFind(ctx, 'upstreams', req.params.upstream!);
    const target = await findTarget(ctx, upstream, req.params.target!);
    await deleteEntity(ctx, 'targets', target, null);
    return { status: 204 };
  });

  router.add('GET', '/upstreams/:upstream/health', async (req, ctx) => {
    const upstream = await mustFind(ctx, 'upstreams', req.params.upstream!);
    const info = ctx.info();
    const upstreamId = String(upstream.id);
    if (req.query.get('balancer_health') === '1') {
      // Kong: {data = get_balancer_health(), next = null, node_id}; no data when the node has no balancer yet.
      const data = info.health?.balancer(upstreamId) ?? null;
      return { status: 200, body: { ...(data !== null ? { data } : {}), next: null, node_id: info.node_id } };
    }
    const page = await listPage(ctx, req, 'targets', {
      field: 'upstream',
      id: upstreamId,
      parentCollection: 'upstreams',
      parentKey: req.params.upstream!,
      childCollection: 'health',
    });
    const body = page.body as { data: Row[]; offset?: string; next: string | null };
    const health = info.health?.targets(upstreamId) ?? null;
    const data = body.data.map((t) => {
      if (health === null) return { ...t, health: 'HEALTHCHECKS_OFF' };
      // A target the balancer does not know (yet), or whose name did not resolve: DNS_ERROR (kong/db/dao/targets.lua).
      const h = health.get(String(t.target));
      return h === undefined ? { ...t, health: 'DNS_ERROR' } : { ...t, health: h.health, data: h.data };
    });
    const next = body.offset !== undefined ? `/upstreams/${req.params.upstream!}/health?offset=${escapeUri(body.offset)}` : null;
    return {
      status: 200,
      body: { data, ...(body.offset !== undefined ? { offset: body.offset } : {}), next, node_id: info.node_id },
    };
  });

  // kong/api/routes/upstreams.lua set_target_health: 204, 404 for an unknown upstream/target, 400 with the balancer's message.
  const setHealth = (healthy: boolean) => async (req: AdminRequest, ctx: AdminContext): Promise<AdminResponse> => {
    const upstream = await mustFind(ctx, 'upstreams', req.params.upstream!);
    const target = await findTarget(ctx, upstream, req.params.target!);
    const api = ctx.info().health;
    const err = api === undefined ? `no healthchecker found for ${String(upstream.name)}` : api.set(String(upstream.id), String(target.target), req.params.address ?? null, healthy);
    if (err !== null) return { status: 400, body: { message: err } };
    return { status: 204 };
  };
  for (const method of ['PUT', 'POST']) {
    router.add(method, '/upstreams/:upstream/targets/:target/healthy', setHealth(true));
    router.add(method, '/upstreams/:upstream/targets/:target/unhealthy', setHealth(false));
    router.add(method, '/upstreams/:upstream/targets/:target/:address/healthy', setHealth(true));
    router.add(method, '/upstreams/:upstream/targets/:target/:address/unhealthy', setHealth(false));
  }

  // deactivated, as in Kong: targets are only reachable through their upstream
  for (const pattern of ['/targets', '/targets/:id', '/targets/:id/upstream']) {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      router.add(method, pattern, () => {
        throw notFound();
      });
    }
  }
}
