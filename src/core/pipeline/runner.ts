/**
 * Runs a PluginPlan's phases over one request (Kong's phase order:
 * rewrite → access → response (buffered, when a plugin has it) → header_filter → body_filter → log).
 *
 * Hot-path rules: no closure or promise is created unless a plugin actually
 * returns a promise; the loop stops as soon as a plugin answered the request
 * (`ctx.exitStatus`, Kong's `kong.response.exit`). The instance that runs for
 * an entry is chosen at that moment (instanceFor): the consumer- or
 * group-scoped one when the consumer or groups authenticated by an earlier
 * (higher-priority) plugin have one that outranks it, else the base instance
 * (Kong's plugin precedence, see types.ts).
 *
 * An exception thrown (or a promise rejected) by a plugin in rewrite/access
 * becomes a PluginFailure naming the plugin: the caller answers 500 and logs
 * it. Failures in header_filter/body_filter/log cannot change a response that
 * is already on its way: they are logged and the next plugin runs.
 *
 * Tracing (src/core/tracing): when the request records spans for a phase
 * (Kong's plugin_rewrite / plugin_access / plugin_header_filter
 * instrumentations), the phase runs through a traced twin of its loop that
 * wraps each plugin in a `kong.<phase>.plugin.<name>` span and makes it the
 * active span for the plugin's outbound calls. The untraced loops are
 * unchanged: a request without a trace pays one field check per phase.
 */
import type { Logger } from 'pino';
import type { RequestContext } from '../context.ts';
import type { PlanEntry, PluginInstance, PluginPlan, ScopedInstance } from './types.ts';
import { INSTRUMENT } from '../tracing/instrumentations.ts';
import { activeSpan, pluginSpanName, type RequestTrace, type Span } from '../tracing/trace.ts';

type AsyncPhase = 'rewrite' | 'access' | 'response';

/** A plugin threw: which one, and what (the cause is logged, never sent). */
export class PluginFailure extends Error {
  readonly plugin: string;
  readonly phase: AsyncPhase;
  constructor(plugin: string, phase: AsyncPhase, cause: unknown) {
    super(`plugin '${plugin}' failed in ${phase}`, { cause });
    this.name = 'PluginFailure';
    this.plugin = plugin;
    this.phase = phase;
  }
}

const NO_GROUPS: readonly string[] = [];

/**
 * The consumer groups of this request, by name: those an authentication
 * established (openid-connect's `consumer_groups_claim`, Kong's
 * kong.client.set_authenticated_consumer_groups), else the authenticated
 * consumer's memberships.
 */
export function requestConsumerGroups(ctx: RequestContext): readonly string[] {
  const set = ctx.authenticatedConsumerGroups;
  if (set !== null) return set;
  const consumer = ctx.consumer;
  if (consumer === null) return NO_GROUPS;
  return ctx.consumers.consumerGroupNames?.(consumer.id) ?? NO_GROUPS;
}

/**
 * The instance of `entry` that applies to this request right now, or null:
 * the highest ranked of the authenticated consumer's instance and its
 * groups' instances (Kong's precedence, see types.ts), else the base
 * instance. Between two groups' instances of the same rank the group whose
 * name sorts first wins (Kong: "determined by the Consumer Group name, in
 * alphabetical order"). Chosen when the entry runs, so an authentication by
 * an earlier (higher-priority) plugin already counts, as Kong re-resolves
 * the plugins after authentication.
 */
export function instanceFor(entry: PlanEntry, ctx: RequestContext): PluginInstance | null {
  const byConsumer = entry.byConsumer;
  const byGroup = entry.byGroup;
  if (byConsumer === null && byGroup === null) return entry.base;
  let best: ScopedInstance | undefined;
  const consumer = ctx.consumer;
  if (consumer !== null && byConsumer !== null) best = byConsumer.get(consumer.id);
  if (byGroup !== null) {
    const groups = requestConsumerGroups(ctx);
    let bestGroup: string | null = null;
    for (let i = 0; i < groups.length; i++) {
      const name = groups[i]!;
      const scoped = byGroup.get(name);
      if (scoped === undefined) continue;
      if (best === undefined || scoped.rank > best.rank || (scoped.rank === best.rank && bestGroup !== null && name < bestGroup)) {
        best = scoped;
        bestGroup = name;
      }
    }
  }
  return best !== undefined ? best.instance : entry.base;
}

function isPromise(v: unknown): v is Promise<void> {
  return v !== undefined && v !== null && typeof (v as Promise<void>).then === 'function';
}


/**
 * Run one async-capable phase from entry `start`. Returns undefined when every
 * plugin finished synchronously, or a promise for the rest of the chain.
 */
function runFrom(ctx: RequestContext, plan: PluginPlan, phase: AsyncPhase, start: number): void | Promise<void> {
  const entries = plan.entries;
  for (let i = start; i < entries.length; i++) {
    const inst = instanceFor(entries[i]!, ctx);
    if (inst === null) continue;
    const fn = inst.module[phase];
    if (fn === undefined) continue;
    let result: void | Promise<void>;
    try {
      result = fn.call(inst.module, ctx, inst.conf);
    } catch (err) {
      throw new PluginFailure(inst.name, phase, err);
    }
    if (isPromise(result)) return continueAfter(ctx, plan, phase, i, inst.name, result);
    if (ctx.exitStatus !== 0) return;
  }
}

