/**
 * The spans of one request (Kong's ngx.ctx.KONG_SPANS and its tracing
 * context, kong/pdk/tracing.lua + kong/observability/tracing/). A
 * RequestTrace exists only when a configuration holds a plugin that reads
 * traces (PluginModule.readsTraces) — otherwise `ctx.trace` stays null and
 * the request path pays one null check per instrumented step.
 *
 * Times are performance.now() milliseconds (converted to Unix nanoseconds
 * only when a sampled span is encoded). Every span of a trace shares the
 * trace's id, which propagation may replace with the caller's (Kong's
 * tracing_context.set_raw_trace_id), so spans read it from the trace.
 */
import { performance } from 'node:perf_hooks';
import { AsyncLocalStorage } from 'node:async_hooks';
import { newSpanId, newTraceId } from './ids.ts';
import { INSTRUMENT } from './instrumentations.ts';

/** OTLP Span.SpanKind. */
export const SPAN_KIND = Object.freeze({ internal: 1, server: 2, client: 3 });
/** OTLP Status.StatusCode. */
export const SPAN_STATUS = Object.freeze({ unset: 0, ok: 1, error: 2 });

export type AttributeValue = string | number | boolean;

export interface SpanEvent {
  readonly name: string;
  readonly time: number;
  readonly attributes: Readonly<Record<string, AttributeValue>> | null;
}

export class Span {
  readonly trace: RequestTrace;
  readonly name: string;
  readonly kind: number;
  spanId: string;
  /** Hex span id of the parent, or null for a root without a remote parent. */
  parentId: string | null;
  readonly start: number;
  /** 0 while open. */
  end: number;
  attributes: Record<string, AttributeValue> | null;
  status: number;
  events: SpanEvent[] | null;

  constructor(trace: RequestTrace, name: string, kind: number, parentId: string | null, start: number) {
    this.trace = trace;
    this.name = name;
    this.kind = kind;
    this.spanId = newSpanId();
    this.parentId = parentId;
    this.start = start;
    this.end = 0;
    this.attributes = null;
    this.status = 0;
    this.events = null;
  }

  setAttribute(key: string, value: AttributeValue): void {
    (this.attributes ??= {})[key] = value;
  }

  /** Kong's span:record_error(): an `exception` event. */
  recordError(message: string): void {
    (this.events ??= []).push({ name: 'exception', time: performance.now(), attributes: { 'exception.message': message } });
  }

  finish(at: number = performance.now()): void {
    if (this.end === 0) this.end = at;
  }
}

const BOUND_MAX = 2 ** 64;

/**
 * Kong's trace-id based sampler (kong/pdk/tracing.lua): the first 8 bytes of
 * the trace id, read as the machine's uint64 (little-endian), below
 * rate × 2^64. Rate ≥ 1 always, ≤ 0 never.
 */
export function sampleByRate(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  let v = 0;
  for (let i = 7; i >= 0; i--) v = v * 256 + parseInt(traceId.substr(i * 2, 2), 16);
  return v < rate * BOUND_MAX;
}

const pluginSpanNames = new Map<string, string>();

/** Kong's names: kong.<phase>.plugin.<name> (memoised, as Kong's plugin_callback). */
export function pluginSpanName(phase: string, plugin: string): string {
  const key = phase + '\0' + plugin;
  let name = pluginSpanNames.get(key);
  if (name === undefined) {
    name = `kong.${phase}.plugin.${plugin}`;
    pluginSpanNames.set(key, name);
  }
  return name;
}

export class RequestTrace {
  /** Instrumentation mask (instrumentations.ts); 0: propagation only, nothing recorded but the root. */
  readonly mask: number;
  /** 32 hex digits. */
  traceId: string;
  readonly spans: Span[];
  /** The request span (`kong`, kind server). */
  readonly root: Span;
  /** Kong's `kong.propagation_only`: tracing is off, the root exists only to carry ids; never sampled. */
  readonly propagationOnly: boolean;
  /** Are the spans exported? The tracer's decision at the start, a plugin's after its access phase. */
  sampled: boolean;
  /** Trace flags to propagate (W3C flags of the caller | sampled). */
  flags: number;
  /** Kong's pre-created balancer span: its id is the parent the upstream sees; the last try adopts it. */
  balancerSpan: Span | null;
  /** The current (or last) balancer try, recorded by the exchange. */
  lastTry: Span | null;
  tries: number;

