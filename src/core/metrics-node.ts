/**
 * The exposition served on GET /metrics (Admin API and status listener): the
 * proxy processes' metrics summed into the node's (src/core/metrics.ts), and
 * the node's own gauges, rendered at scrape time as Kong's exporter renders
 * them (kong/plugins/prometheus/exporter.lua metric_data, 3.9.3):
 *   kong_node_info{node_id,version}            1
 *   kong_datastore_reachable                   1 | 0
 *   kong_nginx_connections_total{node_id,subsystem,state}   accepted, handled,
 *                                              active, reading, writing, waiting, total
 *   kong_nginx_requests_total{node_id,subsystem}
 *   kong_upstream_target_health{upstream,target,address,state,subsystem}
 *                                              (with upstream_health_metrics)
 *   kong_memory_workers_lua_vms_bytes{node_id,pid,kong_subsystem} (from each process)
 * While no prometheus plugin is configured, the per-request families are left
 * out, as Kong leaves out its shared dictionary then (`local_only`).
 */
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { PLUGIN_FAMILIES } from './metrics.ts';

/** One process's metrics, as prom-client's getMetricsAsJSON() gives them. */
export type ProcessMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** Kong's states of a target address (healthchecks_off | healthy | unhealthy | dns_error). */
export type TargetState = 'healthchecks_off' | 'healthy' | 'unhealthy' | 'dns_error';

export interface TargetHealthSample {
  upstream: string;
  target: string;
  /** `ip:port`, '' for a target without addresses (dns_error). */
  address: string;
  state: TargetState;
}

export interface NodeFacts {
  nodeId: string;
  version: string;
  /** A prometheus plugin is configured (Kong's IS_PROMETHEUS_ENABLED). */
  pluginConfigured: boolean;
  datastoreReachable: boolean;
  /** Target health when some prometheus plugin has upstream_health_metrics on; null otherwise. */
  upstreamHealth: TargetHealthSample[] | null;
}

const TARGET_STATES: readonly TargetState[] = ['healthchecks_off', 'healthy', 'unhealthy', 'dns_error'];

interface Family {
  name: string;
  help: string;
  type: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/** Sum the processes' metrics and add the node's gauges; Prometheus text format 0.0.4. */
export async function nodeExposition(processes: ProcessMetrics[], node: NodeFacts): Promise<string> {
  const summed = (await AggregatorRegistry.aggregate(processes).getMetricsAsJSON()) as unknown as Family[];
  const families: Family[] = [];
  const hidden = new Set(node.pluginConfigured ? [] : PLUGIN_FAMILIES);
  let listener: Family | undefined;
  for (const f of summed) {
    if (f.name === 'portcullis_listener_stats') listener = f;
    else if (!hidden.has(f.name)) families.push(f);
  }
  const { accepted, active, writing, total } = listenerCounts(listener);
  const connection = (state: string, value: number) => ({ value, labels: { node_id: node.nodeId, subsystem: 'http', state } });
  families.push({
    name: 'kong_nginx_connections_total',
    help: 'Number of connections by subsystem',
    type: 'gauge',
    values: [
      connection('accepted', accepted),
      // No connection is dropped between accept and handling, as in nginx without limits.
      connection('handled', accepted),
      connection('total', total),
      connection('active', active),
      // Heads are read by the listener without a separate state; a request is "writing" until its log phase.
      connection('reading', 0),
      connection('writing', writing),
      connection('waiting', Math.max(0, active - writing)),
    ],
  });
  families.push({ name: 'kong_nginx_requests_total', help: 'Number of requests total', type: 'gauge', values: [{ value: total, labels: { node_id: node.nodeId, subsystem: 'http' } }] });
  families.push({ name: 'kong_datastore_reachable', help: 'Datastore reachable from Kong, 0 is unreachable', type: 'gauge', values: [{ value: node.datastoreReachable ? 1 : 0, labels: {} }] });
  families.push({ name: 'kong_node_info', help: 'Kong Node metadata information', type: 'gauge', values: [{ value: 1, labels: { node_id: node.nodeId, version: node.version } }] });
  if (node.upstreamHealth !== null) {
    const values: Family['values'] = [];
    for (const t of node.upstreamHealth) {
      for (const state of TARGET_STATES) {
        values.push({ value: state === t.state ? 1 : 0, labels: { upstream: t.upstream, target: t.target, address: t.address, state, subsystem: 'http' } });
      }
    }
    families.push({
      name: 'kong_upstream_target_health',
      help: 'Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.',
      type: 'gauge',
      values,
    });
  }
  return render(families);
}

export interface ServerStatistics {
  connections_accepted: number;
  connections_active: number;
  connections_handled: number;
  connections_reading: number;
  connections_waiting: number;
  connections_writing: number;
  total_requests: number;
}

interface ListenerCounts {
  accepted: number;
  active: number;
  writing: number;
  total: number;
}

function listenerCounts(family: Family | undefined): ListenerCounts {
  const stat = (state: string): number => family?.values.find((v) => v.labels.state === state)?.value ?? 0;
  return { accepted: stat('accepted'), active: stat('active'), writing: stat('writing'), total: stat('total') };
}

/** The node's connection counters in Kong's kong.nginx.get_statistics() shape (GET /status `server`). */
export async function serverStatistics(processes: ProcessMetrics[]): Promise<ServerStatistics> {
  const summed = (await AggregatorRegistry.aggregate(processes).getMetricsAsJSON()) as unknown as Family[];
  const c = listenerCounts(summed.find((f) => f.name === 'portcullis_listener_stats'));
  return {
    connections_accepted: c.accepted,
    connections_active: c.active,
    connections_handled: c.accepted,
    connections_reading: 0,
    connections_waiting: Math.max(0, c.active - c.writing),
    connections_writing: c.writing,
    total_requests: c.total,
  };
}

/** Kong sorts its metrics by name; families without samples are left out, as Kong prints none. */
function render(families: Family[]): string {
  families.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let out = '';
  for (const f of families) {
    if (f.values.length === 0) continue;
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const v of f.values) out += `${v.metricName ?? f.name}${labels(v.labels)} ${number(v.value)}\n`;
  }
  return out;
}

function labels(l: Record<string, string | number>): string {
  let s = '';
  for (const k in l) s += `${s === '' ? '' : ','}${k}="${escapeLabel(String(l[k]))}"`;
  return s === '' ? '' : `{${s}}`;
}

function number(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Content-Type of the exposition (Kong: text/plain; charset=UTF-8; 0.0.4 is the format version). */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
