/** The plugin runner: phase order, sync fast path, async continuation, exits, consumer-scoped instances, failures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext } from '../../../../src/core/context.ts';
import { PluginFailure, runAccess, runHeaderFilter, runLog } from '../../../../src/core/pipeline/runner.ts';
import type { PlanEntry, PluginInstance, PluginPlan } from '../../../../src/core/pipeline/types.ts';
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

const entry = (m: PluginModule<any, any>, base: PluginInstance | null = inst(m), byConsumer: Map<string, PluginInstance> | null = null): PlanEntry => ({ module: m, base, byConsumer });

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
  const scoped = new Map([['c1', inst(limit, { per: 'consumer' })]]);
  runAccess(ctx(), plan([entry(auth), entry(limit, inst(limit, { per: 'base' }), scoped)]));
  assert.deepEqual(seen, [{ per: 'consumer' }]);
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
