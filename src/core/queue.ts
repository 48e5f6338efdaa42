/**
 * Kong's plugin queue (kong/tools/queue.lua, Kong Gateway 3.9.3). Its `queue`
 * configuration record and a plugin's queue parameters are queue-params.ts
 * (re-exported here).
 *
 * Entries are queued by the log phase and handed to a handler in batches by a
 * background loop, so a request never waits for a log server:
 * - a batch is sent as soon as `max_batch_size` entries are waiting, or
 *   `max_coalescing_delay` seconds after its first entry was taken;
 * - a failed batch is retried after `initial_retry_delay` seconds, doubled per
 *   retry and capped at `max_retry_delay`, until `max_retry_time` seconds have
 *   passed since its first attempt; then it is dropped with an error line
 *   (`max_retry_time` -1: never retried);
 * - at most `max_entries` entries (and, if set, `max_bytes` bytes of string
 *   entries) wait; beyond that the oldest are dropped, as Kong does;
 * - `concurrency_limit` 1 sends one batch at a time; -1 sends every entry on
 *   its own, at once, without queueing.
 *
 * Queues are per worker process, as Kong's (a queue lives in one nginx
 * worker's Lua VM). They are keyed by name; `getPluginParams` names them as
 * Kong does (the plugin's own queue name, else the plugin instance id), so two
 * plugin instances with the same log server share one queue. A queue exists
 * while it holds entries; the latest handler (and with it the latest plugin
 * configuration) that enqueued is the one that sends, as in Kong.
 *
 * Where Kong logs on every dropped entry ("queue full, dropping old
 * entries…"), we log the first drop with Kong's words and then at most one
 * line per DROP_LOG_INTERVAL_MS counting the entries dropped since, plus one
 * when processing resumes: a log server down under load must not turn into
 * one error line per request.
 */
import { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import { onShutdown } from './shutdown.ts';
import { resetLegacyWarningsForTest, type QueueParams } from './queue-params.ts';

// The queue record and a plugin's queue parameters (queue-params.ts), re-exported: plugins take the queue's whole API from here.
export { getPluginParams, queueSchema, type LegacyQueueFields, type QueueConfig, type QueueParams } from './queue-params.ts';

/** Sends one batch; a rejected promise (or a thrown error) is a failure, retried by the queue. */
export type QueueHandler<T> = (entries: T[]) => Promise<void>;

/** Kong's CAPACITY_WARNING_THRESHOLD. */
const CAPACITY_WARNING_THRESHOLD = 0.8;
/** Kong's COALESCE_MIN_TIME (s): with less budget left, the batch is sent without waiting further. */
const COALESCE_MIN_TIME = 0.05;
/** At most one "entries dropped" line per this interval while a queue keeps dropping. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Wall-clock seconds; Date.now so node:test's mock.timers can drive it. */
function now(): number {
  return Date.now() / 1000;
}

function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

function byteSize(entry: unknown): number | null {
  return typeof entry === 'string' ? Buffer.byteLength(entry) : null;
}

class Queue<T> {
  readonly key: string;
  params: QueueParams;
  handler: QueueHandler<T>;
  log: Logger;
  /** Entries from `front` to the end of `entries` are waiting (indices, not shift(): O(1) per take). */
  private entries: T[] = [];
  private front = 0;
  bytesQueued = 0;
  private warned = false;
  /** Entries dropped since the last drop line, and when that line was written. */
  private dropped = 0;
  private droppedTotal = 0;
  private lastDropLog = 0;
  /** Wakes the coalescing wait when an entry arrives. */
  private wake: (() => void) | null = null;
  /** Resolves when the loop has emptied the queue. */
  readonly done: Promise<void>;

  constructor(key: string, params: QueueParams, handler: QueueHandler<T>, log: Logger) {
    this.key = key;
    this.params = params;
    this.handler = handler;
    this.log = log;
    this.done = Promise.resolve().then(() => this.run());
  }

  count(): number {
    return this.entries.length - this.front;
  }

  private line(): string {
    return `[${this.params.log_tag}] queue ${this.params.name}: `;
  }

  /** Kong's enqueue(): never waits; drops the oldest entries when full. Returns an error message or null. */
  enqueue(entry: T): string | null {
    const { max_entries: maxEntries, max_bytes: maxBytes } = this.params;
    const count = this.count();
    if (count >= maxEntries * CAPACITY_WARNING_THRESHOLD) {
      if (!this.warned) {
        this.log.warn(`${this.line()}queue at ${CAPACITY_WARNING_THRESHOLD * 100}% capacity`);
        this.warned = true;
      }
    } else {
      this.warned = false;
    }
    if (count >= maxEntries) {
      this.dropOldest(count - maxEntries + 1);
      this.noteDrops('queue full, dropping old entries until processing is successful again');
    }
    const size = byteSize(entry);
    if (maxBytes !== null) {
      if (size === null) {
        this.log.error(`${this.line()}queuing non-string entry to a queue that has queue.max_bytes set, capacity monitoring will not be correct`);
      } else if (size > maxBytes) {
        const msg = `string to be queued is longer (${size} bytes) than the queue's max_bytes (${maxBytes} bytes)`;
        this.log.error(`${this.line()}${msg}`);
        return msg;
      } else if (this.bytesQueued + size > maxBytes) {
        while (this.bytesQueued + size > maxBytes && this.count() > 0) this.dropOldest(1);
        this.noteDrops('byte capacity exceeded, dropping old entries until processing is successful again');
      }
      if (size !== null) this.bytesQueued += size;
    }
    this.entries.push(entry);
    this.wakeNow();
    return null;
  }

  private dropOldest(n: number): void {
    for (let i = 0; i < n && this.count() > 0; i++) {
      this.release(this.entries[this.front] as T);
      this.front++;
      this.dropped++;
      this.droppedTotal++;
    }
    this.compact();
  }

  private release(entry: T): void {
    if (this.params.max_bytes !== null) {
      const size = byteSize(entry);
      if (size !== null) this.bytesQueued -= size;
    }
  }

  private compact(): void {
    if (this.front === this.entries.length) {
      this.entries = [];
      this.front = 0;
    } else if (this.front > 1024 && this.front * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.front);
      this.front = 0;
    }
  }

  private noteDrops(kongMessage: string): void {
    const t = Date.now();
    if (this.lastDropLog === 0) {
      this.log.error(`${this.line()}${kongMessage}`);
      this.lastDropLog = t;
      this.dropped = 0;
    } else if (t - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
      this.log.error(`${this.line()}queue full, ${this.dropped} more entries were dropped`);
      this.lastDropLog = t;
      this.dropped = 0;
    }
  }

  private take(n: number): T[] {
    const batch = this.entries.slice(this.front, this.front + n);
    for (const e of batch) this.release(e);
    this.front += batch.length;
    this.compact();
    return batch;
  }

  /** Ends a coalescing wait now (shutdown). */
  wakeNow(): void {
    const wake = this.wake;
    if (wake !== null) {
      this.wake = null;
      wake();
    }
  }

  /** Waits for an entry or `seconds`, whichever comes first. */
  private waitForEntry(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, seconds * 1000);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Kong's timer loop: one batch at a time while entries wait; the queue is forgotten when empty. */
  private async run(): Promise<void> {
    try {
      while (this.count() > 0) await this.processOnce();
    } finally {
      queues.delete(this.key);
    }
  }

  /** Kong's process_once(): coalesce a batch, then hand it to handle(). */
  private async processOnce(): Promise<void> {
    const started = now();
    for (;;) {
      if (this.count() >= this.params.max_batch_size) break;
      const left = this.params.max_coalescing_delay - (now() - started);
      if (left < COALESCE_MIN_TIME || draining) break;
      await this.waitForEntry(left);
    }
    const batch = this.take(Math.min(this.count(), this.params.max_batch_size));
    if (this.lastDropLog !== 0) {
      this.log.info(`${this.line()}queue resumed processing${this.dropped > 0 ? `, ${this.dropped} more entries were dropped` : ''} (${this.droppedTotal} dropped in all)`);
      this.lastDropLog = 0;
      this.dropped = 0;
      this.droppedTotal = 0;
    }
    await handle(this, batch);
  }
}

