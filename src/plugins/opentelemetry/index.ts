/**
 * opentelemetry (Kong's kong/plugins/opentelemetry, 3.9.3, PRIORITY 14):
 * propagates trace context to the upstream and exports the request's spans
 * to an OTLP/HTTP collector in protobuf.
 *
 * - access: extract the caller's context (propagation.extract, first format
 *   found), adopt its trace id and parent, decide sampling (the caller's
 *   "not sampled" wins; otherwise sampling_rate, else tracing_sampling_rate,
 *   over the trace id — Kong's get_sampling_decision), clear, then inject
 *   our context upstream: the parent the upstream sees is the balancer span
 *   when balancer spans are recorded, else the request span.
 * - header_filter: http_response_header_for_traceid.
 * - log: every span of a sampled trace is encoded (otlp.ts) and queued
 *   (src/core/queue.ts, Kong's queue named "<queue name or plugin id>:traces");
 *   the queue sends batches of up to queue.max_batch_size spans.
 *
 * Spans are recorded by the core (src/core/tracing) when kong.conf
 * `tracing_instrumentations` is not `off` — Kong's default is off, and then
 * this plugin only propagates headers (Kong's "propagation only" root span,
 * never sampled), exactly as Kong does.
 *
 * Why our own encoder instead of @opentelemetry/sdk-trace-base + the OTLP
 * proto exporter: docs/plugins/opentelemetry.md, "Encoder" (measured).
 */
