/**
 * Proxy metrics, named as Kong's Prometheus plugin names them so existing
 * dashboards work: kong_http_requests_total, kong_request_latency_ms,
 * kong_upstream_latency_ms, kong_kong_latency_ms, kong_bandwidth_bytes; plus
 * portcullis_config_version and portcullis_upstream_errors_total.
 *
 * The per-request metrics are plain counters in one object per (service,
 * route), found through a WeakMap on the route entity: recording a request
 * costs a few additions, no label hashing or allocation (prom-client hashes
 * label sets on every observe). They are rendered into prom-client's format
 * only when scraped, by small metric objects registered in the Registry.
 */
import { Counter, Gauge, Registry, register as globalRegistry } from 'prom-client';
import type { RouteEntity, ServiceEntity } from '../schema/entities/types.ts';

/** Kong prometheus exporter's default latency buckets (ms). */
const BUCKETS = [1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 30000, 60000];
const WORKSPACE = 'default';

/** Kong's kong.response.get_source(): who produced the response. */
export type ResponseSource = 'service' | 'exit' | 'error';

class Distribution {
  readonly counts = new Float64Array(BUCKETS.length + 1);
  sum = 0;
  count = 0;

  observe(v: number): void {
    let i = 0;
    while (i < BUCKETS.length && v > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

interface RequestCount {
  code: string;
  source: ResponseSource;
  value: number;
}

class Series {
  readonly service: string;
  readonly route: string;
  readonly requestLatency = new Distribution();
  readonly upstreamLatency = new Distribution();
  readonly kongLatency = new Distribution();
  ingress = 0;
  egress = 0;
  /** By status + source offset (service 0, exit 1000, error 2000). */
  readonly requests = new Map<number, RequestCount>();

  constructor(service: string, route: string) {
    this.service = service;
    this.route = route;
  }
}

/** One sample line as prom-client's Registry renders it. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface Collected {
  name: string;
  help: string;
  type: string;
  aggregator: 'sum';
  values: Sample[];
}

/** A read-only metric rendered from the series at scrape time (what Registry needs of a metric). */
class View {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator = 'sum' as const;
  private readonly render: () => Sample[];
  private readonly clear: () => void;

  constructor(name: string, help: string, type: 'counter' | 'histogram', render: () => Sample[], clear: () => void) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.render = render;
    this.clear = clear;
  }

  get(): Promise<Collected> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.render() });
  }

  reset(): void {
    this.clear();
  }
}

