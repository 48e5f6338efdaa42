/**
 * Kong's `queue` configuration record (kong/tools/queue_schema.lua, exposed
 * as `typedefs.queue`) and the queue parameters of one plugin instance
 * (Kong's Queue.get_plugin_params: the record, the queue's name and log tag,
 * and the deprecated fields Kong 3.x still translates). The queue itself is
 * queue.ts.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { OneOf } from '../schema/typedefs.ts';

/** Kong's `queue` record (typedefs.queue), names, bounds and defaults as in Kong 3.9.3. */
export const queueSchema = Type.Object(
  {
    max_batch_size: Type.Integer({ default: 1, minimum: 1, maximum: 1_000_000, description: 'Maximum number of entries that can be processed at a time.' }),
    max_coalescing_delay: Type.Number({
      default: 1,
      minimum: 0,
      maximum: 3600,
      description: 'Maximum number of (fractional) seconds to elapse after the first entry was queued before the queue starts calling the handler.',
    }),
    max_entries: Type.Integer({ default: 10000, minimum: 1, maximum: 1_000_000, description: 'Maximum number of entries that can be waiting on the queue.' }),
    max_bytes: Type.Union([Type.Integer(), Type.Null()], { default: null, description: 'Maximum number of bytes that can be waiting on a queue, requires string content.' }),
    max_retry_time: Type.Number({ default: 60, description: 'Time in seconds before the queue gives up calling a failed handler for a batch.' }),
    initial_retry_delay: Type.Number({
      default: 0.01,
      minimum: 0.001,
      maximum: 1_000_000,
      description: 'Time in seconds before the initial retry is made for a failing batch.',
    }),
    max_retry_delay: Type.Number({ default: 60, minimum: 0.001, maximum: 1_000_000, description: 'Maximum time in seconds between retries, caps exponential backoff.' }),
    concurrency_limit: OneOf([1, -1] as const, { default: 1, description: 'The number of of queue delivery timers. -1 indicates unlimited.' }),
  },
  { additionalProperties: false, default: {} },
);

export type QueueConfig = Static<typeof queueSchema>;

/** A queue's configuration as enqueue() takes it: the record plus Kong's `name` and `log_tag`. */
export interface QueueParams extends QueueConfig {
  /** Queue key (Kong's queue_conf.name). */
  readonly name: string;
  /** Identifies the plugin instance in log lines: "<plugin> plugin <id>[ (<instance name>)]". */
  readonly log_tag: string;
}

/** Kong's MIN_WARNING_INTERVAL_SECONDS for legacy-parameter warnings. */
const LEGACY_WARNING_INTERVAL_MS = 60_000;

/** Plugin fields Kong 3.x still accepts in place of the queue record (deprecated, removed in 4.0). */
export interface LegacyQueueFields {
  retry_count?: number | null;
  queue_size?: number | null;
  flush_timeout?: number | null;
  batch_span_count?: number | null;
  batch_flush_delay?: number | null;
}

const legacyWarned = new Map<string, number>();

/** For tests (queue.ts resetQueuesForTest): forget which legacy-field warnings were logged. */
export function resetLegacyWarningsForTest(): void {
  legacyWarned.clear();
}

function maybeWarn(log: Logger, name: string, message: string): void {
  const key = `${name}/${message}`;
  const t = Date.now();
  if (t - (legacyWarned.get(key) ?? -Infinity) >= LEGACY_WARNING_INTERVAL_MS) {
    log.warn(message);
    legacyWarned.set(key, t);
  }
}

/**
 * Kong's Queue.get_plugin_params(): the queue parameters of one plugin
 * instance — its `queue` record, named `queueName` (else the plugin id), with
 * the legacy fields translated (warned about at most once a minute per queue).
 */
export function getPluginParams(
  plugin: { name: string; id: string; instanceName?: string | null },
  config: { queue: QueueConfig } & LegacyQueueFields,
  queueName: string | null,
  log: Logger,
): QueueParams {
  const tag = `${plugin.name} plugin ${plugin.id}${plugin.instanceName ? ` (${plugin.instanceName})` : ''}`;
  const q: { -readonly [K in keyof QueueParams]: QueueParams[K] } = { ...config.queue, name: queueName ?? plugin.id, log_tag: tag };
  if (config.retry_count != null && config.retry_count !== 10) {
    maybeWarn(log, q.name, 'the retry_count parameter no longer works, please update your configuration to use initial_retry_delay and max_retry_time instead');
  }
  if (config.queue_size != null && config.queue_size !== 1) {
    q.max_batch_size = config.queue_size;
    maybeWarn(log, q.name, 'the queue_size parameter is deprecated, please update your configuration to use queue.max_batch_size instead');
  }
  if (config.flush_timeout != null && config.flush_timeout !== 2) {
    q.max_coalescing_delay = config.flush_timeout;
    maybeWarn(log, q.name, 'the flush_timeout parameter is deprecated, please update your configuration to use queue.max_coalescing_delay instead');
  }
  if (config.batch_span_count != null && config.batch_span_count !== 200) {
    q.max_batch_size = config.batch_span_count;
    maybeWarn(log, q.name, 'the batch_span_count parameter is deprecated, please update your configuration to use queue.max_batch_size instead');
  }
  if (config.batch_flush_delay != null && config.batch_flush_delay !== 3) {
    q.max_coalescing_delay = config.batch_flush_delay;
    maybeWarn(log, q.name, 'the batch_flush_delay parameter is deprecated, please update your configuration to use queue.max_coalescing_delay instead');
  }
  return Object.freeze(q);
}