async function continueAfter(ctx: RequestContext, plan: PluginPlan, phase: AsyncPhase, index: number, name: string, pending: Promise<void>): Promise<void> {
  try {
    await pending;
  } catch (err) {
    throw new PluginFailure(name, phase, err);
  }
  if (ctx.exitStatus !== 0) return;
  const rest = runFrom(ctx, plan, phase, index + 1);
  if (rest !== undefined) await rest;
}

/** runFrom with a span around each plugin (the request is traced for this phase). */
function runFromTraced(ctx: RequestContext, plan: PluginPlan, phase: AsyncPhase, start: number, tr: RequestTrace): void | Promise<void> {
  const entries = plan.entries;
  for (let i = start; i < entries.length; i++) {
    const inst = instanceFor(entries[i]!, ctx);
    if (inst === null) continue;
    const fn = inst.module[phase];
    if (fn === undefined) continue;
    const span = tr.startSpan(pluginSpanName(phase, inst.name));
    let result: void | Promise<void>;
    try {
      result = activeSpan.run(span, () => fn.call(inst.module, ctx, inst.conf));
    } catch (err) {
      span.finish();
      throw new PluginFailure(inst.name, phase, err);
    }
    if (isPromise(result)) return continueAfterTraced(ctx, plan, phase, i, inst.name, result, span, tr);
    span.finish();
    if (ctx.exitStatus !== 0) return;
  }
}

async function continueAfterTraced(ctx: RequestContext, plan: PluginPlan, phase: AsyncPhase, index: number, name: string, pending: Promise<void>, span: Span, tr: RequestTrace): Promise<void> {
  try {
    await pending;
  } catch (err) {
    throw new PluginFailure(name, phase, err);
  } finally {
    span.finish();
  }
  if (ctx.exitStatus !== 0) return;
  const rest = runFromTraced(ctx, plan, phase, index + 1, tr);
  if (rest !== undefined) await rest;
}

/** Kong's rewrite phase (only global plugins run it: no route is known yet). */
export function runRewrite(ctx: RequestContext, plan: PluginPlan): void | Promise<void> {
  if (!plan.hasRewrite) return;
  const tr = ctx.trace;
  if (tr !== null && tr.wants(INSTRUMENT.plugin_rewrite)) return runFromTraced(ctx, plan, 'rewrite', 0, tr);
  return runFrom(ctx, plan, 'rewrite', 0);
}

/** Kong's access phase: authentication, authorization, request transformation. */
export function runAccess(ctx: RequestContext, plan: PluginPlan): void | Promise<void> {
  if (!plan.hasAccess) return;
  const tr = ctx.trace;
  if (tr !== null && tr.wants(INSTRUMENT.plugin_access)) return runFromTraced(ctx, plan, 'access', 0, tr);
  return runFrom(ctx, plan, 'access', 0);
}

/**
 * Kong's buffered `response` phase: the whole upstream response is on the
 * context (ctx.serviceBody). Stops after a plugin that answered (pdk.response.exit).
 */
export function runResponse(ctx: RequestContext, plan: PluginPlan): void | Promise<void> {
  if (!plan.hasResponse) return;
  return runFrom(ctx, plan, 'response', 0);
}

/** Kong's header_filter: before the response status and headers are written. */
export function runHeaderFilter(ctx: RequestContext, plan: PluginPlan, log: Logger): void {
  if (!plan.hasHeaderFilter) return;
  const tr = ctx.trace;
  const traced = tr !== null && tr.wants(INSTRUMENT.plugin_header_filter);
  const entries = plan.entries;
  for (let i = 0; i < entries.length; i++) {
    const inst = instanceFor(entries[i]!, ctx);
    if (inst === null || inst.module.header_filter === undefined) continue;
    const span = traced ? tr!.startSpan(pluginSpanName('header_filter', inst.name)) : null;
    try {
      inst.module.header_filter(ctx, inst.conf);
    } catch (err) {
      log.error({ request_id: ctx.id, plugin: inst.name, phase: 'header_filter', err }, 'plugin failed');
    }
    if (span !== null) span.finish();
  }
}

/** Kong's body_filter: each plugin transforms the chunk in turn; `eof` on the last call. */
export function runBodyFilter(ctx: RequestContext, plan: PluginPlan, chunk: Buffer, eof: boolean, log: Logger): Buffer {
  const entries = plan.entries;
  for (let i = 0; i < entries.length; i++) {
    const inst = instanceFor(entries[i]!, ctx);
    if (inst === null || inst.module.body_filter === undefined) continue;
    try {
      chunk = inst.module.body_filter(ctx, inst.conf, chunk, eof);
    } catch (err) {
      log.error({ request_id: ctx.id, plugin: inst.name, phase: 'body_filter', err }, 'plugin failed');
    }
  }
  return chunk;
}

/** Kong's log phase: after the last byte was sent. */
export function runLog(ctx: RequestContext, plan: PluginPlan, log: Logger): void {
  if (!plan.hasLog) return;
  const entries = plan.entries;
  for (let i = 0; i < entries.length; i++) {
    const inst = instanceFor(entries[i]!, ctx);
    if (inst === null || inst.module.log === undefined) continue;
    try {
      inst.module.log(ctx, inst.conf);
    } catch (err) {
      log.error({ request_id: ctx.id, plugin: inst.name, phase: 'log', err }, 'plugin failed');
    }
  }
}
