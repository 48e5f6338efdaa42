/**
 * The per-process half of the Prometheus exporter (the other half, the node's
 * gauges and the exposition served on /metrics, is ./metrics-node.ts).
 *
 * Kong's prometheus plugin (kong/plugins/prometheus/exporter.lua, 3.9.3)
 * counts requests in its log phase into `kong_http_requests_total`,
 * `kong_kong_latency_ms`, `kong_upstream_latency_ms`, `kong_request_latency_ms`
 * and `kong_bandwidth_bytes`, with its names, labels, label order, HELP text
 * and buckets. Our plugin (src/plugins/prometheus) calls the record* methods
 * below; nothing is counted per request without it, as in Kong.
 *
 * Node-wide (principle 14): every process keeps plain counters in memory and
 * the cluster primary sums the workers' registries when scraped (prom-client's
 * AggregatorRegistry over the cluster IPC channel), so one scrape shows the
 * node's totals. Chosen over counting in node-state SQLite: recording here is
 * a few additions (0.17–0.4 µs a request with every option on, `node bench/micro/metrics-record.ts`),
 * an SQLite upsert per series is 9–20 µs (docs/ARCHITECTURE.md, Node-wide
 * state); the price is that a replaced worker's counts are lost with it (a
 * counter reset, which Prometheus' rate() and increase() handle).
 *
 * The series are found through a WeakMap on the route entity: no label
 * hashing or allocation per request (prom-client hashes label sets on every
 * observe). They are rendered only when scraped, by small metric objects
 * registered in the Registry.
 */
import process from 'node:process';
import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Registry, register as globalRegistry } from 'prom-client';
import type { ResponseSource } from './context.ts';
import { nodeId } from './node-id.ts';
import type { RouteEntity, ServiceEntity } from '../schema/entities/types.ts';

export type { ResponseSource } from './context.ts';

/** exporter.lua KONG_LATENCY_BUCKETS (ms): kong_kong_latency_ms. */
export const KONG_LATENCY_BUCKETS: readonly number[] = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000];
/** exporter.lua UPSTREAM_LATENCY_BUCKETS (ms): kong_upstream_latency_ms and kong_request_latency_ms. */
export const UPSTREAM_LATENCY_BUCKETS: readonly number[] = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000];
/** Kong's workspace label; Kong OSS has only `default`. */
const WORKSPACE = 'default';

/** The families only the prometheus plugin fills (Kong keeps them in its shared dict, hidden while no plugin is configured). */
export const PLUGIN_FAMILIES: readonly string[] = [
  'kong_http_requests_total',
  'kong_kong_latency_ms',
  'kong_upstream_latency_ms',
  'kong_request_latency_ms',
  'kong_bandwidth_bytes',
  'kong_nginx_metric_errors_total',
];

export class Distribution {
  readonly buckets: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(buckets: readonly number[]) {
    this.buckets = buckets;
    this.counts = new Float64Array(buckets.length + 1);
  }

