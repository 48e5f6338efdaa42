import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { buildPlan, EMPTY_PLAN, type CompiledPlugin } from '../../../../src/core/pipeline/plan.ts';
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
function plugin(module: PluginModule, scope: { route?: string; service?: string; consumer?: string }): CompiledPlugin {
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
  assert.equal(e.byConsumer!.get('C')!.id, rsc.instance.id);
  assert.equal(e.base!.id, base.instance.id, 'the non-consumer instance still applies to other callers');
  assert.equal(buildPlan(group([c, sc, rc]), 'R', 'S').entries[0]!.byConsumer!.get('C')!.id, rc.instance.id);
  assert.equal(buildPlan(group([c, sc]), 'R', 'S').entries[0]!.byConsumer!.get('C')!.id, sc.instance.id);
  assert.equal(buildPlan(group([c]), 'R', 'S').entries[0]!.byConsumer!.get('C')!.id, c.instance.id);
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
