/**
 * Proxy metrics (prom-client), named as Kong's Prometheus plugin names them
 * so existing dashboards work: kong_http_requests_total,
 * kong_request_latency_ms, kong_upstream_latency_ms, kong_kong_latency_ms,
 * kong_bandwidth_bytes; plus portcullis_config_version and
 * portcullis_upstream_errors_total.
 *
 * Labelled children are cached per route object (a Runtime's entities are
 * immutable, so a config change naturally starts new cache entries), keeping
 * label hashing off the hot path.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RouteEntity, ServiceEntity } from '../schema/entities/types.ts';

/** Kong prometheus exporter's default latency buckets (ms). */
const BUCKETS = [1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 30000, 60000];
const WORKSPACE = 'default';

/** Kong's kong.response.get_source(): who produced the response. */
export type ResponseSource = 'service' | 'exit' | 'error';

interface Series {
  service: string;
  route: string;
  requestLatency: Histogram.Internal<string>;
  upstreamLatency: Histogram.Internal<string>;
  kongLatency: Histogram.Internal<string>;
  ingress: Counter.Internal;
  egress: Counter.Internal;
  requests: Map<number, Counter.Internal>;
}

const NO_ROUTE = {};

export class ProxyMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<string>;
  private readonly requestLatency: Histogram<string>;
  private readonly upstreamLatency: Histogram<string>;
  private readonly kongLatency: Histogram<string>;
  private readonly bandwidth: Counter<string>;
  private readonly upstreamErrors: Counter<string>;
  private readonly configVersion: Gauge<string>;
  private readonly series = new WeakMap<object, Series>();
  private lastVersion = -1;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.requests = new Counter({
      name: 'kong_http_requests_total',
      help: 'HTTP status codes per consumer/service/route in Kong',
      labelNames: ['service', 'route', 'code', 'source', 'workspace', 'consumer'],
      registers,
    });
    this.requestLatency = new Histogram({
      name: 'kong_request_latency_ms',
      help: 'Total latency incurred during requests for each service/route in Kong',
      labelNames: ['service', 'route', 'workspace'],
      buckets: BUCKETS,
      registers,
    });
    this.upstreamLatency = new Histogram({
      name: 'kong_upstream_latency_ms',
      help: 'Latency added by upstream response for each service/route in Kong',
      labelNames: ['service', 'route', 'workspace'],
      buckets: BUCKETS,
      registers,
    });
    this.kongLatency = new Histogram({
      name: 'kong_kong_latency_ms',
      help: 'Latency added by Kong and enabled plugins for each service/route in Kong',
      labelNames: ['service', 'route', 'workspace'],
      buckets: BUCKETS,
      registers,
    });
    this.bandwidth = new Counter({
      name: 'kong_bandwidth_bytes',
      help: 'Total bandwidth (ingress/egress) throughput in bytes',
      labelNames: ['service', 'route', 'direction', 'workspace', 'consumer'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'portcullis_upstream_errors_total',
      help: 'Requests the gateway could not complete with the upstream, by service and error code',
      labelNames: ['service', 'code'],
      registers,
    });
    this.configVersion = new Gauge({
      name: 'portcullis_config_version',
      help: 'Version of the configuration the proxy is serving',
      registers,
    });
  }

  setConfigVersion(version: number): void {
    if (version === this.lastVersion) return;
    this.lastVersion = version;
    this.configVersion.set(version);
  }

  private seriesFor(route: RouteEntity | null, service: ServiceEntity | null): Series {
    const key = route ?? service ?? NO_ROUTE;
    let s = this.series.get(key);
    if (s !== undefined) return s;
    // Kong's exporter: service name, else host; route name, else id.
    const svc = service === null ? '' : (service.name ?? service.host);
    const rt = route === null ? '' : (route.name ?? route.id);
    s = {
      service: svc,
      route: rt,
      requestLatency: this.requestLatency.labels(svc, rt, WORKSPACE),
      upstreamLatency: this.upstreamLatency.labels(svc, rt, WORKSPACE),
      kongLatency: this.kongLatency.labels(svc, rt, WORKSPACE),
      ingress: this.bandwidth.labels(svc, rt, 'ingress', WORKSPACE, ''),
      egress: this.bandwidth.labels(svc, rt, 'egress', WORKSPACE, ''),
      requests: new Map(),
    };
    this.series.set(key, s);
    return s;
  }

  /** One finished request. Latencies in ms; upstream latency < 0 when the upstream was not reached. */
  observe(
    route: RouteEntity | null,
    service: ServiceEntity | null,
    status: number,
    source: ResponseSource,
    totalMs: number,
    kongMs: number,
    upstreamMs: number,
    bytesIn: number,
    bytesOut: number,
  ): void {
    const s = this.seriesFor(route, service);
    const key = source === 'service' ? status : source === 'exit' ? status + 1000 : status + 2000;
    let counter = s.requests.get(key);
    if (counter === undefined) {
      counter = this.requests.labels(s.service, s.route, String(status), source, WORKSPACE, '');
      s.requests.set(key, counter);
    }
    counter.inc();
    s.requestLatency.observe(totalMs);
    s.kongLatency.observe(kongMs);
    if (upstreamMs >= 0) s.upstreamLatency.observe(upstreamMs);
    if (bytesIn > 0) s.ingress.inc(bytesIn);
    if (bytesOut > 0) s.egress.inc(bytesOut);
  }

  upstreamError(service: ServiceEntity | null, code: string): void {
    this.upstreamErrors.labels(service === null ? '' : (service.name ?? service.host), code).inc();
  }
}

let processMetrics: ProxyMetrics | null = null;

/** The process-wide proxy metrics (what GET /metrics serves). */
export function defaultMetrics(): ProxyMetrics {
  if (processMetrics === null) processMetrics = new ProxyMetrics();
  return processMetrics;
}

/** Prometheus text exposition of the process-wide metrics. */
export function metricsText(): Promise<string> {
  return defaultMetrics().registry.metrics();
}

/** Content-Type for metricsText(). */
export function metricsContentType(): string {
  return defaultMetrics().registry.contentType;
}
