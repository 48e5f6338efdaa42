/** Proxy metrics render with Kong's names, labels, label order and buckets (exporter.lua, 3.9.3). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KONG_LATENCY_BUCKETS, ProxyMetrics, UPSTREAM_LATENCY_BUCKETS } from '../../../src/core/metrics.ts';
import { nodeExposition, type NodeFacts } from '../../../src/core/metrics-node.ts';
import type { RouteEntity, ServiceEntity } from '../../../src/schema/entities/types.ts';

const svc = { id: 's1', name: 'orders', host: 'orders.internal' } as ServiceEntity;
const rt = { id: 'r1', name: null } as RouteEntity;
const node: NodeFacts = { nodeId: 'n-1', version: '3.9.0', pluginConfigured: true, datastoreReachable: true, upstreamHealth: null };

test('Kong\'s buckets: kong latency has its own, upstream and request latency share the upstream ones', () => {
  assert.deepEqual(KONG_LATENCY_BUCKETS, [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000]);
  assert.deepEqual(UPSTREAM_LATENCY_BUCKETS, [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000]);
});

test('requests are counted per service, route (name, else id), status, source service|kong and consumer', async () => {
  const m = new ProxyMetrics();
  m.recordStatus(rt, svc, '', 200, true);
  m.recordStatus(rt, svc, '', 200, true);
  m.recordStatus(rt, svc, '', 401, false);
  m.recordStatus(rt, svc, 'alice', 200, true);
  m.recordLatencies(rt, svc, 12, 10, 2);
  m.recordLatencies(rt, svc, 30, 27, 3);
  m.recordLatencies(rt, svc, 1, -1, 1);
  m.recordBandwidth(rt, svc, '', 5, 100);
  m.recordBandwidth(rt, svc, '', 0, 120);
  m.setConfigVersion(7);
  m.upstreamError(svc, 'UPSTREAM_TIMEOUT');
  const text = await nodeExposition([await m.registry.getMetricsAsJSON()], node);
  assert.match(text, /^kong_http_requests_total\{service="orders",route="r1",code="200",source="service",workspace="default",consumer=""\} 2$/m);
  assert.match(text, /^kong_http_requests_total\{service="orders",route="r1",code="401",source="kong",workspace="default",consumer=""\} 1$/m);
  assert.match(text, /^kong_http_requests_total\{service="orders",route="r1",code="200",source="service",workspace="default",consumer="alice"\} 1$/m);
  assert.match(text, /^kong_request_latency_ms_bucket\{service="orders",route="r1",workspace="default",le="25"\} 2$/m);
  assert.match(text, /^kong_request_latency_ms_bucket\{service="orders",route="r1",workspace="default",le="\+Inf"\} 3$/m);
  assert.match(text, /^kong_request_latency_ms_sum\{service="orders",route="r1",workspace="default"\} 43$/m);
  assert.match(text, /^kong_upstream_latency_ms_count\{service="orders",route="r1",workspace="default"\} 2$/m);
  assert.match(text, /^kong_kong_latency_ms_bucket\{service="orders",route="r1",workspace="default",le="2"\} 2$/m);
  assert.match(text, /^kong_bandwidth_bytes\{service="orders",route="r1",direction="egress",workspace="default",consumer=""\} 220$/m);
  assert.match(text, /^kong_bandwidth_bytes\{service="orders",route="r1",direction="ingress",workspace="default",consumer=""\} 5$/m);
  assert.match(text, /^# HELP kong_http_requests_total HTTP status codes per consumer\/service\/route in Kong$/m);
  assert.match(text, /^# TYPE kong_kong_latency_ms histogram$/m);
  assert.match(text, /^kong_nginx_metric_errors_total 0$/m);
  assert.match(text, /^portcullis_config_version 7$/m);
  assert.match(text, /^portcullis_upstream_errors_total\{service="orders",code="UPSTREAM_TIMEOUT"\} 1$/m);
  assert.match(text, /^kong_node_info\{node_id="n-1",version="3.9.0"\} 1$/m);
  assert.match(text, /^kong_datastore_reachable 1$/m);
  assert.match(text, /^kong_nginx_connections_total\{node_id="n-1",subsystem="http",state="accepted"\} 0$/m);
});

test('a new configuration version with the same names keeps adding to the same series', async () => {
  const m = new ProxyMetrics();
  m.recordStatus(rt, svc, '', 200, true);
  m.recordStatus({ ...rt }, { ...svc }, '', 200, true);
  const text = await nodeExposition([await m.registry.getMetricsAsJSON()], node);
  assert.match(text, /^kong_http_requests_total\{service="orders",route="r1",code="200",source="service",workspace="default",consumer=""\} 2$/m);
});

test('the node sums the processes\' counts and leaves the per-request families out while no plugin is configured', async () => {
  const a = new ProxyMetrics();
  const b = new ProxyMetrics();
  a.recordStatus(rt, svc, '', 200, true);
  b.recordStatus(rt, svc, '', 200, true);
  b.recordLatencies(rt, svc, 3, 2, 1);
  a.listeners.accepted = 2;
  b.listeners.accepted = 3;
  const processes = [await a.registry.getMetricsAsJSON(), await b.registry.getMetricsAsJSON()];
  const on = await nodeExposition(processes, node);
  assert.match(on, /^kong_http_requests_total\{service="orders",route="r1",code="200",source="service",workspace="default",consumer=""\} 2$/m);
  assert.match(on, /^kong_nginx_connections_total\{node_id="n-1",subsystem="http",state="accepted"\} 5$/m);
  const off = await nodeExposition(processes, { ...node, pluginConfigured: false, datastoreReachable: false });
  assert.doesNotMatch(off, /kong_http_requests_total|kong_request_latency_ms|kong_nginx_metric_errors_total/);
  assert.match(off, /^kong_datastore_reachable 0$/m);
  assert.match(off, /^kong_node_info\{/m);
});

test('target health: one series per Kong state, 1 for the current one', async () => {
  const text = await nodeExposition([], {
    ...node,
    upstreamHealth: [
      { upstream: 'up', target: 'a:80', address: '10.0.0.1:80', state: 'healthy' },
      { upstream: 'up', target: 'nowhere:80', address: '', state: 'dns_error' },
    ],
  });
  assert.match(text, /^kong_upstream_target_health\{upstream="up",target="a:80",address="10.0.0.1:80",state="healthy",subsystem="http"\} 1$/m);
  assert.match(text, /^kong_upstream_target_health\{upstream="up",target="a:80",address="10.0.0.1:80",state="unhealthy",subsystem="http"\} 0$/m);
  assert.match(text, /^kong_upstream_target_health\{upstream="up",target="nowhere:80",address="",state="dns_error",subsystem="http"\} 1$/m);
});

test('label values are escaped as the text format requires', async () => {
  const m = new ProxyMetrics();
  m.recordStatus({ id: 'r', name: 'a"b\\c\nd' } as RouteEntity, null, '', 200, true);
  const text = await nodeExposition([await m.registry.getMetricsAsJSON()], node);
  assert.match(text, /route="a\\"b\\\\c\\nd"/);
});
