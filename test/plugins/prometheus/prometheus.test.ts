/**
 * prometheus through the whole gateway (one process; test/plugins/prometheus/
 * workers.test.ts runs two workers): Kong's schema and defaults, each option
 * switching its metric family, Kong's names and labels on the Admin API's and
 * the status listener's /metrics, the exposition parsed by promtool, and the
 * status listener's /status and /status/ready (kong/status/ready.lua).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { KONG_NAME_LINT, promtoolAvailable, promtoolCheck } from '../../helpers/promtool.ts';
import '../../../src/plugins/index.ts';
import { parseDeclarative } from '../../../src/store/declarative/index.ts';

let gw: TestGateway;
let echo: Echo;
let statusUrl: string;

before(async () => {
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'warn', flags: { 'status-listen': '127.0.0.1:0' } });
  statusUrl = `http://127.0.0.1:${gw.gateway.statusAddresses()[0]!.port}`;
  assert.equal((await gw.admin('POST', '/services', { name: 'prom-svc', url: `${echo.url}/anything` })).status, 201);
});
after(async () => {
  await gw?.close();
  await echo?.close();
});

async function metrics(base = gw.adminUrl): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

/** The value of the one sample line that starts with `prefix`, or null. */
function sample(text: string, prefix: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function route(name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await gw.admin('POST', '/services/prom-svc/routes', { name, paths: [`/${name}`], ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function plugin(path: string, body: Record<string, unknown>): Promise<string> {
  const r = await gw.admin('POST', path, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return (r.body as { id: string }).id;
}

describe('without a prometheus plugin', () => {
  test('/metrics serves the node gauges only (Kong hides the per-request families until the plugin is configured)', async () => {
    await route('prom-none');
    await gw.settle();
    assert.equal((await fetch(`${gw.proxyUrl}/prom-none`)).status, 200);
    const text = await metrics();
    assert.match(text, /^kong_node_info\{node_id="[0-9a-f-]{36}",version="3\.9\.\d+"\} 1$/m);
    assert.match(text, /^kong_datastore_reachable 1$/m);
    assert.match(text, /^kong_nginx_connections_total\{node_id="[0-9a-f-]{36}",subsystem="http",state="accepted"\} [1-9]\d*$/m);
    assert.match(text, /^kong_nginx_requests_total\{node_id="[0-9a-f-]{36}",subsystem="http"\} [1-9]\d*$/m);
    assert.match(text, /^kong_memory_workers_lua_vms_bytes\{node_id="[0-9a-f-]{36}",pid="\d+",kong_subsystem="http"\} \d+$/m);
    assert.doesNotMatch(text, /kong_http_requests_total|kong_request_latency_ms|kong_nginx_metric_errors_total/);
  });
});

describe('schema', () => {
  test('Kong\'s defaults: every option off', async () => {
    await route('prom-schema');
    const r = await gw.admin('POST', '/routes/prom-schema/plugins', { name: 'prometheus' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.config, {
      per_consumer: false,
      status_code_metrics: false,
      ai_metrics: false,
      latency_metrics: false,
      bandwidth_metrics: false,
      upstream_health_metrics: false,
    });
    assert.equal((await gw.admin('DELETE', `/plugins/${r.body.id}`)).status, 204);
  });

  test('an unknown field and a wrong type are refused with Kong\'s schema violation', async () => {
    const r = await gw.admin('POST', '/plugins', { name: 'prometheus', config: { latency_metric: true } });
    assert.equal(r.status, 400);
    assert.equal(r.body.name, 'schema violation');
    assert.deepEqual(r.body.fields, { config: { latency_metric: 'unknown field' } });
    const t = await gw.admin('POST', '/plugins', { name: 'prometheus', config: { per_consumer: 'yes' } });
    assert.equal(t.status, 400);
    assert.deepEqual(t.body.fields, { config: { per_consumer: 'expected a boolean' } });
  });
});

test('a kong.yml with Kong\'s documented example loads (global, every option on, ai_metrics included)', () => {
  const yml = [
    '_format_version: "3.0"',
    'plugins:',
    '  - name: prometheus',
    '    config:',
    '      per_consumer: false',
    '      status_code_metrics: true',
    '      latency_metrics: true',
    '      bandwidth_metrics: true',
    '      upstream_health_metrics: true',
    '      ai_metrics: false',
    '',
  ].join('\n');
  const parsed = parseDeclarative(yml, { format: 'yaml' });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  assert.equal(parsed.config.plugins[0]!.name, 'prometheus');
});

describe('a route-scoped plugin with every option on', () => {
  before(async () => {
    await route('prom-all');
    await route('prom-kong');
    await route('prom-other');
    await plugin('/routes/prom-all/plugins', { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true } });
    await plugin('/routes/prom-kong/plugins', { name: 'prometheus', config: { status_code_metrics: true } });
    await plugin('/routes/prom-kong/plugins', { name: 'request-termination', config: { status_code: 403 } });
    await gw.settle();
  });

  test('counts status codes, latencies and bandwidth under Kong\'s names, labels and label order', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${gw.proxyUrl}/prom-all`, { method: 'POST', body: 'hello' })).status, 200);
    const text = await metrics();
    assert.equal(sample(text, 'kong_http_requests_total{service="prom-svc",route="prom-all",code="200",source="service",workspace="default",consumer=""}'), 3);
    assert.equal(sample(text, 'kong_request_latency_ms_count{service="prom-svc",route="prom-all",workspace="default"}'), 3);
    assert.equal(sample(text, 'kong_request_latency_ms_bucket{service="prom-svc",route="prom-all",workspace="default",le="+Inf"}'), 3);
    assert.equal(sample(text, 'kong_upstream_latency_ms_count{service="prom-svc",route="prom-all",workspace="default"}'), 3);
    assert.equal(sample(text, 'kong_kong_latency_ms_count{service="prom-svc",route="prom-all",workspace="default"}'), 3);
    // Kong's buckets, `le` last.
    assert.match(text, /^kong_kong_latency_ms_bucket\{service="prom-svc",route="prom-all",workspace="default",le="7"\} \d+$/m);
    assert.match(text, /^kong_upstream_latency_ms_bucket\{service="prom-svc",route="prom-all",workspace="default",le="80"\} \d+$/m);
    assert.equal(sample(text, 'kong_bandwidth_bytes{service="prom-svc",route="prom-all",direction="ingress",workspace="default",consumer=""}'), 15);
    assert.ok((sample(text, 'kong_bandwidth_bytes{service="prom-svc",route="prom-all",direction="egress",workspace="default",consumer=""}') ?? 0) > 0);
    assert.match(text, /^# HELP kong_http_requests_total HTTP status codes per consumer\/service\/route in Kong$/m);
    assert.match(text, /^# TYPE kong_request_latency_ms histogram$/m);
    assert.match(text, /^kong_nginx_metric_errors_total 0$/m);
  });

  test('a plugin\'s answer is source="kong"; only the families switched on are filled', async () => {
    assert.equal((await fetch(`${gw.proxyUrl}/prom-kong`)).status, 403);
    const text = await metrics();
    assert.equal(sample(text, 'kong_http_requests_total{service="prom-svc",route="prom-kong",code="403",source="kong",workspace="default",consumer=""}'), 1);
    assert.doesNotMatch(text, /kong_request_latency_ms_count\{service="prom-svc",route="prom-kong"/);
    assert.doesNotMatch(text, /kong_bandwidth_bytes\{service="prom-svc",route="prom-kong"/);
  });

  test('a route without the plugin is not counted', async () => {
    assert.equal((await fetch(`${gw.proxyUrl}/prom-other`)).status, 200);
    assert.doesNotMatch(await metrics(), /route="prom-other"/);
  });

  test('the status listener serves the same /metrics', async () => {
    const text = await metrics(statusUrl);
    assert.equal(sample(text, 'kong_http_requests_total{service="prom-svc",route="prom-all",code="200",source="service",workspace="default",consumer=""}'), 3);
  });

  test('promtool parses the exposition; its only lint findings are those of Kong\'s own names', { skip: promtoolAvailable() ? false : 'promtool (Debian package prometheus) is not installed' }, async () => {
    const result = await promtoolCheck(await metrics());
    assert.ok(result.parsed, result.output);
    for (const finding of result.lint) assert.ok(KONG_NAME_LINT.some((re) => re.test(finding)), `lint finding not explained by Kong's names: ${finding}`);
  });
});

describe('per_consumer and a consumer-scoped plugin', () => {
  before(async () => {
    await route('prom-consumer');
    await plugin('/routes/prom-consumer/plugins', { name: 'key-auth', config: {} });
    assert.equal((await gw.admin('POST', '/consumers', { username: 'prom-alice' })).status, 201);
    assert.equal((await gw.admin('POST', '/consumers/prom-alice/key-auth', { key: 'prom-alice-key' })).status, 201);
    assert.equal((await gw.admin('POST', '/consumers', { username: 'prom-bob' })).status, 201);
    assert.equal((await gw.admin('POST', '/consumers/prom-bob/key-auth', { key: 'prom-bob-key' })).status, 201);
    // Only alice's requests run this instance (Kong's consumer scope).
    await plugin('/consumers/prom-alice/plugins', { name: 'prometheus', config: { per_consumer: true, status_code_metrics: true, bandwidth_metrics: true } });
    await gw.settle();
  });

  test('the consumer label carries the consumer\'s username; other consumers\' requests are not counted by it', async () => {
    assert.equal((await fetch(`${gw.proxyUrl}/prom-consumer`, { headers: { apikey: 'prom-alice-key' } })).status, 200);
    assert.equal((await fetch(`${gw.proxyUrl}/prom-consumer`, { headers: { apikey: 'prom-alice-key' } })).status, 200);
    assert.equal((await fetch(`${gw.proxyUrl}/prom-consumer`, { headers: { apikey: 'prom-bob-key' } })).status, 200);
    const text = await metrics();
    assert.equal(sample(text, 'kong_http_requests_total{service="prom-svc",route="prom-consumer",code="200",source="service",workspace="default",consumer="prom-alice"}'), 2);
    assert.match(text, /^kong_bandwidth_bytes\{service="prom-svc",route="prom-consumer",direction="egress",workspace="default",consumer="prom-alice"\} [1-9]\d*$/m);
    assert.doesNotMatch(text, /consumer="prom-bob"/);
  });
});

describe('upstream_health_metrics', () => {
  test('kong_upstream_target_health: one series per state, 1 for the target\'s (health checks off here)', async () => {
    assert.equal((await gw.admin('POST', '/upstreams', { name: 'prom-up' })).status, 201);
    const port = new URL(echo.url).port;
    assert.equal((await gw.admin('POST', '/upstreams/prom-up/targets', { target: `127.0.0.1:${port}` })).status, 201);
    let text = await metrics();
    assert.doesNotMatch(text, /kong_upstream_target_health/, 'off until a plugin asks for it');
    const id = await plugin('/plugins', { name: 'prometheus', config: { upstream_health_metrics: true } });
    await gw.settle();
    text = await metrics();
    const labels = `upstream="prom-up",target="127.0.0.1:${port}",address="127.0.0.1:${port}"`;
    assert.equal(sample(text, `kong_upstream_target_health{${labels},state="healthchecks_off",subsystem="http"}`), 1);
    assert.equal(sample(text, `kong_upstream_target_health{${labels},state="healthy",subsystem="http"}`), 0);
    assert.equal(sample(text, `kong_upstream_target_health{${labels},state="dns_error",subsystem="http"}`), 0);
    assert.equal((await gw.admin('DELETE', `/plugins/${id}`)).status, 204);
  });
});

describe('the status listener (status_listen)', () => {
  test('GET /status: Kong\'s body (database, memory, server with the proxy\'s counters), no admin token asked', async () => {
    const res = await fetch(`${statusUrl}/status`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { database: unknown; memory: unknown; server: Record<string, number> };
    assert.deepEqual(body.database, { reachable: true });
    assert.ok(typeof body.memory === 'object');
    assert.deepEqual(Object.keys(body.server).sort(), ['connections_accepted', 'connections_active', 'connections_handled', 'connections_reading', 'connections_waiting', 'connections_writing', 'total_requests']);
    assert.ok(body.server.total_requests > 0 && body.server.connections_accepted > 0, JSON.stringify(body.server));
  });

  test('only the status endpoints: the Admin API is not there', async () => {
    const res = await fetch(`${statusUrl}/services`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { message: 'Not found' });
  });

  test('GET /status/ready: 200 {"message":"ready"}; after POST {status: draining}: 204, then 503 {"message":"draining"}', async () => {
    const ready = await fetch(`${statusUrl}/status/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { message: 'ready' });
    const bad = await fetch(`${statusUrl}/status/ready`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"status":"other"}' });
    assert.equal(bad.status, 400);
    const drain = await fetch(`${statusUrl}/status/ready`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"status":"draining"}' });
    assert.equal(drain.status, 204);
    const after = await fetch(`${statusUrl}/status/ready`);
    assert.equal(after.status, 503);
    assert.deepEqual(await after.json(), { message: 'draining' });
  });
});
