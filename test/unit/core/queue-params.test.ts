/**
 * Kong's `queue` record (kong/tools/queue_schema.lua: defaults and bounds as
 * in Kong 3.9.3) and Queue.get_plugin_params (the queue's name and log tag,
 * the deprecated fields translated and warned about at most once a minute),
 * src/core/queue-params.ts. Date is node:test's mock clock.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Value } from '@sinclair/typebox/value';
import { compile } from '../../../src/schema/ajv.ts';
import { captureLogs } from '../../helpers/log-capture.ts';
import { getPluginParams, queueSchema, resetLegacyWarningsForTest, type QueueConfig } from '../../../src/core/queue-params.ts';

const DEFAULTS: QueueConfig = Value.Default(queueSchema, {}) as QueueConfig;

let capture: ReturnType<typeof captureLogs>;
let log: pino.Logger;

beforeEach(() => {
  resetLegacyWarningsForTest();
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  capture = captureLogs();
  log = pino({ level: 'debug' }, capture.stream);
});

afterEach(() => {
  mock.timers.reset();
});

describe('queue record', () => {
  it('has Kong 3.9.3 defaults', () => {
    assert.deepEqual(DEFAULTS, {
      max_batch_size: 1,
      max_coalescing_delay: 1,
      max_entries: 10000,
      max_bytes: null,
      max_retry_time: 60,
      initial_retry_delay: 0.01,
      max_retry_delay: 60,
      concurrency_limit: 1,
    });
  });

  it('refuses Kong-invalid values', () => {
    const validate = compile(queueSchema);
    const Value = { Check: (_s: unknown, v: unknown) => validate(structuredClone(v)) };
    assert.equal(Value.Check(queueSchema, { ...DEFAULTS, concurrency_limit: 2 }), false);
    assert.equal(Value.Check(queueSchema, { ...DEFAULTS, max_batch_size: 0 }), false);
    assert.equal(Value.Check(queueSchema, { ...DEFAULTS, max_coalescing_delay: 3601 }), false);
    assert.equal(Value.Check(queueSchema, { ...DEFAULTS, initial_retry_delay: 0 }), false);
    assert.equal(Value.Check(queueSchema, { ...DEFAULTS, name: 'x' }), false);
    assert.equal(Value.Check(queueSchema, { ...DEFAULTS, concurrency_limit: -1, max_bytes: 100 }), true);
  });
});

describe('getPluginParams', () => {
  it('names the queue and tags its lines as Kong does', () => {
    const p = getPluginParams({ name: 'http-log', id: 'abc', instanceName: 'audit' }, { queue: DEFAULTS }, 'http://x:POST', log);
    assert.equal(p.name, 'http://x:POST');
    assert.equal(p.log_tag, 'http-log plugin abc (audit)');
    assert.equal(getPluginParams({ name: 'http-log', id: 'abc' }, { queue: DEFAULTS }, null, log).name, 'abc');
  });

  it('translates the deprecated queue_size and flush_timeout and warns once a minute', () => {
    const conf = { queue: DEFAULTS, queue_size: 5, flush_timeout: 7, retry_count: 3 };
    const p = getPluginParams({ name: 'http-log', id: 'abc' }, conf, 'n', log);
    assert.equal(p.max_batch_size, 5);
    assert.equal(p.max_coalescing_delay, 7);
    getPluginParams({ name: 'http-log', id: 'abc' }, conf, 'n', log);
    assert.equal(capture.logs.find('queue_size parameter is deprecated').length, 1);
    assert.equal(capture.logs.find('retry_count parameter no longer works').length, 1);
    mock.timers.tick(60_000);
    getPluginParams({ name: 'http-log', id: 'abc' }, conf, 'n', log);
    assert.equal(capture.logs.find('flush_timeout parameter is deprecated').length, 2);
  });

  it('keeps the queue record when the legacy fields hold their old defaults', () => {
    const p = getPluginParams({ name: 'http-log', id: 'abc' }, { queue: { ...DEFAULTS, max_batch_size: 9 }, queue_size: 1, flush_timeout: 2, retry_count: 10 }, 'n', log);
    assert.equal(p.max_batch_size, 9);
    assert.equal(p.max_coalescing_delay, 1);
    assert.equal(capture.logs.lines.length, 0);
  });
});
