/**
 * prometheus (Kong's plugin of the same name, 3.9.3): counts each request in
 * its log phase into Kong's metric families, each switched on by its option:
 *   status_code_metrics → kong_http_requests_total{service,route,code,source,workspace,consumer}
 *   latency_metrics     → kong_kong_latency_ms, kong_upstream_latency_ms, kong_request_latency_ms
 *   bandwidth_metrics   → kong_bandwidth_bytes{service,route,direction,workspace,consumer}
 *   per_consumer        → the consumer label (the consumer's username) of the two counters
 *   upstream_health_metrics → kong_upstream_target_health on /metrics (read at scrape time)
 * Requests without a route are not counted (exporter.lua returns early).
 *
 * The counters are the process's (src/core/metrics.ts); the cluster primary
 * sums them over the workers on every scrape, and src/core/metrics-node.ts
 * adds the node's gauges. /metrics is served on the Admin API and on the
 * status listener whatever the configuration, as Kong serves it; the
 * per-request families appear there once a prometheus plugin is configured.
 * Priority 13, as Kong's.
 */
import type { RequestContext } from '../../core/context.ts';
import { defaultMetrics, type ProxyMetrics } from '../../core/metrics.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { schema, type PrometheusConfig } from './schema.ts';

export interface CompiledPrometheus {
  readonly metrics: ProxyMetrics;
  readonly perConsumer: boolean;
  readonly statusCodes: boolean;
  readonly latencies: boolean;
  readonly bandwidth: boolean;
}

function log(ctx: RequestContext, conf: CompiledPrometheus): void {
  const route = ctx.route;
  if (route === null) return;
  const service = ctx.service;
  // handler.lua: serialized.consumer = message.consumer.username (nil → "").
  const consumer = conf.perConsumer && ctx.consumer !== null ? (ctx.consumer.username ?? '') : '';
  const m = conf.metrics;
  if (conf.statusCodes) m.recordStatus(route, service, consumer, ctx.finalStatus, ctx.finalSource === 'service');
  if (conf.latencies) {
    // latencies.proxy is -1 (not observed) when no upstream answered.
    m.recordLatencies(route, service, ctx.totalLatency, ctx.upstreamStatus !== 0 ? ctx.upstreamLatency : -1, ctx.kongLatency);
  }
  if (conf.bandwidth) m.recordBandwidth(route, service, consumer, ctx.bytesIn, ctx.bytesOut);
}

export const prometheus: PluginModule<PrometheusConfig, CompiledPrometheus> = {
  name: 'prometheus',
  version: VERSION,
  priority: 13,
  schema,
  compile(config) {
    // The scrape reads the target-health option (./scrape.ts); ai_metrics has nothing to count
    // (src/schema/compatibility.ts).
    return Object.freeze({
      metrics: defaultMetrics(),
      perConsumer: config.per_consumer,
      statusCodes: config.status_code_metrics,
      latencies: config.latency_metrics,
      bandwidth: config.bandwidth_metrics,
    });
  },
  log,
};

export default prometheus;