  observe(v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/** Counts of one consumer label value (`''` without per_consumer or consumer) on one series. */
class ConsumerCounts {
  readonly consumer: string;
  /** By status + 1000 when the source is not the service (Kong's `source="kong"`). */
  readonly requests = new Map<number, number>();
  ingress = 0;
  egress = 0;

  constructor(consumer: string) {
    this.consumer = consumer;
  }
}

class Series {
  readonly service: string;
  readonly route: string;
  readonly requestLatency = new Distribution(UPSTREAM_LATENCY_BUCKETS);
  readonly upstreamLatency = new Distribution(UPSTREAM_LATENCY_BUCKETS);
  readonly kongLatency = new Distribution(KONG_LATENCY_BUCKETS);
  /** The no-consumer counts, kept apart from the map: the common case needs no lookup. */
  readonly anonymous = new ConsumerCounts('');
  readonly consumers = new Map<string, ConsumerCounts>();

  constructor(service: string, route: string) {
    this.service = service;
    this.route = route;
  }

  counts(consumer: string): ConsumerCounts {
    if (consumer === '') return this.anonymous;
    let c = this.consumers.get(consumer);
    if (c === undefined) {
      c = new ConsumerCounts(consumer);
      this.consumers.set(consumer, c);
    }
    return c;
  }

  *allCounts(): Iterable<ConsumerCounts> {
    yield this.anonymous;
    yield* this.consumers.values();
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

  constructor(name: string, help: string, type: 'counter' | 'histogram' | 'gauge', render: () => Sample[], clear: () => void) {
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

/** Connection and request counts of this process's proxy listeners (Kong's kong.nginx.get_statistics()). */
export class ListenerStats {
  accepted = 0;
  active = 0;
  requests = 0;
  inflight = 0;
}

export class ProxyMetrics {
  readonly registry: Registry;
  readonly listeners = new ListenerStats();
  private readonly upstreamErrors: Counter<string>;
  private readonly configVersion: Gauge<string>;
  /** Series by label values (stable across configuration versions). */
  private readonly byLabels = new Map<string, Series>();
  /** Hot-path cache: entity object → series. */
  private readonly byEntity = new WeakMap<object, Series>();
  private lastVersion = -1;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const clear = (): void => this.byLabels.clear();
    const views = [
      new View('kong_http_requests_total', 'HTTP status codes per consumer/service/route in Kong', 'counter', () => this.renderRequests(), clear),
      new View('kong_kong_latency_ms', 'Latency added by Kong and enabled plugins for each service/route in Kong', 'histogram', () => this.renderHistogram('kong_kong_latency_ms', (s) => s.kongLatency), clear),
      new View('kong_upstream_latency_ms', 'Latency added by upstream response for each service/route in Kong', 'histogram', () => this.renderHistogram('kong_upstream_latency_ms', (s) => s.upstreamLatency), clear),
      new View('kong_request_latency_ms', 'Total latency incurred during requests for each service/route in Kong', 'histogram', () => this.renderHistogram('kong_request_latency_ms', (s) => s.requestLatency), clear),
      new View('kong_bandwidth_bytes', 'Total bandwidth (ingress/egress) throughput in bytes', 'counter', () => this.renderBandwidth(), clear),
      // nginx-lua-prometheus' own error counter; nothing here can fail the way a full shared dict does.
      new View('kong_nginx_metric_errors_total', 'Number of nginx-lua-prometheus errors', 'counter', () => [{ value: 0, labels: {} }], clear),
      // Kong: the Lua VM's allocated bytes per worker; here the V8 heap in use of each proxy process.
      new View('kong_memory_workers_lua_vms_bytes', 'Allocated bytes in worker Lua VM', 'gauge', () => [{ value: getHeapStatistics().used_heap_size, labels: { node_id: nodeId(), pid: process.pid, kong_subsystem: 'http' } }], clear),
      new View('portcullis_listener_stats', 'Connection and request counts of the proxy listeners, summed over the workers (rendered as kong_nginx_connections_total)', 'gauge', () => this.renderListeners(), clear),
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

  /** The series of a route (exporter.lua: no route, nothing is counted). */
  private seriesFor(route: RouteEntity, service: ServiceEntity | null): Series {
    let s = this.byEntity.get(route);
    if (s !== undefined) return s;
    // Kong's exporter: service name, else host; route name, else id.
    const svc = service === null ? '' : (service.name ?? service.host);
    const rt = route.name ?? route.id;
    const labelKey = `${svc}\0${rt}`;
    s = this.byLabels.get(labelKey);
    if (s === undefined) {
      s = new Series(svc, rt);
      this.byLabels.set(labelKey, s);
    }
    this.byEntity.set(route, s);
    return s;
  }

  /** kong_http_requests_total: `fromService` is Kong's kong.response.get_source() == "service". */
  recordStatus(route: RouteEntity, service: ServiceEntity | null, consumer: string, status: number, fromService: boolean): void {
    const c = this.seriesFor(route, service).counts(consumer);
    const key = fromService ? status : status + 1000;
    c.requests.set(key, (c.requests.get(key) ?? 0) + 1);
  }

  /** The three latency histograms, in ms; a negative value is not observed (exporter.lua `>= 0`). */
  recordLatencies(route: RouteEntity, service: ServiceEntity | null, requestMs: number, upstreamMs: number, kongMs: number): void {
    const s = this.seriesFor(route, service);
    if (requestMs >= 0) s.requestLatency.observe(requestMs);
    if (upstreamMs >= 0) s.upstreamLatency.observe(upstreamMs);
    if (kongMs >= 0) s.kongLatency.observe(kongMs);
  }

  /** kong_bandwidth_bytes; zero sizes are not counted (exporter.lua `> 0`). */
  recordBandwidth(route: RouteEntity, service: ServiceEntity | null, consumer: string, ingress: number, egress: number): void {
    const c = this.seriesFor(route, service).counts(consumer);
    if (ingress > 0) c.ingress += ingress;
    if (egress > 0) c.egress += egress;
  }

  upstreamError(service: ServiceEntity | null, code: string): void {
    this.upstreamErrors.labels(service === null ? '' : (service.name ?? service.host), code).inc();
  }

  private renderRequests(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.byLabels.values()) {
      for (const c of s.allCounts()) {
        for (const [key, value] of c.requests) {
          const fromService = key < 1000;
          out.push({
            value,
            labels: { service: s.service, route: s.route, code: String(fromService ? key : key - 1000), source: fromService ? 'service' : 'kong', workspace: WORKSPACE, consumer: c.consumer },
          });
        }
      }
    }
    return out;
  }

  private renderBandwidth(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.byLabels.values()) {
      for (const c of s.allCounts()) {
        if (c.ingress > 0) out.push({ value: c.ingress, labels: { service: s.service, route: s.route, direction: 'ingress', workspace: WORKSPACE, consumer: c.consumer } });
        if (c.egress > 0) out.push({ value: c.egress, labels: { service: s.service, route: s.route, direction: 'egress', workspace: WORKSPACE, consumer: c.consumer } });
      }
    }
    return out;
  }

  private renderHistogram(name: string, pick: (s: Series) => Distribution): Sample[] {
    const out: Sample[] = [];
    for (const s of this.byLabels.values()) {
      const d = pick(s);
      if (d.count === 0) continue;
      pushHistogram(out, name, d, { service: s.service, route: s.route, workspace: WORKSPACE });
    }
    return out;
  }

  private renderListeners(): Sample[] {
    const l = this.listeners;
    return [
      { value: l.accepted, labels: { state: 'accepted' } },
      { value: l.active, labels: { state: 'active' } },
      { value: l.requests, labels: { state: 'total' } },
      { value: l.inflight, labels: { state: 'writing' } },
    ];
  }
}

/** Samples of one histogram series, Kong's label order (`le` last). */
export function pushHistogram(out: Sample[], name: string, d: Distribution, labels: Record<string, string>): void {
  let cumulative = 0;
  for (let i = 0; i <= d.buckets.length; i++) {
    cumulative += d.counts[i]!;
    const le = i < d.buckets.length ? d.buckets[i]! : '+Inf';
    out.push({ metricName: `${name}_bucket`, value: cumulative, labels: { ...labels, le } });
  }
  out.push({ metricName: `${name}_count`, value: d.count, labels });
  out.push({ metricName: `${name}_sum`, value: d.sum, labels });
}

/**
 * A counter of labelled series, for metrics beyond Kong's (the openid-connect
 * plugin's): a Map lookup on the joined label values, no per-call allocation
 * beyond that key.
 */
export class LabelledCounter {
  private readonly series = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly labelNames: readonly string[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.labelNames = labelNames;
    const view = new View(name, help, 'counter', () => [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels })), () => this.series.clear());
    registry.registerMetric(view as unknown as Counter<string>);
  }

  inc(values: readonly string[], by = 1): void {
    const key = values.join('\0');
    const s = this.series.get(key);
    if (s !== undefined) {
      s.value += by;
      return;
    }
    this.series.set(key, { labels: labelsOf(this.labelNames, values), value: by });
  }
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) labels[names[i]!] = values[i] ?? '';
  return labels;
}

/** A histogram of labelled series, for metrics beyond Kong's (the openid-connect plugin's). */
export class LabelledHistogram {
  private readonly series = new Map<string, { labels: Record<string, string>; d: Distribution }>();
  private readonly buckets: readonly number[];
  private readonly labelNames: readonly string[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    this.buckets = buckets;
    this.labelNames = labelNames;
    const view = new View(name, help, 'histogram', () => {
      const out: Sample[] = [];
      for (const s of this.series.values()) pushHistogram(out, name, s.d, s.labels);
      return out;
    }, () => this.series.clear());
    registry.registerMetric(view as unknown as Counter<string>);
  }

  observe(values: readonly string[], v: number): void {
    const key = values.join('\0');
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: labelsOf(this.labelNames, values), d: new Distribution(this.buckets) };
      this.series.set(key, s);
    }
    s.d.observe(v);
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

/** Prometheus text exposition of this process's registry (a single process: the node's). */
export function metricsText(): Promise<string> {
  return defaultMetrics().registry.metrics();
}
