/**
 * The opentelemetry plugin's pieces without a gateway: the OTLP encoder read
 * back by the test receiver's own protobuf reader, Kong's trace-id sampler,
 * the propagation formats' edge cases (id sizes, invalid headers) and the
 * tracing settings of kong.conf.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { RequestTrace, SPAN_KIND, sampleByRate } from '../../../src/core/tracing/trace.ts';
import { ALL_INSTRUMENTS, INSTRUMENT, parseInstrumentations, parseSamplingRate } from '../../../src/core/tracing/instrumentations.ts';
import { encodeResource, encodeSpan, encodeTraces } from '../../../src/plugins/opentelemetry/otlp.ts';
import { extract, injectHeaders, type InjectContext } from '../../../src/plugins/opentelemetry/propagation.ts';
import { decodeExportTraceServiceRequest } from '../../helpers/otlp-receiver.ts';

const log = pino({ level: 'silent' });

describe('OTLP encoding', () => {
  test('spans, attributes of every type, events, status and long values decode back as written', () => {
    const t = new RequestTrace(ALL_INSTRUMENTS, performance.now(), 1);
    const child = t.startSpan('kong.internal.request', SPAN_KIND.client);
    child.setAttribute('http.status_code', 503);
    child.setAttribute('net.peer.port', 8443);
    child.setAttribute('kong.flag', true);
    child.setAttribute('http.url', `https://idp.example/${'x'.repeat(20_000)}`); // lengths beyond one varint byte, nested
    child.recordError('connection refused');
    child.status = 2;
    t.finish(performance.now() + 1);
    const body = encodeTraces(encodeResource({ 'service.name': 'kong', 'service.version': '3.9.0' }), t.spans.map(encodeSpan));
    const spans = decodeExportTraceServiceRequest(body);
    assert.equal(spans.length, 2);
    const [root, c] = spans as [NonNullable<(typeof spans)[0]>, NonNullable<(typeof spans)[0]>];
    assert.equal(root.traceId, t.traceId);
    assert.equal(root.spanId, t.root.spanId);
    assert.equal(root.parentSpanId, '');
    assert.equal(root.kind, 2);
    assert.equal(c.parentSpanId, root.spanId);
    assert.equal(c.attributes['http.status_code'], 503n, 'int_value');
    assert.equal(c.attributes['net.peer.port'], 8443, 'double_value, as Lua numbers are');
    assert.equal(c.attributes['kong.flag'], true);
    assert.equal(String(c.attributes['http.url']).length, 20_020);
    assert.deepEqual(c.events, [{ name: 'exception', attributes: { 'exception.message': 'connection refused' } }]);
    assert.equal(c.status, 2);
    assert.deepEqual(root.resource, { 'service.name': 'kong', 'service.version': '3.9.0' });
    assert.deepEqual(root.scope, { name: 'kong-internal', version: '0.1.0' });
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    assert.ok(root.startNs <= root.endNs && nowNs - root.startNs < 10_000_000_000n, 'Unix nanoseconds');
  });
});

describe("Kong's sampler", () => {
  test('rate 1 always, 0 never; in between by the first 8 bytes of the trace id read little-endian', () => {
    assert.equal(sampleByRate('ffffffffffffffffffffffffffffffff', 1), true);
    assert.equal(sampleByRate('00000000000000000000000000000001', 0), false);
    // first byte 0x01 (little-endian: the lowest), the rest 0: tiny value → sampled at any rate > 0
    assert.equal(sampleByRate('01000000000000000000000000000000', 0.0001), true);
    // last of the 8 bytes 0x80: value 2^63 → sampled only above rate 0.5
    assert.equal(sampleByRate('00000000000000800000000000000000', 0.5), false);
    assert.equal(sampleByRate('00000000000000800000000000000000', 0.51), true);
  });
});

describe('propagation formats', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN = '00f067aa0ba902b7';
  const out = (over: Partial<InjectContext> = {}): InjectContext => ({ traceId: TRACE, traceIdOriginalSize: null, spanId: SPAN, parentId: null, shouldSample: true, flags: null, baggage: null, ...over });

  test('invalid traceparent values are ignored (version, all-zero ids, lengths)', () => {
    for (const tp of [`01-${TRACE}-${SPAN}-01`, `00-${'0'.repeat(32)}-${SPAN}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `00-${TRACE.slice(2)}-${SPAN}-01`, `00-${TRACE}-${SPAN}-1`, 'garbage']) {
      assert.equal(extract({ traceparent: tp }, ['w3c'], log).from, null, tp);
    }
    const ok = extract({ traceparent: `00-${TRACE.toUpperCase()}-${SPAN}-03` }, ['w3c'], log);
    assert.equal(ok.from, 'w3c');
    assert.equal(ok.context.traceId, TRACE);
    assert.equal(ok.context.shouldSample, true);
  });

  test('the first configured extractor whose headers are present wins', () => {
    const h = { traceparent: `00-${TRACE}-${SPAN}-01`, 'x-b3-traceid': 'a'.repeat(32), 'x-b3-spanid': 'b'.repeat(16) };
    assert.equal(extract(h, ['b3', 'w3c'], log).context.traceId, 'a'.repeat(32));
    assert.equal(extract(h, ['w3c', 'b3'], log).context.traceId, TRACE);
    assert.equal(extract(h, [], log).from, null, 'no extractors: nothing read');
  });

  test("ids keep their size where the format allows it, else Kong's size (64-bit b3 in, 64-bit b3 out; w3c pads)", () => {
    const e = extract({ 'x-b3-traceid': 'a'.repeat(16), 'x-b3-spanid': SPAN }, ['b3'], log).context;
    assert.equal(e.traceId, '0'.repeat(16) + 'a'.repeat(16));
    assert.equal(e.traceIdOriginalSize, 8);
    const o = out({ traceId: e.traceId!, traceIdOriginalSize: 8 });
    assert.equal(injectHeaders('b3', o)['x-b3-traceid'], 'a'.repeat(16));
    assert.equal(injectHeaders('w3c', o).traceparent, `00-${'0'.repeat(16)}${'a'.repeat(16)}-${SPAN}-01`);
    assert.equal(injectHeaders('datadog', out())['x-datadog-trace-id'], BigInt('0x' + TRACE.slice(16)).toString());
    assert.equal(injectHeaders('ot', out())['ot-tracer-traceid'], TRACE.slice(16), "ot's first allowed size is 8 bytes");
  });

  test('b3 single header forms: sampling only, debug, with parent; b3 inside tracestate', () => {
    assert.equal(extract({ b3: '0' }, ['b3'], log).context.shouldSample, false);
    const d = extract({ b3: 'd' }, ['b3'], log).context;
    assert.deepEqual([d.shouldSample, d.flags, d.singleHeader], [true, '1', true]);
    assert.equal(injectHeaders('b3-single', out({ flags: '1' })).b3, `${TRACE}-${SPAN}-d`);
    const p = extract({ b3: `${TRACE}-${SPAN}-1-${'c'.repeat(16)}` }, ['b3'], log).context;
    assert.equal(p.parentId, 'c'.repeat(16));
    assert.equal(extract({ tracestate: `congo=t61rcWkgMzE, b3=${TRACE}-${SPAN}-1` }, ['b3'], log).context.traceId, TRACE);
  });

  test('datadog and gcp decimal ids; aws Root/Parent/Sampled', () => {
    const dd = extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-sampling-priority': '2' }, ['datadog'], log).context;
    assert.equal(dd.traceId, '0'.repeat(31) + '1');
    assert.equal(dd.spanId, '0'.repeat(15) + '2');
    assert.equal(dd.shouldSample, true);
    const g = extract({ 'x-cloud-trace-context': `${TRACE}/18446744073709551615;o=1` }, ['gcp'], log).context;
    assert.equal(g.spanId, 'f'.repeat(16));
    assert.equal(injectHeaders('gcp', out({ spanId: 'f'.repeat(16) }))['x-cloud-trace-context'], `${TRACE}/18446744073709551615;o=1`);
    const a = extract({ 'x-amzn-trace-id': `Root=1-${TRACE.slice(0, 8)}-${TRACE.slice(8)};Parent=${SPAN};Sampled=0` }, ['aws'], log).context;
    assert.deepEqual([a.traceId, a.spanId, a.shouldSample], [TRACE, SPAN, false]);
    assert.equal(extract({ 'x-amzn-trace-id': 'Root=2-123-456' }, ['aws'], log).from, null);
  });
});

describe('kong.conf tracing settings', () => {
  test('tracing_instrumentations: off, all, lists; db_query and dns_query refused naming the value', () => {
    assert.equal(parseInstrumentations('off'), 0);
    assert.equal(parseInstrumentations('all'), ALL_INSTRUMENTS);
    assert.equal(parseInstrumentations('router, balancer'), INSTRUMENT.request | INSTRUMENT.router | INSTRUMENT.balancer);
    assert.throws(() => parseInstrumentations('db_query'), /tracing_instrumentations: 'db_query' is not supported/);
    assert.throws(() => parseInstrumentations('all,router'), /'all' cannot be combined/);
    assert.throws(() => parseInstrumentations('routr'), /unknown instrumentation 'routr'/);
    assert.equal(parseSamplingRate('0.25'), 0.25);
    assert.throws(() => parseSamplingRate('1.5'), /tracing_sampling_rate: expected a number from 0 to 1/);
  });
});
