/** The plugin runner: phase order, sync fast path, async continuation, exits, consumer- and group-scoped instances, failures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext } from '../../../../src/core/context.ts';
import { PluginFailure, instanceFor, runAccess, runHeaderFilter, runLog } from '../../../../src/core/pipeline/runner.ts';
import type { PlanEntry, PluginInstance, PluginPlan, ScopedInstance } from '../../../../src/core/pipeline/types.ts';
import type { PluginModule } from '../../../../src/plugins/types.ts';
import { createLogger } from '../../../../src/shared/log.ts';
import { Writable } from 'node:stream';

const silent = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));

function ctx(): RequestContext {
  const req = { method: 'GET', headers: {}, rawHeaders: [] } as unknown as IncomingMessage;
  return new RequestContext(req, {} as ServerResponse, 'id', 0, { byId: () => null, byUsername: () => null, byCustomId: () => null });
}

function mod(name: string, priority: number, phases: Partial<PluginModule<any, any>>): PluginModule<any, any> {
  return { name, version: '1', priority, schema: Type.Object({}), compile: (c: unknown) => c, ...phases };
}

function inst(module: PluginModule<any, any>, conf: unknown = {}): PluginInstance {
  return { id: module.name, name: module.name, module, conf };
}

function plan(entries: PlanEntry[]): PluginPlan {
  return {
    entries,
    hasRewrite: entries.some((e) => e.module.rewrite),
    hasAccess: entries.some((e) => e.module.access),
    hasResponse: entries.some((e) => e.module.response),
    hasHeaderFilter: entries.some((e) => e.module.header_filter),
    hasBodyFilter: entries.some((e) => e.module.body_filter),
    hasLog: entries.some((e) => e.module.log),
  };
}

const entry = (
  m: PluginModule<any, any>,
  base: PluginInstance | null = inst(m),
  byConsumer: Map<string, ScopedInstance> | null = null,
  byGroup: Map<string, ScopedInstance> | null = null,
): PlanEntry => ({ module: m, base, byConsumer, byGroup });

test('synchronous plugins run in plan order and return no promise', () => {
  const order: string[] = [];
  const a = mod('a', 10, { access: () => void order.push('a') });
  const b = mod('b', 5, { access: () => void order.push('b') });
  const result = runAccess(ctx(), plan([entry(a), entry(b)]));
  assert.equal(result, undefined);
  assert.deepEqual(order, ['a', 'b']);
});

test('an async plugin suspends the chain; the rest runs after it', async () => {
  const order: string[] = [];
  const a = mod('a', 10, { access: async () => void order.push('a') });
  const b = mod('b', 5, { access: () => void order.push('b') });
  const result = runAccess(ctx(), plan([entry(a), entry(b)]));
  assert.ok(result instanceof Promise);
  await result;
  assert.deepEqual(order, ['a', 'b']);
});

test('an exit stops the chain', () => {
  const order: string[] = [];
  const a = mod('a', 10, {
    access: (c: RequestContext) => {
      c.exitStatus = 401;
      order.push('a');
    },
  });
  const b = mod('b', 5, { access: () => void order.push('b') });
  runAccess(ctx(), plan([entry(a), entry(b)]));
  assert.deepEqual(order, ['a']);
});

test('a consumer-scoped instance replaces the base once the consumer is known', () => {
  const seen: unknown[] = [];
  const auth = mod('auth', 100, {
    access: (c: RequestContext) => {
      c.consumer = { id: 'c1', username: 'alice', custom_id: null, created_at: 0, updated_at: 0, tags: null };
    },
  });
  const limit = mod('limit', 10, { access: (_c: RequestContext, conf: unknown) => void seen.push(conf) });
  const scoped = new Map([['c1', { instance: inst(limit, { per: 'consumer' }), rank: 5 }]]);
  runAccess(ctx(), plan([entry(auth), entry(limit, inst(limit, { per: 'base' }), scoped)]));
  assert.deepEqual(seen, [{ per: 'consumer' }]);
});

test('a group-scoped instance applies to the groups an authentication set, the base to everyone else', () => {
  const limit = mod('limit', 10, {});
  const gold = inst(limit, { per: 'gold' });
  const free = inst(limit, { per: 'free' });
  const base = inst(limit, { per: 'base' });
  const e = entry(limit, base, null, new Map([['gold', { instance: gold, rank: 4 }], ['free', { instance: free, rank: 4 }]]));
  const c = ctx();
  assert.equal(instanceFor(e, c), base, 'no groups yet: the base instance');
  c.authenticatedConsumerGroups = ['gold'];
  assert.equal(instanceFor(e, c), gold);
  c.authenticatedConsumerGroups = ['silver'];
  assert.equal(instanceFor(e, c), base, 'a group without an instance of its own gets the base');
});

test('a caller in several groups: the higher-ranked instance, then the group name sorting first (Kong: alphabetical)', () => {
  const limit = mod('limit', 10, {});
  const a = inst(limit, { per: 'a' });
  const b = inst(limit, { per: 'b' });
  const bRoute = inst(limit, { per: 'b+route' });
  const c = ctx();
  c.authenticatedConsumerGroups = ['beta', 'alpha'];
  assert.equal(instanceFor(entry(limit, null, null, new Map([['beta', { instance: b, rank: 4 }], ['alpha', { instance: a, rank: 4 }]])), c), a);
  assert.equal(instanceFor(entry(limit, null, null, new Map([['beta', { instance: bRoute, rank: 8 }], ['alpha', { instance: a, rank: 4 }]])), c), bRoute);
});

test('the consumer memberships are the groups when no authentication set any; a consumer instance outranks a group-only one', () => {
  const limit = mod('limit', 10, {});
  const group = inst(limit, { per: 'group' });
  const own = inst(limit, { per: 'consumer' });
  const c = new RequestContext({ method: 'GET', headers: {}, rawHeaders: [] } as unknown as IncomingMessage, {} as ServerResponse, 'id', 0, {
    byId: () => null,
    byUsername: () => null,
    byCustomId: () => null,
    consumerGroupNames: (id) => (id === 'c1' ? ['gold'] : []),
  });
  c.consumer = { id: 'c1', username: 'alice', custom_id: null, created_at: 0, updated_at: 0, tags: null };
  const groupOnly = entry(limit, null, null, new Map([['gold', { instance: group, rank: 4 }]]));
  assert.equal(instanceFor(groupOnly, c), group);
  const both = entry(limit, null, new Map([['c1', { instance: own, rank: 5 }]]), new Map([['gold', { instance: group, rank: 4 }]]));
  assert.equal(instanceFor(both, c), own, 'Consumer › ConsumerGroup');
  const groupRoute = entry(limit, null, new Map([['c1', { instance: own, rank: 5 }]]), new Map([['gold', { instance: group, rank: 8 }]]));
  assert.equal(instanceFor(groupRoute, c), group, 'ConsumerGroup+Route › Consumer');
});

test('a throwing or rejecting plugin becomes a PluginFailure naming it', async () => {
  const boom = mod('boom', 1, {
    access: () => {
      throw new Error('x');
    },
  });
  assert.throws(() => runAccess(ctx(), plan([entry(boom)])), (e: unknown) => e instanceof PluginFailure && e.plugin === 'boom');
  const later = mod('later', 1, { access: async () => Promise.reject(new Error('y')) });
  await assert.rejects(runAccess(ctx(), plan([entry(later)])) as Promise<void>, (e: unknown) => e instanceof PluginFailure && e.plugin === 'later');
});

test('header_filter and log failures are contained: the next plugin still runs', () => {
  const order: string[] = [];
  const bad = mod('bad', 10, {
    header_filter: () => {
      throw new Error('x');
    },
    log: () => {
      throw new Error('y');
    },
  });
  const good = mod('good', 5, { header_filter: () => void order.push('hf'), log: () => void order.push('log') });
  const p = plan([entry(bad), entry(good)]);
  const c = ctx();
  runHeaderFilter(c, p, silent);
  runLog(c, p, silent);
  assert.deepEqual(order, ['hf', 'log']);
});
