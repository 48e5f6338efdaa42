import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { buildPlan, EMPTY_PLAN, rank, type CompiledPlugin } from '../../../../src/core/pipeline/plan.ts';
import type { PluginModule } from '../../../../src/plugins/types.ts';
import type { PluginEntity } from '../../../../src/schema/entities/types.ts';

const mod = (name: string, priority: number, phases: Partial<PluginModule> = {}): PluginModule => ({
  name,
  version: '1',
  priority,
  schema: Type.Object({}),
  compile: (c) => c,
  access: () => undefined,
  ...phases,
});

let n = 0;
function plugin(module: PluginModule, scope: { route?: string; service?: string; consumer?: string; group?: string }): CompiledPlugin {
  const id = `p${++n}`;
  const entity: PluginEntity = {
    id,
    name: module.name,
    created_at: 0,
    updated_at: 0,
    tags: null,
    instance_name: null,
    route: scope.route ? { id: scope.route } : null,
    service: scope.service ? { id: scope.service } : null,
    consumer: scope.consumer ? { id: scope.consumer } : null,
    consumer_group: scope.group ? { id: scope.group } : null,
    config: {},
    protocols: ['http', 'https'],
    enabled: true,
    ordering: null,
  };
  return { entity, instance: { id, name: module.name, module, conf: { scope } } };
}

function group(list: CompiledPlugin[]): Map<string, CompiledPlugin[]> {
  const m = new Map<string, CompiledPlugin[]>();
  for (const p of list) m.set(p.entity.name, [...(m.get(p.entity.name) ?? []), p]);
  return m;
}

test('Kong precedence: route+service beats route, which beats service, which beats global', () => {
  const m = mod('rate-limiting', 910);
  const global = plugin(m, {});
  const svc = plugin(m, { service: 'S' });
  const route = plugin(m, { route: 'R' });
  const both = plugin(m, { route: 'R', service: 'S' });
  assert.equal(buildPlan(group([global, svc, route, both]), 'R', 'S').entries[0]!.base!.id, both.instance.id);
  assert.equal(buildPlan(group([global, svc, route]), 'R', 'S').entries[0]!.base!.id, route.instance.id);
  assert.equal(buildPlan(group([global, svc]), 'R', 'S').entries[0]!.base!.id, svc.instance.id);
  assert.equal(buildPlan(group([global, svc]), 'R2', 'S2').entries[0]!.base!.id, global.instance.id);
});

test('Kong precedence: a plugin bound to another route or service does not apply', () => {
  const m = mod('cors', 2000);
  const plan = buildPlan(group([plugin(m, { route: 'other' }), plugin(m, { service: 'other' })]), 'R', 'S');
  assert.equal(plan, EMPTY_PLAN);
});

test('Kong precedence: consumer-scoped instances rank route+service+consumer › route+consumer › service+consumer › consumer', () => {
  const m = mod('rate-limiting', 910);
  const c = plugin(m, { consumer: 'C' });
  const sc = plugin(m, { service: 'S', consumer: 'C' });
  const rc = plugin(m, { route: 'R', consumer: 'C' });
  const rsc = plugin(m, { route: 'R', service: 'S', consumer: 'C' });
  const base = plugin(m, { route: 'R', service: 'S' });
  const e = buildPlan(group([c, sc, rc, rsc, base]), 'R', 'S').entries[0]!;
  assert.equal(e.byConsumer!.get('C')!.instance.id, rsc.instance.id);
  assert.equal(e.base!.id, base.instance.id, 'the non-consumer instance still applies to other callers');
  assert.equal(buildPlan(group([c, sc, rc]), 'R', 'S').entries[0]!.byConsumer!.get('C')!.instance.id, rc.instance.id);
  assert.equal(buildPlan(group([c, sc]), 'R', 'S').entries[0]!.byConsumer!.get('C')!.instance.id, sc.instance.id);
  assert.equal(buildPlan(group([c]), 'R', 'S').entries[0]!.byConsumer!.get('C')!.instance.id, c.instance.id);
});

test("Kong's full precedence with consumer groups: each scope beats every scope below it", () => {
  // Most specific first, as Kong documents it (3.4+): the rank of each combination.
  const order: Array<{ route?: string; service?: string; consumer?: string; group?: string }> = [
    { consumer: 'C', route: 'R', service: 'S' },
    { group: 'G', route: 'R', service: 'S' },
    { consumer: 'C', route: 'R' },
    { consumer: 'C', service: 'S' },
    { group: 'G', route: 'R' },
    { group: 'G', service: 'S' },
    { route: 'R', service: 'S' },
    { consumer: 'C' },
    { group: 'G' },
    { route: 'R' },
    { service: 'S' },
    {},
  ];
  const m = mod('rate-limiting', 910);
  const all = order.map((scope) => plugin(m, scope));
  const ranks = all.map((p) => rank(p.entity));
  for (let i = 1; i < ranks.length; i++) assert.ok(ranks[i - 1]! > ranks[i]!, `${JSON.stringify(order[i - 1])} outranks ${JSON.stringify(order[i])}`);
  // Every later-listed instance loses to every earlier one, in the built plan too.
  const names = new Map([['G', 'gold']]);
  for (let i = 0; i < all.length; i++) {
    const e = buildPlan(group(all.slice(i)), 'R', 'S', names).entries[0]!;
    const top = all[i]!;
    const scope = order[i]!;
    if (scope.consumer) assert.equal(e.byConsumer!.get('C')!.instance.id, top.instance.id);
    else if (scope.group) assert.equal(e.byGroup!.get('gold')!.instance.id, top.instance.id);
    else assert.equal(e.base!.id, top.instance.id);
  }
});

test('a scoped instance that ranks below the instance for everyone is left out (it could never win)', () => {
  const m = mod('rate-limiting', 910);
  const routeService = plugin(m, { route: 'R', service: 'S' });
  const e = buildPlan(group([routeService, plugin(m, { consumer: 'C' }), plugin(m, { group: 'G' })]), 'R', 'S', new Map([['G', 'gold']])).entries[0]!;
  assert.equal(e.base!.id, routeService.instance.id);
  assert.equal(e.byConsumer, null, 'Route+Service › Consumer');
  assert.equal(e.byGroup, null, 'Route+Service › ConsumerGroup');
  const groupRoute = plugin(m, { group: 'G', route: 'R' });
  const e2 = buildPlan(group([routeService, groupRoute]), 'R', 'S', new Map([['G', 'gold']])).entries[0]!;
  assert.equal(e2.byGroup!.get('gold')!.instance.id, groupRoute.instance.id, 'ConsumerGroup+Route › Route+Service');
});

test('plugins run by priority, highest first, and phase flags reflect the modules', () => {
  const a = mod('acl', 950);
  const o = mod('openid-connect', 1050, { header_filter: () => undefined });
  const r = mod('request-transformer', 801, { access: undefined, log: () => undefined });
  const plan = buildPlan(group([plugin(a, {}), plugin(o, {}), plugin(r, {})]), 'R', 'S');
  assert.deepEqual(plan.entries.map((e) => e.module.name), ['openid-connect', 'acl', 'request-transformer']);
  assert.equal(plan.hasHeaderFilter, true);
  assert.equal(plan.hasLog, true);
  assert.equal(plan.hasBodyFilter, false);
  assert.ok(Object.isFrozen(plan));
});
