/** Proxy metrics render in Prometheus text with Kong's names, labels and buckets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyMetrics } from '../../../src/core/metrics.ts';
import type { RouteEntity, ServiceEntity } from '../../../src/schema/entities/types.ts';

const svc = { id: 's1', name: 'orders', host: 'orders.internal' } as ServiceEntity;
const rt = { id: 'r1', name: null } as RouteEntity;

test('requests are counted per service, route (name, else id), status and source', async () => {
  const m = new ProxyMetrics();
  m.observe(rt, svc, 200, 'service', 12, 2, 10, 5, 100);
  m.observe(rt, svc, 200, 'service', 30, 3, 27, 0, 100);
  m.observe(rt, svc, 401, 'exit', 1, 1, -1, 0, 20);
  m.setConfigVersion(7);
  m.upstreamError(svc, 'UPSTREAM_TIMEOUT');
  const text = await m.registry.metrics();
  assert.match(text, /kong_http_requests_total\{service="orders",route="r1",code="200",source="service",workspace="default",consumer=""\} 2/);
  assert.match(text, /kong_http_requests_total\{service="orders",route="r1",code="401",source="exit",workspace="default",consumer=""\} 1/);
  assert.match(text, /kong_request_latency_ms_bucket\{le="15",service="orders",route="r1",workspace="default"\} 2/);
  assert.match(text, /kong_request_latency_ms_bucket\{le="\+Inf",service="orders",route="r1",workspace="default"\} 3/);
  assert.match(text, /kong_request_latency_ms_sum\{service="orders",route="r1",workspace="default"\} 43/);
  assert.match(text, /kong_upstream_latency_ms_count\{service="orders",route="r1",workspace="default"\} 2/);
  assert.match(text, /kong_bandwidth_bytes\{service="orders",route="r1",direction="egress",workspace="default",consumer=""\} 220/);
  assert.match(text, /portcullis_config_version 7/);
  assert.match(text, /portcullis_upstream_errors_total\{service="orders",code="UPSTREAM_TIMEOUT"\} 1/);
});

test('a new configuration version with the same names keeps adding to the same series', async () => {
  const m = new ProxyMetrics();
  m.observe(rt, svc, 200, 'service', 1, 1, 1, 0, 0);
  m.observe({ ...rt }, { ...svc }, 200, 'service', 1, 1, 1, 0, 0);
  const text = await m.registry.metrics();
  assert.match(text, /kong_http_requests_total\{service="orders",route="r1",code="200",source="service",workspace="default",consumer=""\} 2/);
});