/** Kong's handle(): call the handler, retrying with exponential back-off until max_retry_time. */
async function handle<T>(queue: Pick<Queue<T>, 'params' | 'handler' | 'log'>, batch: T[]): Promise<void> {
  const start = now();
  let retry = 0;
  for (;;) {
    const prefix = `[${queue.params.log_tag}] queue ${queue.params.name}: `;
    try {
      await queue.handler(batch);
      return;
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err ?? 'no error details returned by handler');
      queue.log.warn(`${prefix}handler could not process entries: ${detail}`);
    }
    if (now() - start > queue.params.max_retry_time) {
      queue.log.error(`${prefix}could not send entries due to max_retry_time exceeded. ${batch.length} queue entries were lost`);
      return;
    }
    await sleep(Math.min(queue.params.max_retry_delay, 2 ** retry * queue.params.initial_retry_delay));
    retry++;
  }
}

const queues = new Map<string, Queue<unknown>>();
/** Set while the process shuts down: batches are sent without waiting to coalesce (Kong: ngx.worker.exiting()). */
let draining = false;

/**
 * Kong's Queue.enqueue(): add `entry` to the queue `params.name`, creating it
 * (and its sending loop) when it does not exist. Never waits. Returns null, or
 * the reason the entry was refused (it is then logged too).
 */
export function enqueue<T>(params: QueueParams, handler: QueueHandler<T>, entry: T, log: Logger): string | null {
  if (params.concurrency_limit === -1) {
    // Unlimited concurrency: no queue, every entry handled on its own right away.
    void handle({ params, handler, log }, [entry]);
    return null;
  }
  let queue = queues.get(params.name) as Queue<T> | undefined;
  if (queue === undefined) {
    queue = new Queue<T>(params.name, params, handler, log);
    queues.set(params.name, queue as Queue<unknown>);
  } else {
    // Kong: "We always use the latest configuration that we have seen for a queue and handler."
    queue.handler = handler;
    queue.log = log;
    queue.params = params;
  }
  return queue.enqueue(entry);
}

/** Entries waiting on the queue `name` (0 when it does not exist). */
export function queueLength(name: string): number {
  return queues.get(name)?.count() ?? 0;
}

/** Does a queue named `name` exist (hold entries or a batch being sent)? Kong's Queue.exists. */
export function queueExists(name: string): boolean {
  return queues.has(name);
}

/**
 * At shutdown: stop coalescing and send what is queued, waiting at most
 * `timeoutMs`. Batches still failing then are left (the process is exiting).
 */
export async function drainQueues(timeoutMs: number): Promise<void> {
  draining = true;
  for (const q of queues.values()) q.wakeNow();
  const all = Promise.all([...queues.values()].map((q) => q.done));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([all, timeout]);
  clearTimeout(timer);
}

/** How long a stopping worker keeps sending queued entries. */
const SHUTDOWN_DRAIN_MS = 5000;
onShutdown(() => drainQueues(SHUTDOWN_DRAIN_MS));

/** For tests: forget every queue and the shutdown flag. */
export function resetQueuesForTest(): void {
  queues.clear();
  draining = false;
  resetLegacyWarningsForTest();
}