export class ProxyMetrics {
  readonly registry: Registry;
  private readonly upstreamErrors: Counter<string>;
  private readonly configVersion: Gauge<string>;
  /** Series by label values (stable across configuration versions). */
  private readonly byLabels = new Map<string, Series>();
  /** Hot-path cache: entity object → series. */
  private readonly byEntity = new WeakMap<object, Series>();
  private readonly none = new Series('', '');
  private lastVersion = -1;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.byLabels.set('|', this.none);
    const clear = (): void => this.clearSeries();
    const views = [
      new View('kong_http_requests_total', 'HTTP status codes per consumer/service/route in Kong', 'counter', () => this.renderRequests(), clear),
      new View('kong_request_latency_ms', 'Total latency incurred during requests for each service/route in Kong', 'histogram', () => this.renderHistogram('kong_request_latency_ms', (s) => s.requestLatency), clear),
      new View('kong_upstream_latency_ms', 'Latency added by upstream response for each service/route in Kong', 'histogram', () => this.renderHistogram('kong_upstream_latency_ms', (s) => s.upstreamLatency), clear),
      new View('kong_kong_latency_ms', 'Latency added by Kong and enabled plugins for each service/route in Kong', 'histogram', () => this.renderHistogram('kong_kong_latency_ms', (s) => s.kongLatency), clear),
      new View('kong_bandwidth_bytes', 'Total bandwidth (ingress/egress) throughput in bytes', 'counter', () => this.renderBandwidth(), clear),
    ];
    for (const v of views) registry.registerMetric(v as unknown as Counter<string>);
    this.upstreamErrors = new Counter({
      name: 'portcullis_upstream_errors_total',
      help: 'Requests the gateway could not complete with the upstream, by service and error code',
      labelNames: ['service', 'code'],
      registers,
    });
    this.configVersion = new Gauge({
      name: 'portcullis_config_version',
      help: 'Version of the configuration the proxy is serving',
      // Across cluster workers the version is the newest one served, not a sum.
      aggregator: 'max',
      registers,
    });
  }

  setConfigVersion(version: number): void {
    if (version === this.lastVersion) return;
    this.lastVersion = version;
    this.configVersion.set(version);
  }

  private seriesFor(route: RouteEntity | null, service: ServiceEntity | null): Series {
    const key = route ?? service;
    if (key === null) return this.none;
    let s = this.byEntity.get(key);
    if (s !== undefined) return s;
    // Kong's exporter: service name, else host; route name, else id.
    const svc = service === null ? '' : (service.name ?? service.host);
    const rt = route === null ? '' : (route.name ?? route.id);
    const labelKey = `${svc}|${rt}`;
    s = this.byLabels.get(labelKey);
    if (s === undefined) {
      s = new Series(svc, rt);
      this.byLabels.set(labelKey, s);
    }
    this.byEntity.set(key, s);
    return s;
  }

  /** One finished request. Latencies in ms; upstream latency < 0 when the upstream did not answer. */
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
    const count = s.requests.get(key);
    if (count === undefined) s.requests.set(key, { code: String(status), source, value: 1 });
    else count.value++;
    s.requestLatency.observe(totalMs);
    s.kongLatency.observe(kongMs);
    if (upstreamMs >= 0) s.upstreamLatency.observe(upstreamMs);
    s.ingress += bytesIn;
    s.egress += bytesOut;
  }

  upstreamError(service: ServiceEntity | null, code: string): void {
    this.upstreamErrors.labels(service === null ? '' : (service.name ?? service.host), code).inc();
  }

  private clearSeries(): void {
    this.byLabels.clear();
    this.byLabels.set('|', this.none);
    this.none.requests.clear();
  }

  private renderRequests(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.byLabels.values()) {
      for (const r of s.requests.values()) {
        out.push({ value: r.value, labels: { service: s.service, route: s.route, code: r.code, source: r.source, workspace: WORKSPACE, consumer: '' } });
      }
    }
    return out;
  }

  private renderBandwidth(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.byLabels.values()) {
      if (s.requests.size === 0) continue;
      out.push({ value: s.ingress, labels: { service: s.service, route: s.route, direction: 'ingress', workspace: WORKSPACE, consumer: '' } });
      out.push({ value: s.egress, labels: { service: s.service, route: s.route, direction: 'egress', workspace: WORKSPACE, consumer: '' } });
    }
    return out;
  }

  private renderHistogram(name: string, pick: (s: Series) => Distribution): Sample[] {
    const out: Sample[] = [];
    for (const s of this.byLabels.values()) {
      const d = pick(s);
      if (d.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i <= BUCKETS.length; i++) {
        cumulative += d.counts[i]!;
        const le = i < BUCKETS.length ? BUCKETS[i]! : '+Inf';
        out.push({ metricName: `${name}_bucket`, value: cumulative, labels: { le, service: s.service, route: s.route, workspace: WORKSPACE } });
      }
      out.push({ metricName: `${name}_sum`, value: d.sum, labels: { service: s.service, route: s.route, workspace: WORKSPACE } });
      out.push({ metricName: `${name}_count`, value: d.count, labels: { service: s.service, route: s.route, workspace: WORKSPACE } });
    }
    return out;
  }
}

let processMetrics: ProxyMetrics | null = null;

/**
 * The process-wide proxy metrics (what GET /metrics serves). They live in
 * prom-client's global registry: that is the one prom-client's
 * AggregatorRegistry collects from cluster workers.
 */
export function defaultMetrics(): ProxyMetrics {
  if (processMetrics === null) processMetrics = new ProxyMetrics(globalRegistry);
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
