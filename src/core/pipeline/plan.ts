/**
 * Plugin chain resolution, done once per configuration (never per request).
 *
 * Kong's precedence when several instances of the same plugin could apply
 * (docs: "Plugin precedence", Kong Gateway 3.4+ with Enterprise's consumer
 * groups), most specific first:
 *   Consumer+Route+Service › ConsumerGroup+Route+Service › Consumer+Route
 *   › Consumer+Service › ConsumerGroup+Route › ConsumerGroup+Service
 *   › Route+Service › Consumer › ConsumerGroup › Route › Service › Global
 * Consumer- and group-scoped instances only apply once a consumer (or its
 * groups) is authenticated, so a plan entry keeps the best instance for every
 * caller and, per consumer and per group, the scoped instances that outrank
 * it (one that ranks below `base` can never win and is left out).
 */
import type { PluginEntity } from '../../schema/entities/types.ts';
import type { PlanEntry, PluginInstance, PluginPlan, ScopedInstance } from './types.ts';

export const EMPTY_PLAN: PluginPlan = Object.freeze({
  entries: [],
  hasRewrite: false,
  hasAccess: false,
  hasResponse: false,
  hasHeaderFilter: false,
  hasBodyFilter: false,
  hasLog: false,
}) as PluginPlan;

/** Precedence rank of a plugin entity's scope (Kong's order above); higher wins. */
export function rank(p: PluginEntity): number {
  const r = p.route !== null;
  const s = p.service !== null;
  if (p.consumer !== null) return r && s ? 12 : r ? 10 : s ? 9 : 5;
  if ((p.consumer_group ?? null) !== null) return r && s ? 11 : r ? 8 : s ? 7 : 4;
  return r && s ? 6 : r ? 3 : s ? 2 : 1;
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

/** Keep `cp` for `key` in `map` when it outranks what is there. */
function keepBest(map: Map<string, ScopedInstance>, key: string, cp: CompiledPlugin, rk: number): void {
  const have = map.get(key);
  if (have === undefined || have.rank < rk) map.set(key, { instance: cp.instance, rank: rk });
}

/** The scoped instances that outrank `baseRank` (the others never win), or null when none does. */
function outranking(map: Map<string, ScopedInstance>, baseRank: number): Map<string, ScopedInstance> | null {
  for (const [k, v] of map) if (v.rank <= baseRank) map.delete(k);
  return map.size > 0 ? map : null;
}

/**
 * Build the plan for one (route, service) pair from every enabled, compiled plugin.
 * `byName` groups the compiled plugins by plugin name; `groupNames` maps a
 * consumer group id to its name (requests carry their groups by name).
 */
export function buildPlan(
  byName: ReadonlyMap<string, CompiledPlugin[]>,
  routeId: string | null,
  serviceId: string | null,
  groupNames: ReadonlyMap<string, string> = new Map(),
): PluginPlan {
  const entries: PlanEntry[] = [];
  for (const list of byName.values()) {
    let base: CompiledPlugin | null = null;
    let baseRank = 0;
    const byConsumer = new Map<string, ScopedInstance>();
    const byGroup = new Map<string, ScopedInstance>();
    for (const cp of list) {
      if (!appliesTo(cp.entity, routeId, serviceId)) continue;
      const rk = rank(cp.entity);
      const group = cp.entity.consumer_group ?? null;
      if (cp.entity.consumer !== null) {
        keepBest(byConsumer, cp.entity.consumer.id, cp, rk);
      } else if (group !== null) {
        const name = groupNames.get(group.id);
        if (name !== undefined) keepBest(byGroup, name, cp, rk);
      } else if (rk > baseRank) {
        base = cp;
        baseRank = rk;
      }
    }
    const consumers = outranking(byConsumer, baseRank);
    const groups = outranking(byGroup, baseRank);
    if (base === null && consumers === null && groups === null) continue;
    entries.push({ module: list[0]!.instance.module, base: base?.instance ?? null, byConsumer: consumers, byGroup: groups });
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
    if (e.byConsumer !== null) for (const [c, i] of e.byConsumer) key += c + '=' + i.instance.id + ',';
    key += '|';
    if (e.byGroup !== null) for (const [g, i] of e.byGroup) key += g + '=' + i.instance.id + ',';
    key += ';';
  }
  return key;
}
