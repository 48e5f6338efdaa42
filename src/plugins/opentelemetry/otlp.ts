/**
 * OTLP/HTTP protobuf encoding of traces (opentelemetry/proto/collector/trace/v1,
 * the .proto files Kong ships in kong/include/opentelemetry/), as Kong's
 * kong/observability/otlp encodes them:
 *   ExportTraceServiceRequest { resource_spans: [ { resource { attributes },
 *     scope_spans: [ { scope { name: "kong-internal", version: "0.1.0" }, spans } ] } ] }
 * Attribute values: `http.status_code` as int_value, other numbers as
 * double_value (Lua numbers are doubles), strings, booleans.
 *
 * A span is encoded when its request ends (the queue holds encoded spans, as
 * Kong's holds transformed ones); a batch is the concatenation of its spans
 * inside a resource and scope encoded once per plugin configuration.
 */
import { performance } from 'node:perf_hooks';
import type { AttributeValue, Span } from '../../core/tracing/trace.ts';
import { ProtoWriter } from './protobuf.ts';

const INT_ATTRIBUTES = new Set(['http.status_code']);

const writer = new ProtoWriter(8192);

/** performance.now() milliseconds → whole Unix microseconds (written as nanoseconds by fixed64Nanos). */
function unixMicros(ms: number): number {
  return Math.round((performance.timeOrigin + ms) * 1000);
}

function anyValue(w: ProtoWriter, field: number, key: string, value: AttributeValue): void {
  const m = w.fork(field);
  if (typeof value === 'string') w.string(1, value);
  else if (typeof value === 'boolean') w.uint(2, value ? 1 : 0);
  else if (INT_ATTRIBUTES.has(key) && Number.isInteger(value)) w.int64(3, value);
  else w.double(4, value);
  w.join(m);
}

function keyValues(w: ProtoWriter, field: number, attributes: Readonly<Record<string, AttributeValue>>): void {
  for (const key in attributes) {
    const value = attributes[key]!;
    const m = w.fork(field);
    w.string(1, key);
    anyValue(w, 2, key, value);
    w.join(m);
  }
}

/** One Span message (its bytes, untagged). */
export function encodeSpan(span: Span): Buffer {
  const w = writer;
  w.reset();
  w.hexBytes(1, span.trace.traceId);
  w.hexBytes(2, span.spanId);
  if (span.parentId !== null) w.hexBytes(4, span.parentId);
  w.string(5, span.name);
  if (span.kind !== 0) w.uint(6, span.kind);
  w.fixed64Nanos(7, unixMicros(span.start));
  w.fixed64Nanos(8, unixMicros(span.end));
  if (span.attributes !== null) keyValues(w, 9, span.attributes);
  if (span.events !== null) {
    for (const e of span.events) {
      const m = w.fork(11);
      w.fixed64Nanos(1, unixMicros(e.time));
      w.string(2, e.name);
      if (e.attributes !== null) keyValues(w, 3, e.attributes);
      w.join(m);
    }
  }
  if (span.status !== 0) {
    const m = w.fork(15);
    w.uint(3, span.status);
    w.join(m);
  }
  return w.finish();
}

/** A Resource message with these attributes (encoded once per plugin configuration). */
export function encodeResource(attributes: Readonly<Record<string, AttributeValue>>): Buffer {
  const w = new ProtoWriter(512);
  keyValues(w, 1, attributes);
  return w.finish();
}

const SCOPE = (() => {
  const w = new ProtoWriter(64);
  w.string(1, 'kong-internal');
  w.string(2, '0.1.0');
  return w.finish();
})();

/** ExportTraceServiceRequest for a batch of encoded spans. */
export function encodeTraces(resource: Buffer, spans: readonly Buffer[]): Buffer {
  let size = 64 + resource.length;
  for (const s of spans) size += s.length + 4;
  const w = new ProtoWriter(size);
  const rs = w.fork(1);
  w.bytes(1, resource);
  const ss = w.fork(2);
  w.bytes(1, SCOPE);
  for (const s of spans) w.bytes(2, s);
  w.join(ss);
  w.join(rs);
  return w.finish();
}