import type { Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import { enqueue, getPluginParams, type QueueHandler, type QueueParams } from '../../core/queue.ts';
import { RequestTrace, sampleByRate } from '../../core/tracing/trace.ts';
import { KONG_COMPAT_VERSION, VERSION } from '../../version.ts';
import { nodeId } from '../../core/node-id.ts';
import { addHeader } from '../../pdk/response.ts';
import { clearHeader, setHeader } from '../../pdk/service-request.ts';
import type { PluginModule } from '../types.ts';
import { exportRequest, type ExportTarget } from './exporter.ts';
import { encodeResource, encodeSpan, encodeTraces } from './otlp.ts';
import { extract, injectHeaders, type Extractor, type Format, type InjectContext } from './propagation.ts';
import { check, schema, type OpenTelemetryConfig } from './schema.ts';

type Inject = 'preserve' | Format;

export interface CompiledOpenTelemetry {
  readonly target: ExportTarget;
  readonly queue: QueueParams;
  readonly handler: QueueHandler<Buffer>;
  readonly samplingRate: number;
  readonly extract: readonly Extractor[];
  readonly clear: readonly string[];
  readonly inject: readonly Inject[];
  readonly defaultFormat: Format;
  readonly responseHeader: string | null;
  readonly log: Logger;
}

/** The extractors Kong's legacy header_type implies (get_plugin_params' hard-coded order). */
const LEGACY_EXTRACT: readonly Extractor[] = ['b3', 'w3c', 'jaeger', 'ot', 'datadog', 'aws', 'gcp'];

/**
 * Kong's propagation.get_plugin_params: the propagation record as it is when
 * any of extract / inject / clear is set; otherwise the deprecated
 * header_type decides (its default, preserve: extract every format, inject
 * the one found).
 */
export function propagationParams(config: OpenTelemetryConfig): { extract: Extractor[]; clear: string[]; inject: Inject[]; defaultFormat: Format } {
  const p = config.propagation;
  const defaultFormat = p.default_format;
  if ((p.extract != null) || (p.inject != null) || (p.clear != null)) {
    return { extract: [...(p.extract ?? [])], clear: (p.clear ?? []).map((h) => h.toLowerCase()), inject: [...(p.inject ?? [])], defaultFormat };
  }
  const ht = config.header_type;
  if (ht === 'preserve') return { extract: [...LEGACY_EXTRACT], clear: [], inject: ['preserve'], defaultFormat };
  if (ht === 'ignore') return { extract: [], clear: [], inject: [defaultFormat], defaultFormat };
  return { extract: [...LEGACY_EXTRACT], clear: [], inject: ['preserve', ht], defaultFormat };
}

function compile(config: OpenTelemetryConfig, env: Parameters<PluginModule['compile']>[1]): CompiledOpenTelemetry {
  const endpoint = config.endpoint ?? config.traces_endpoint;
  if (endpoint == null) throw new Error('traces_endpoint is required');
  const headers: Record<string, string> = { ...(config.headers ?? {}) };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/x-protobuf';
  const resource = encodeResource({
    'service.name': 'kong',
    'service.instance.id': nodeId(),
    'service.version': KONG_COMPAT_VERSION,
    ...(config.resource_attributes ?? {}),
  });
  const target: ExportTarget = {
    url: new URL(endpoint),
    headers,
    connectTimeout: config.connect_timeout,
    sendTimeout: config.send_timeout,
    readTimeout: config.read_timeout,
  };
  const params = getPluginParams({ name: 'opentelemetry', id: env.pluginId }, config, null, env.log);
  const queue: QueueParams = Object.freeze({ ...params, name: params.name + ':traces' });
  const log = env.log;
  const handler: QueueHandler<Buffer> = async (spans) => {
    await exportRequest(target, encodeTraces(resource, spans));
    if (log.isLevelEnabled('debug')) log.debug(`[otel] exporter sent ${spans.length} spans to ${target.url.origin}${target.url.pathname}`);
  };
  const prop = propagationParams(config);
  return Object.freeze({
    target,
    queue,
    handler,
    samplingRate: config.sampling_rate ?? env.settings.tracingSamplingRate ?? 0.01,
    extract: prop.extract,
    clear: prop.clear,
    inject: prop.inject,
    defaultFormat: prop.defaultFormat,
    responseHeader: config.http_response_header_for_traceid ?? null,
    log,
  });
}

/** Kong's traces.access: propagation.propagate with get_inject_ctx. */
function access(ctx: RequestContext, conf: CompiledOpenTelemetry): void {
  let trace = ctx.trace;
  if (trace === null) {
    // Tracing is off: a root that only carries ids (Kong's kong.propagation_only), never sampled.
    trace = new RequestTrace(0, ctx.startedAt, 0);
    ctx.trace = trace;
  }
  const { context: ext, from } = extract(ctx.req.headers, conf.extract, conf.log);
  const root = trace.root;
  const parent = trace.precreateBalancerSpan() ?? root;
  if (ext.traceId !== null) trace.traceId = ext.traceId;
  if (ext.spanId !== null) root.parentId = ext.spanId;
  else if (ext.parentId !== null) root.parentId = ext.parentId;

  let sampled: boolean;
  if (trace.propagationOnly || ext.shouldSample === false) sampled = false;
  else sampled = sampleByRate(trace.traceId, conf.samplingRate);
  trace.sampled = sampled;

  for (const name of conf.clear) clearHeader(ctx, name);

  if (conf.inject.length === 0) return;
  const out: InjectContext = {
    traceId: trace.traceId,
    traceIdOriginalSize: ext.traceIdOriginalSize,
    spanId: parent.spanId,
    parentId: parent.parentId,
    shouldSample: sampled,
    flags: ext.flags,
    baggage: ext.baggage,
  };
  for (const inj of conf.inject) {
    let format: Format;
    if (inj === 'preserve') {
      format = from ?? conf.defaultFormat;
      if (format === 'b3' && ext.singleHeader) format = 'b3-single';
    } else {
      format = inj;
    }
    const headers = injectHeaders(format, out);
    for (const name in headers) setHeader(ctx, name, headers[name]!);
  }
}

function header_filter(ctx: RequestContext, conf: CompiledOpenTelemetry): void {
  if (conf.responseHeader === null || ctx.trace === null) return;
  addHeader(ctx, conf.responseHeader, ctx.trace.traceId);
}

/** Kong's traces.log: queue every span of a sampled trace. */
function log(ctx: RequestContext, conf: CompiledOpenTelemetry): void {
  const trace = ctx.trace;
  if (trace === null || !trace.sampled) return;
  const spans = trace.spans;
  for (let i = 0; i < spans.length; i++) {
    enqueue(conf.queue, conf.handler, encodeSpan(spans[i]!), conf.log); // a refusal is logged by the queue
  }
}

export const opentelemetry: PluginModule<OpenTelemetryConfig, CompiledOpenTelemetry> = {
  name: 'opentelemetry',
  version: VERSION,
  priority: 14,
  schema,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  readsTraces: true,
  check,
  compile,
  access,
  header_filter,
  log,
};