  /** `samplingRate`: tracing_sampling_rate, the decision until a plugin makes its own (Kong's tracer sampler). */
  constructor(mask: number, start: number, samplingRate: number) {
    this.mask = mask;
    this.traceId = newTraceId();
    this.spans = [];
    this.propagationOnly = mask === 0;
    this.root = new Span(this, 'kong', SPAN_KIND.server, null, start);
    this.spans.push(this.root);
    this.sampled = mask === 0 ? false : sampleByRate(this.traceId, samplingRate);
    this.flags = 0;
    this.balancerSpan = null;
    this.lastTry = null;
    this.tries = 0;
  }

  /** Is this instrumentation on? */
  wants(bit: number): boolean {
    return (this.mask & bit) !== 0;
  }

  /** Start a recorded span, a child of `parent` (the root by default). */
  startSpan(name: string, kind: number = SPAN_KIND.internal, parent: Span = this.root, start: number = performance.now()): Span {
    const span = new Span(this, name, kind, parent.spanId, start);
    this.spans.push(span);
    return span;
  }

  /** Kong's precreate_balancer_span: made during propagation, recorded only if an upstream try happens. */
  precreateBalancerSpan(): Span | null {
    if (!this.wants(INSTRUMENT.balancer)) return null;
    return (this.balancerSpan ??= new Span(this, 'kong.balancer', SPAN_KIND.client, this.root.spanId, 0));
  }

  /**
   * One upstream try begins (Kong's balancer instrumentation, one
   * `kong.balancer` span per try): a try still open failed.
   */
  startTry(at: number, ip: string, port: number, hostname: string): void {
    const prev = this.lastTry;
    if (prev !== null && prev.end === 0) {
      prev.status = SPAN_STATUS.error;
      prev.finish(at);
    }
    const span = this.startSpan('kong.balancer', SPAN_KIND.client, this.root, at);
    span.setAttribute('try_count', ++this.tries);
    span.setAttribute('net.peer.ip', ip);
    span.setAttribute('net.peer.port', port);
    span.setAttribute('net.peer.name', hostname);
    this.lastTry = span;
  }

  /** The current try failed (Kong: try.state set, http.status_code = the try's code, status error). */
  failTry(status: number, at: number = performance.now()): void {
    const span = this.lastTry;
    if (span === null || span.end !== 0) return;
    if (status !== 0) span.setAttribute('http.status_code', status);
    span.status = SPAN_STATUS.error;
    span.finish(at);
  }

  /**
   * The request is over (Kong's runloop_log_before): the last try takes the
   * pre-created balancer span's id (the id the upstream was told), open
   * spans end now.
   */
  finish(at: number): void {
    const last = this.lastTry;
    if (last !== null && this.balancerSpan !== null) last.spanId = this.balancerSpan.spanId;
    const spans = this.spans;
    for (let i = 0; i < spans.length; i++) spans[i]!.finish(at);
  }
}

/**
 * The span a plugin phase runs under (set only while a traced plugin phase
 * runs), so an outbound call the plugin makes — the openid-connect plugin's
 * IdP requests — is recorded as its child (Kong's http_client
 * instrumentation, `kong.internal.request`).
 */
export const activeSpan = new AsyncLocalStorage<Span>();

/** Start a `kong.internal.request` span under the active plugin span, or null when not tracing HTTP clients. */
export function startClientSpan(method: string, url: string, userAgent: string): Span | null {
  const parent = activeSpan.getStore();
  if (parent === undefined) return null;
  const trace = parent.trace;
  if (!trace.wants(INSTRUMENT.http_client)) return null;
  const span = trace.startSpan('kong.internal.request', SPAN_KIND.client, parent);
  span.setAttribute('http.url', url);
  span.setAttribute('http.method', method);
  span.setAttribute('http.flavor', '1.1');
  span.setAttribute('http.user_agent', userAgent);
  return span;
}
