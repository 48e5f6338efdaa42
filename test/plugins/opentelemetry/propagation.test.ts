/**
 * opentelemetry through the real proxy (one worker, in process): the
 * schema's checks and defaults, header propagation in every format Kong
 * supports, Kong's default of tracing off (headers propagated, no span
 * exported), sampling_rate overriding tracing_sampling_rate, and a collector
 * that fails before it accepts (the queue retries).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../../helpers/otlp-receiver.ts';

let gw: TestGateway; // Kong's defaults: tracing_instrumentations = off
let traced: TestGateway; // tracing_instrumentations = all, tracing_sampling_rate = 0 (the plugin's sampling_rate decides)
let echo: Echo;
let otlp: OtlpReceiver;
let n = 0;

before(async () => {
  [echo, otlp] = await Promise.all([startEcho(), startOtlpReceiver()]);
  [gw, traced] = await Promise.all([
    startGateway({ logLevel: 'warn' }),
    startGateway({ logLevel: 'warn', flags: { 'tracing-instrumentations': 'router,balancer', 'tracing-sampling-rate': '0' } }),
  ]);
  for (const g of [gw, traced]) assert.equal((await g.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
});
after(async () => {
  await Promise.all([gw?.close(), traced?.close()]);
  await Promise.all([echo?.close(), otlp?.close()]);
});

async function route(g: TestGateway, config: Record<string, unknown>): Promise<string> {
  const name = `otel${++n}`;
  assert.equal((await g.admin('POST', '/services/svc/routes', { name, paths: [`/${name}`] })).status, 201);
  const r = await g.admin('POST', `/routes/${name}/plugins`, { name: 'opentelemetry', config: { traces_endpoint: otlp.url, ...config } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await g.settle();
  return `${g.proxyUrl}/${name}`;
}

async function upstreamHeaders(url: string, headers: Record<string, string> = {}): Promise<{ res: Response; seen: Record<string, string | string[]> }> {
  const res = await fetch(url, { headers });
  assert.equal(res.status, 200);
  return { res, seen: ((await res.json()) as EchoReply).headers };
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('schema', () => {
  test("Kong's defaults are filled in (queue.max_batch_size 200, header_type preserve, propagation.default_format w3c, timeouts)", async () => {
    await gw.admin('POST', '/services/svc/routes', { name: 'schema1', paths: ['/schema1'] });
    const r = await gw.admin('POST', '/routes/schema1/plugins', { name: 'opentelemetry', config: { endpoint: otlp.url } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const c = r.body.config;
    assert.equal(c.queue.max_batch_size, 200);
    assert.equal(c.queue.max_coalescing_delay, 1);
    assert.equal(c.header_type, 'preserve');
    assert.equal(c.propagation.default_format, 'w3c');
    assert.deepEqual([c.connect_timeout, c.send_timeout, c.read_timeout], [1000, 5000, 5000]);
    assert.equal(c.sampling_rate, null);
    assert.equal(c.endpoint, otlp.url, 'the deprecated endpoint is accepted');
  });

  test('no endpoint: Kong’s at_least_one_of message; logs_endpoint is refused naming the field; sampling_rate is bounded', async () => {
    const none = await gw.admin('POST', '/plugins', { name: 'opentelemetry', config: {} });
    assert.equal(none.status, 400);
    assert.deepEqual(none.body.fields['@entity'], ["at least one of these fields must be non-empty: 'config.traces_endpoint', 'config.logs_endpoint'"]);
    const logs = await gw.admin('POST', '/plugins', { name: 'opentelemetry', config: { traces_endpoint: otlp.url, logs_endpoint: 'http://127.0.0.1:1/v1/logs' } });
    assert.equal(logs.status, 400);
    assert.match(JSON.stringify(logs.body.fields), /logs_endpoint.*not supported/);
    const rate = await gw.admin('POST', '/plugins', { name: 'opentelemetry', config: { traces_endpoint: otlp.url, sampling_rate: 2 } });
    assert.equal(rate.status, 400);
    const fmt = await gw.admin('POST', '/plugins', { name: 'opentelemetry', config: { traces_endpoint: otlp.url, propagation: { extract: ['b3-single'] } } });
    assert.equal(fmt.status, 400, 'b3-single is an injector only, as in Kong');
  });
});

describe('propagation with tracing off (Kong’s default tracing_instrumentations = off)', () => {
  test('the caller’s traceparent goes upstream with a new parent and sampled=00; the trace id is answered in http_response_header_for_traceid; nothing is exported', async () => {
    const url = await route(gw, { http_response_header_for_traceid: 'X-Trace-Id', queue: { max_batch_size: 10, max_coalescing_delay: 0.01 } });
    const { res, seen } = await upstreamHeaders(url, { traceparent: `00-${TRACE}-${SPAN}-01` });
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(String(seen['traceparent']));
    assert.ok(m, String(seen['traceparent']));
    assert.equal(m[1], TRACE);
    assert.notEqual(m[2], SPAN);
    assert.equal(res.headers.get('x-trace-id'), TRACE);
    const fresh = await upstreamHeaders(url);
    assert.match(String(fresh.seen['traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, 'a trace is started for a caller without one');
    assert.equal(fresh.res.headers.get('x-trace-id'), String(fresh.seen['traceparent']).slice(3, 35));
    await new Promise((r) => setTimeout(r, 200)); // ten times the coalescing delay
    assert.equal(otlp.spans().filter((s) => s.traceId === TRACE).length, 0, 'propagation only: no spans');
  });

  const CASES: Array<[string, Record<string, string>, (h: Record<string, string | string[]>) => void]> = [
    ['b3 (multi-header)', { 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-sampled': '1' }, (h) => {
      assert.equal(h['x-b3-traceid'], TRACE);
      assert.match(String(h['x-b3-spanid']), /^[0-9a-f]{16}$/);
      assert.notEqual(h['x-b3-spanid'], SPAN);
      assert.equal(h['x-b3-sampled'], '0', 'tracing off: not sampled');
      assert.equal(h['traceparent'], undefined, 'preserve injects the format that came in');
    }],
    ['b3 single header', { b3: `${TRACE}-${SPAN}-1` }, (h) =>
      assert.match(String(h['b3']), new RegExp(`^${TRACE}-[0-9a-f]{16}-0-${SPAN}$`), "trace-span-sampled-parent: the parent is the caller's span")],
    ['jaeger', { 'uber-trace-id': `${TRACE}:${SPAN}:0:1`, 'uberctx-user': 'alice smith' }, (h) => {
      assert.match(String(h['uber-trace-id']), new RegExp(`^${TRACE}:[0-9a-f]{16}:${SPAN}:00$`), 'the parent is the caller’s span');
      assert.equal(h['uberctx-user'], 'alice%20smith');
    }],
    ['ot', { 'ot-tracer-traceid': TRACE.slice(16), 'ot-tracer-spanid': SPAN, 'ot-tracer-sampled': '1' }, (h) => {
      assert.equal(h['ot-tracer-traceid'], TRACE.slice(16), 'an 8-byte trace id stays 8 bytes');
      assert.equal(h['ot-tracer-sampled'], '0');
    }],
    ['datadog', { 'x-datadog-trace-id': '12345678901234567890', 'x-datadog-parent-id': '987654321', 'x-datadog-sampling-priority': '1' }, (h) => {
      assert.equal(h['x-datadog-trace-id'], '12345678901234567890');
      assert.match(String(h['x-datadog-parent-id']), /^\d+$/);
      assert.notEqual(h['x-datadog-parent-id'], '987654321');
    }],
    ['aws', { 'x-amzn-trace-id': `Root=1-${TRACE.slice(0, 8)}-${TRACE.slice(8)};Parent=${SPAN};Sampled=1` }, (h) =>
      assert.match(String(h['x-amzn-trace-id']), new RegExp(`^Root=1-${TRACE.slice(0, 8)}-${TRACE.slice(8)};Parent=[0-9a-f]{16};Sampled=0$`))],
    ['gcp', { 'x-cloud-trace-context': `${TRACE}/12345;o=1` }, (h) => assert.match(String(h['x-cloud-trace-context']), new RegExp(`^${TRACE}/\\d+;o=0$`))],
  ];
  for (const [format, sent, check] of CASES) {
    test(`header_type preserve: a ${format} context is extracted and injected in the same format`, async () => {
      const url = await route(gw, {});
      check((await upstreamHeaders(url, sent)).seen);
    });
  }

  test('propagation: extract w3c, clear traceparent, inject b3 and datadog', async () => {
    const url = await route(gw, { propagation: { extract: ['w3c'], clear: ['traceparent'], inject: ['b3', 'datadog'], default_format: 'w3c' } });
    const { seen } = await upstreamHeaders(url, { traceparent: `00-${TRACE}-${SPAN}-01` });
    assert.equal(seen['traceparent'], undefined, 'cleared');
    assert.equal(seen['x-b3-traceid'], TRACE);
    assert.equal(seen['x-datadog-trace-id'], BigInt('0x' + TRACE.slice(16)).toString(), 'datadog carries the low 8 bytes in decimal');
  });

  test("header_type ignore: the caller's context is not read; default_format is injected", async () => {
    const url = await route(gw, { header_type: 'ignore', propagation: { default_format: 'b3-single' } });
    const { seen } = await upstreamHeaders(url, { traceparent: `00-${TRACE}-${SPAN}-01` });
    assert.equal(seen['traceparent'], `00-${TRACE}-${SPAN}-01`, 'the caller’s own header is left as it was');
    assert.match(String(seen['b3']), /^[0-9a-f]{32}-[0-9a-f]{16}-0$/);
    assert.ok(!String(seen['b3']).startsWith(TRACE), 'a new trace');
  });
});

describe('sampling and export (tracing_instrumentations = router,balancer, tracing_sampling_rate = 0)', () => {
  test("sampling_rate 1 overrides the node's rate of 0: the spans are exported, only the instrumentations asked for", async () => {
    const url = await route(traced, { sampling_rate: 1, queue: { max_batch_size: 50, max_coalescing_delay: 0.01 } });
    const { seen } = await upstreamHeaders(url, { traceparent: `00-${TRACE}-${SPAN}-01` });
    const parent = /^00-[0-9a-f]{32}-([0-9a-f]{16})-01$/.exec(String(seen['traceparent']))![1];
    const spans = (await otlp.waitFor((all) => all.filter((s) => s.traceId === TRACE).length >= 3)).filter((s) => s.traceId === TRACE);
    assert.deepEqual(spans.map((s) => s.name).sort(), ['kong', 'kong.balancer', 'kong.router']);
    assert.equal(spans.find((s) => s.name === 'kong.balancer')!.spanId, parent);
  });

  test('without sampling_rate the node’s tracing_sampling_rate (0) applies: propagated as not sampled, nothing exported', async () => {
    const url = await route(traced, { queue: { max_batch_size: 50, max_coalescing_delay: 0.01 } });
    const trace = '5bf92f3577b34da6a3ce929d0e0e4736';
    const { seen } = await upstreamHeaders(url, { traceparent: `00-${trace}-${SPAN}-01` });
    assert.match(String(seen['traceparent']), /-00$/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(otlp.spans().filter((s) => s.traceId === trace).length, 0);
  });

  test('an upstream that refuses connections: one kong.balancer span per try, each an error, and the request span says 502', async () => {
    assert.equal((await traced.admin('POST', '/services', { name: 'dead', url: 'http://127.0.0.1:1', retries: 2 })).status, 201);
    assert.equal((await traced.admin('POST', '/services/dead/routes', { name: 'deadroute', paths: ['/dead'] })).status, 201);
    const p = await traced.admin('POST', '/routes/deadroute/plugins', { name: 'opentelemetry', config: { traces_endpoint: otlp.url, sampling_rate: 1, queue: { max_batch_size: 50, max_coalescing_delay: 0.01 } } });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    await traced.settle();
    const trace = '7bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${traced.proxyUrl}/dead`, { headers: { traceparent: `00-${trace}-${SPAN}-01` } });
    assert.equal(res.status, 502);
    const spans = (await otlp.waitFor((all) => all.filter((s) => s.traceId === trace).length >= 5)).filter((s) => s.traceId === trace);
    const tries = spans.filter((s) => s.name === 'kong.balancer').sort((a, b) => Number(a.attributes['try_count']) - Number(b.attributes['try_count']));
    assert.deepEqual(tries.map((t) => t.attributes['try_count']), [1, 2, 3]);
    for (const t of tries) {
      assert.equal(t.status, 2, 'a failed try is an error');
      assert.equal(t.attributes['net.peer.port'], 1);
      assert.equal(t.attributes['http.status_code'], 502n);
    }
    assert.equal(spans.find((s) => s.name === 'kong')!.attributes['http.status_code'], 502n);
  });

  test('a collector answering 500 gets the batch again (queue retry) and the spans arrive once it accepts', async () => {
    const url = await route(traced, { sampling_rate: 1, queue: { max_batch_size: 50, max_coalescing_delay: 0.01, initial_retry_delay: 0.05 } });
    const trace = '6bf92f3577b34da6a3ce929d0e0e4736';
    otlp.status = 500;
    try {
      await upstreamHeaders(url, { traceparent: `00-${trace}-${SPAN}-01` });
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(otlp.spans().filter((s) => s.traceId === trace).length, 0, 'refused while the collector fails');
    } finally {
      otlp.status = 200;
    }
    const spans = await otlp.waitFor((all) => all.filter((s) => s.traceId === trace).length >= 3);
    assert.equal(spans.filter((s) => s.traceId === trace && s.name === 'kong').length, 1, 'delivered once');
  });
});
