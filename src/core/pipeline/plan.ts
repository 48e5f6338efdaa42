/**
 * Plugin chain resolution, done once per configuration (never per request).
 *
 * Kong's precedence when several instances of the same plugin could apply
 * (docs: "Plugin precedence"):
 *   Route+Service+Consumer › Route+Consumer › Service+Consumer › Route+Service
 *   › Consumer › Route › Service › Global
 * Consumer-scoped instances only apply once a consumer is authenticated, so a
 * plan entry keeps both the best non-consumer instance and a per-consumer map.
 */
import type { PluginEntity } from '../../schema/entities/types.ts';
import type { PlanEntry, PluginInstance, PluginPlan } from './types.ts';

export const EMPTY_PLAN: PluginPlan = Object.freeze({
  entries: [],
  hasRewrite: false,
  hasAccess: false,
  hasResponse: false,
  hasHeaderFilter: false,
  hasBodyFilter: false,
  hasLog: false,
}) as PluginPlan;

/** Precedence rank of a plugin entity's scope; higher wins. Consumer-scoped ranks are > 4. */
function rank(p: PluginEntity): number {
  const r = p.route !== null;
  const s = p.service !== null;
  const c = p.consumer !== null;
  if (c) return r && s ? 8 : r ? 7 : s ? 6 : 5;
  return r && s ? 4 : r ? 3 : s ? 2 : 1;
}

export interface CompiledPlugin {
  entity: PluginEntity;
  instance: PluginInstance;
}

/** Does this plugin entity apply to requests on (routeId, serviceId), ignoring the consumer? */
function appliesTo(p: PluginEntity, routeId: string | null, serviceId: string | null): boolean {
  if (p.route !== null && p.route.id !== routeId) return false;
  if (p.service !== null && p.service.id !== serviceId) return false;
  return true;
}

/**
 * Build the plan for one (route, service) pair from every enabled, compiled plugin.
 * `byName` groups the compiled plugins by plugin name.
 */
export function buildPlan(byName: ReadonlyMap<string, CompiledPlugin[]>, routeId: string | null, serviceId: string | null): PluginPlan {
  const entries: PlanEntry[] = [];
  for (const list of byName.values()) {
    let base: CompiledPlugin | null = null;
    let byConsumer: Map<string, PluginInstance> | null = null;
    const consumerRank = new Map<string, number>();
    for (const cp of list) {
      if (!appliesTo(cp.entity, routeId, serviceId)) continue;
      const rk = rank(cp.entity);
      if (cp.entity.consumer !== null) {
        const cid = cp.entity.consumer.id;
        if ((consumerRank.get(cid) ?? 0) < rk) {
          consumerRank.set(cid, rk);
          byConsumer ??= new Map();
          byConsumer.set(cid, cp.instance);
        }
      } else if (base === null || rank(base.entity) < rk) {
        base = cp;
      }
    }
    if (base === null && byConsumer === null) continue;
    entries.push({ module: list[0]!.instance.module, base: base?.instance ?? null, byConsumer });
  }
  if (entries.length === 0) return EMPTY_PLAN;
  // Kong runs higher PRIORITY first; ties broken by name for a stable order.
  entries.sort((a, b) => b.module.priority - a.module.priority || (a.module.name < b.module.name ? -1 : 1));
  return Object.freeze({
    entries,
    hasRewrite: entries.some((e) => e.module.rewrite !== undefined),
    hasAccess: entries.some((e) => e.module.access !== undefined),
    hasResponse: entries.some((e) => e.module.response !== undefined),
    hasHeaderFilter: entries.some((e) => e.module.header_filter !== undefined),
    hasBodyFilter: entries.some((e) => e.module.body_filter !== undefined),
    hasLog: entries.some((e) => e.module.log !== undefined),
  });
}

/** A stable key for the set of instances a plan uses, so identical plans are shared between routes. */
export function planKey(plan: PluginPlan): string {
  let key = '';
  for (const e of plan.entries) {
    key += (e.base?.id ?? '-') + ':';
    if (e.byConsumer !== null) for (const [c, i] of e.byConsumer) key += c + '=' + i.id + ',';
    key += ';';
  }
  return key;
}
