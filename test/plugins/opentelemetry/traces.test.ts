/**
 * opentelemetry through the real proxy at `--workers 2`, with Kong's
 * kong.conf switches for spans (tracing_instrumentations = all,
 * tracing_sampling_rate = 1): spans arrive at a real OTLP/HTTP receiver
 * (test/helpers/otlp-receiver.ts decodes the protobuf on its own), linked as
 * Kong links them, and the trace context reaches the upstream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';
import { startIdp, type Idp } from '../../helpers/idp.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../helpers/otlp-receiver.ts';

let gw: ClusterGateway;
let echo: Echo;
let idp: Idp;
let otlp: OtlpReceiver;

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

before(async () => {
  [echo, idp, otlp] = await Promise.all([startEcho(), startIdp(), startOtlpReceiver()]);
  gw = await startClusterGateway({ workers: 2, env: { KONG_TRACING_INSTRUMENTATIONS: 'all', KONG_TRACING_SAMPLING_RATE: '1' } });
  await gw.waitWorkers(2);
  assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
  assert.equal((await gw.admin('POST', '/services/svc/routes', { name: 'traced', paths: ['/traced'] })).status, 201);
  assert.equal((await gw.admin('POST', '/services/svc/routes', { name: 'oidc', paths: ['/oidc'] })).status, 201);
  // Global: every route is traced; the queue sends batches quickly.
  const otel = await gw.admin('POST', '/plugins', {
    name: 'opentelemetry',
    config: { traces_endpoint: otlp.url, headers: { 'X-Api-Key': 'collector-key' }, resource_attributes: { 'service.name': 'edge-gateway' }, queue: { max_batch_size: 200, max_coalescing_delay: 0.05 } },
  });
  assert.equal(otel.status, 201, JSON.stringify(otel.body));
  const cors = await gw.admin('POST', '/routes/traced/plugins', { name: 'cors', config: {} });
  assert.equal(cors.status, 201, JSON.stringify(cors.body));
  const oidc = await gw.admin('POST', '/routes/oidc/plugins', {
    name: 'openid-connect',
    config: { issuer: idp.discoveryUrl, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'] },
  });
  assert.equal(oidc.status, 201, JSON.stringify(oidc.body));
  await gw.settle();
});

after(async () => {
  await gw?.close();
  await Promise.all([echo?.close(), idp?.close(), otlp?.close()]);
});

const byTrace = (spans: ReceivedSpan[], traceId: string): ReceivedSpan[] => spans.filter((s) => s.traceId === traceId);

describe('opentelemetry traces (--workers 2, tracing_instrumentations = all)', () => {
  test("a request with a W3C traceparent: its spans arrive in the caller's trace, and the upstream sees the balancer span as parent", async () => {
    const r = await gw.get('/traced/hello?x=1', { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc', origin: 'https://app.example' });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as EchoReply;
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(seen.headers['traceparent']));
    assert.ok(m, `upstream traceparent: ${seen.headers['traceparent']}`);
    assert.equal(m[1], CLIENT_TRACE, 'the trace id is the caller’s');
    assert.notEqual(m[2], CLIENT_SPAN, 'the parent the upstream sees is ours');
    assert.equal(seen.headers['tracestate'], 'vendor=abc', 'tracestate passes through untouched');

    const spans = byTrace(await otlp.waitFor((all) => byTrace(all, CLIENT_TRACE).some((s) => s.name === 'kong.header_filter.plugin.opentelemetry')), CLIENT_TRACE);
    const root = spans.find((s) => s.name === 'kong')!;
    assert.equal(root.kind, 2, 'request span is SERVER');
    assert.equal(root.parentSpanId, CLIENT_SPAN, 'request span is a child of the caller’s span');
    assert.equal(root.attributes['http.method'], 'GET');
    assert.equal(root.attributes['http.status_code'], 200n, 'http.status_code is an int_value');
    assert.match(String(root.attributes['http.url']), /^http:\/\/127\.0\.0\.1\/traced\/hello\?x=1$/);
    assert.equal(root.attributes['http.route'], '/traced');
    assert.equal(root.attributes['http.flavor'], '1.1');
    assert.equal(typeof root.attributes['kong.request.id'], 'string');
    assert.ok(root.endNs > root.startNs);

    const names = spans.map((s) => s.name).sort();
    for (const n of ['kong.router', 'kong.access.plugin.cors', 'kong.access.plugin.opentelemetry', 'kong.header_filter.plugin.cors', 'kong.header_filter.plugin.opentelemetry', 'kong.balancer']) {
      assert.ok(names.includes(n), `span ${n} in ${names.join(', ')}`);
    }
    for (const s of spans) {
      if (s === root) continue;
      assert.equal(s.parentSpanId, root.spanId, `${s.name} is a child of the request span`);
      assert.ok(s.startNs >= root.startNs && s.endNs <= root.endNs, `${s.name} lies within the request span`);
    }
    const balancer = spans.find((s) => s.name === 'kong.balancer')!;
    assert.equal(balancer.kind, 3, 'balancer span is CLIENT');
    assert.equal(balancer.spanId, m[2], 'the upstream’s parent is the balancer span');
    assert.equal(balancer.attributes['net.peer.ip'], '127.0.0.1');
    assert.equal(balancer.attributes['net.peer.port'], new URL(echo.url).port === '' ? 80 : Number(new URL(echo.url).port));
    assert.equal(balancer.attributes['try_count'], 1);
    assert.equal(root.resource['service.name'], 'edge-gateway', 'resource_attributes override the defaults');
    assert.equal(root.resource['service.version'], '3.9.0');
    assert.equal(typeof root.resource['service.instance.id'], 'string');
    assert.deepEqual(root.scope, { name: 'kong-internal', version: '0.1.0' });
    const req = otlp.requests.find((q) => q.spans.some((s) => s.traceId === CLIENT_TRACE))!;
    assert.equal(req.headers['x-api-key'], 'collector-key', 'configured headers reach the collector');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');
  });

  test('a request without trace headers starts a new trace, and the caller sampled=0 is honoured', async () => {
    const r = await gw.get('/traced/new');
    const seen = JSON.parse(r.body) as EchoReply;
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(seen.headers['traceparent']))!;
    assert.ok(m, String(seen.headers['traceparent']));
    const spans = byTrace(await otlp.waitFor((all) => byTrace(all, m[1]!).some((s) => s.name === 'kong')), m[1]!);
    assert.equal(spans.find((s) => s.name === 'kong')!.parentSpanId, '', 'a new trace has no parent');

    const unsampledTrace = '1af7651916cd43dd8448eb211c80319c';
    const u = await gw.get('/traced/unsampled', { traceparent: `00-${unsampledTrace}-${CLIENT_SPAN}-00` });
    assert.match(String((JSON.parse(u.body) as EchoReply).headers['traceparent']), new RegExp(`^00-${unsampledTrace}-[0-9a-f]{16}-00$`));
    // Sent after the unsampled one: once its spans are in, the unsampled request's would be too.
    const after = await gw.get('/traced/after');
    const afterTrace = /^00-([0-9a-f]{32})/.exec(String((JSON.parse(after.body) as EchoReply).headers['traceparent']))![1]!;
    await otlp.waitFor((all) => byTrace(all, afterTrace).some((s) => s.name === 'kong'));
    await new Promise((r) => setTimeout(r, 300)); // the other worker's queue (coalescing delay 0.05 s)
    assert.equal(byTrace(otlp.spans(), unsampledTrace).length, 0, 'no span of an unsampled trace is exported');
  });

  test('openid-connect: the IdP call the request waits for (the JWKS) is a kong.internal.request span under the plugin’s access span', async () => {
    const token = await idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid' });
    const traceId = 'aaf7651916cd43dd8448eb211c80319c';
    const r = await gw.get('/oidc', { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${CLIENT_SPAN}-01` });
    assert.equal(r.status, 200, r.body);
    const spans = byTrace(await otlp.waitFor((all) => byTrace(all, traceId).some((s) => s.name === 'kong.header_filter.plugin.opentelemetry')), traceId);
    const access = spans.find((s) => s.name === 'kong.access.plugin.openid-connect');
    assert.ok(access, spans.map((s) => s.name).join(', '));
    const calls = spans.filter((s) => s.name === 'kong.internal.request');
    // Discovery is fetched when the configuration is built; the signing keys on the first token a worker sees.
    assert.ok(calls.length >= 1, spans.map((s) => s.name).join(', '));
    for (const c of calls) {
      assert.equal(c.parentSpanId, access.spanId, 'an IdP call is a child of the plugin span');
      assert.equal(c.kind, 3);
      assert.equal(c.attributes['http.method'], 'GET');
      assert.equal(c.attributes['http.status_code'], 200n);
      assert.ok(c.startNs >= access.startNs && c.endNs <= access.endNs);
    }
    const urls = calls.map((c) => String(c.attributes['http.url']));
    assert.ok(urls.includes(idp.endpoints.jwks), urls.join(', '));
  });

  test('every request served by either worker is exported exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const t = (0x10 + i).toString(16).padStart(2, '0') + 'f7651916cd43dd8448eb211c8031ab';
      ids.push(t);
      assert.equal((await gw.get(`/traced/n${i}`, { traceparent: `00-${t}-${CLIENT_SPAN}-01` })).status, 200);
    }
    const all = await otlp.waitFor((s) => ids.every((t) => byTrace(s, t).some((x) => x.name === 'kong')));
    for (const t of ids) assert.equal(byTrace(all, t).filter((s) => s.name === 'kong').length, 1, `trace ${t}: one request span`);
  });
});
