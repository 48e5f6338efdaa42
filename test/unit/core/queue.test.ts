/**
 * Kong's plugin queue (kong/tools/queue.lua) driven by node:test's mock
 * timers: batching by size and by coalescing delay, retries with exponential
 * back-off until max_retry_time, dropping beyond max_entries / max_bytes,
 * unlimited concurrency. The queue record and getPluginParams: queue-params.test.ts.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Value } from '@sinclair/typebox/value';
import { captureLogs } from '../../helpers/log-capture.ts';
import { drainQueues, enqueue, queueExists, queueLength, queueSchema, resetQueuesForTest, type QueueConfig, type QueueParams } from '../../../src/core/queue.ts';

const DEFAULTS: QueueConfig = Value.Default(queueSchema, {}) as QueueConfig;

function params(over: Partial<QueueParams> = {}): QueueParams {
  return { ...DEFAULTS, name: 'q', log_tag: 'test plugin 1', ...over };
}

/** Let promise chains (handler calls, loop iterations) run; setImmediate is not mocked. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

async function tick(ms: number): Promise<void> {
  await settle();
  mock.timers.tick(ms);
  await settle();
}

let capture: ReturnType<typeof captureLogs>;
let log: pino.Logger;

beforeEach(() => {
  resetQueuesForTest();
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  capture = captureLogs();
  log = pino({ level: 'debug' }, capture.stream);
});

afterEach(() => {
  mock.timers.reset();
});

describe('batching', () => {
  it('sends every entry on its own at once with max_batch_size 1', async () => {
    const batches: string[][] = [];
    for (const e of ['a', 'b', 'c']) assert.equal(enqueue(params(), async (b) => void batches.push(b), e, log), null);
    await settle();
    assert.deepEqual(batches, [['a'], ['b'], ['c']]);
    assert.equal(queueExists('q'), false, 'an empty queue is forgotten');
  });

  it('sends a batch as soon as max_batch_size entries wait', async () => {
    const batches: number[][] = [];
    const p = params({ max_batch_size: 3, max_coalescing_delay: 10 });
    for (let i = 0; i < 7; i++) enqueue(p, async (b: number[]) => void batches.push(b), i, log);
    await settle();
    assert.deepEqual(batches, [[0, 1, 2], [3, 4, 5]], 'two full batches without waiting');
    await tick(9_900);
    assert.equal(batches.length, 2, 'the partial batch waits for the coalescing delay');
    await tick(100);
    assert.deepEqual(batches[2], [6]);
  });

  it('sends a partial batch max_coalescing_delay after its first entry', async () => {
    const batches: string[][] = [];
    const p = params({ max_batch_size: 100, max_coalescing_delay: 1 });
    const h = async (b: string[]) => void batches.push(b);
    enqueue(p, h, 'a', log);
    await tick(600);
    enqueue(p, h, 'b', log);
    await tick(350);
    assert.equal(batches.length, 0);
    await tick(50);
    assert.deepEqual(batches, [['a', 'b']]);
  });

  it('uses the latest handler and configuration for an existing queue', async () => {
    const seen: string[] = [];
    const p = params({ max_batch_size: 2, max_coalescing_delay: 5 });
    enqueue(p, async (b: string[]) => void seen.push(`old:${b.join()}`), 'a', log);
    enqueue(p, async (b: string[]) => void seen.push(`new:${b.join()}`), 'b', log);
    await settle();
    assert.deepEqual(seen, ['new:a,b']);
  });
});

describe('retries', () => {
  it('retries a failed batch with exponential back-off and delivers it once', async () => {
    const attempts: number[] = [];
    let fail = 3;
    const p = params({ initial_retry_delay: 1, max_retry_delay: 60, max_retry_time: 60 });
    enqueue(p, async () => {
      attempts.push(Date.now());
      if (fail-- > 0) throw new Error('connection refused');
    }, 'a', log);
    await settle();
    await tick(1000);
    await tick(2000);
    await tick(4000);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    assert.deepEqual(gaps, [1000, 2000, 4000]);
    await tick(60_000);
    assert.equal(attempts.length, 4, 'no attempt after success');
    assert.equal(capture.logs.find('handler could not process entries: connection refused').length, 3);
    assert.equal(capture.logs.find('queue entries were lost').length, 0);
  });

  it('caps the back-off at max_retry_delay', async () => {
    const attempts: number[] = [];
    const p = params({ initial_retry_delay: 1, max_retry_delay: 3, max_retry_time: 100 });
    enqueue(p, async () => {
      attempts.push(Date.now());
      throw new Error('down');
    }, 'a', log);
    for (let i = 0; i < 24; i++) await tick(1000);
    const gaps = attempts.slice(1, 5).map((t, i) => t - attempts[i]!);
    assert.deepEqual(gaps, [1000, 2000, 3000, 3000]);
  });

  it('drops a batch with an error line once max_retry_time has passed', async () => {
    let attempts = 0;
    const p = params({ max_batch_size: 2, max_coalescing_delay: 0, initial_retry_delay: 1, max_retry_delay: 1, max_retry_time: 3 });
    const h = async () => {
      attempts++;
      throw new Error('down');
    };
    enqueue(p, h, 'a', log);
    enqueue(p, h, 'b', log);
    for (let i = 0; i < 6; i++) await tick(1000);
    const lost = capture.logs.find('could not send entries due to max_retry_time exceeded. 2 queue entries were lost');
    assert.equal(lost.length, 1);
    assert.equal(lost[0]!.level, 50, 'logged at error');
    assert.equal(attempts, 5, 'attempts at 0, 1, 2, 3 and 4 s; dropped after the one past 3 s');
    assert.equal(queueExists('q'), false);
  });

  it('never retries with max_retry_time -1', async () => {
    let attempts = 0;
    enqueue(params({ max_retry_time: -1 }), async () => {
      attempts++;
      throw new Error('down');
    }, 'a', log);
    await tick(10_000);
    assert.equal(attempts, 1);
    assert.equal(capture.logs.find('1 queue entries were lost').length, 1);
  });

  it('keeps queueing (without blocking) while a batch is being retried', async () => {
    let up = false;
    const delivered: string[] = [];
    const p = params({ initial_retry_delay: 1, max_retry_delay: 1 });
    const h = async (b: string[]) => {
      if (!up) throw new Error('down');
      delivered.push(...b);
    };
    enqueue(p, h, 'first', log);
    await settle();
    for (let i = 0; i < 5; i++) assert.equal(enqueue(p, h, `later${i}`, log), null);
    assert.equal(queueLength('q'), 5);
    up = true;
    await tick(1000);
    assert.deepEqual(delivered, ['first', 'later0', 'later1', 'later2', 'later3', 'later4'], 'each entry once, in order');
  });
});

describe('capacity', () => {
  it('drops the oldest entries beyond max_entries, warns at 80 % and logs drops without one line per entry', async () => {
    const delivered: number[] = [];
    let up = false;
    const p = params({ max_entries: 10, initial_retry_delay: 60, max_retry_delay: 60, max_retry_time: 1000 });
    const h = async (b: number[]) => {
      if (!up) throw new Error('down');
      delivered.push(...b);
    };
    enqueue(p, h, 0, log); // taken by the loop, failing
    await settle();
    for (let i = 1; i <= 100; i++) enqueue(p, h, i, log);
    assert.equal(queueLength('q'), 10);
    assert.equal(capture.logs.find('queue at 80% capacity').length, 1);
    assert.equal(capture.logs.find('queue full, dropping old entries until processing is successful again').length, 1, 'one line, not one per dropped entry');
    up = true;
    await tick(60_000);
    assert.deepEqual(delivered, [0, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    const resumed = capture.logs.find('queue resumed processing');
    assert.equal(resumed.length, 1);
    assert.match(String(resumed[0]!.msg), /90 dropped in all/);
  });

  it('drops the oldest entries beyond max_bytes and refuses an entry larger than max_bytes', async () => {
    const delivered: string[] = [];
    let up = false;
    const p = params({ max_bytes: 10, initial_retry_delay: 60, max_retry_delay: 60 });
    const h = async (b: string[]) => {
      if (!up) throw new Error('down');
      delivered.push(...b);
    };
    enqueue(p, h, 'x', log);
    await settle();
    enqueue(p, h, 'aaaa', log);
    enqueue(p, h, 'bbbb', log);
    enqueue(p, h, 'cccc', log);
    assert.equal(queueLength('q'), 2);
    assert.equal(enqueue(p, h, 'y'.repeat(11), log), "string to be queued is longer (11 bytes) than the queue's max_bytes (10 bytes)");
    assert.equal(capture.logs.find('byte capacity exceeded').length, 1);
    up = true;
    await tick(60_000);
    assert.deepEqual(delivered, ['x', 'bbbb', 'cccc']);
  });
});

describe('concurrency_limit -1', () => {
  it('handles every entry at once, in parallel, without a queue', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const p = params({ concurrency_limit: -1, max_batch_size: 10 });
    const h = async (b: string[]) => {
      assert.equal(b.length, 1);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 100));
      inFlight--;
    };
    for (let i = 0; i < 5; i++) enqueue(p, h, `e${i}`, log);
    assert.equal(queueExists('q'), false);
    await tick(100);
    assert.equal(maxInFlight, 5);
    assert.equal(inFlight, 0);
  });
});

describe('shutdown', () => {
  it('sends a partial batch at once when the process drains', async () => {
    const batches: string[][] = [];
    enqueue(params({ max_batch_size: 10, max_coalescing_delay: 30 }), async (b: string[]) => void batches.push(b), 'a', log);
    await settle();
    const drained = drainQueues(5000);
    await settle();
    await drained;
    assert.deepEqual(batches, [['a']]);
  });
});
