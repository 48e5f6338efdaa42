/**
 * Trace-context headers (Kong's kong/observability/tracing/propagation, 3.9.3):
 * extractors read the caller's context, injectors write ours upstream. Ids
 * are hex strings here (Kong's are byte strings); sizes follow Kong: an id is
 * padded or cut to 16 (trace) / 8 (span) bytes on extraction, and each
 * injector writes the size it allows, keeping the caller's size when allowed.
 *
 * Formats: w3c (traceparent; tracestate is the caller's and passes through
 * untouched, as Kong leaves it), b3 (multi-header, and the single `b3`
 * header), jaeger (uber-trace-id, uberctx-* baggage), ot (ot-tracer-*,
 * ot-baggage-*), datadog (decimal ids), aws (X-Amzn-Trace-Id), gcp
 * (X-Cloud-Trace-Context).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';

export const FORMATS = ['w3c', 'b3', 'b3-single', 'jaeger', 'ot', 'datadog', 'aws', 'gcp'] as const;
export type Format = (typeof FORMATS)[number];
export type Extractor = Exclude<Format, 'b3-single'>;
export const EXTRACTORS: readonly Extractor[] = ['w3c', 'b3', 'jaeger', 'ot', 'datadog', 'aws', 'gcp'];

/** What an extractor found (Kong's extracted tracing context). */
export interface TraceContext {
  /** 32 hex digits once normalised. */
  traceId: string | null;
  /** Bytes of the trace id as the caller sent it (injectors keep that size when they can). */
  traceIdOriginalSize: number | null;
  spanId: string | null;
  parentId: string | null;
  shouldSample: boolean | null;
  /** W3C trace-flags as a number. */
  w3cFlags: number | null;
  /** b3 debug flag ("1"). */
  flags: string | null;
  /** The b3 context came in the single header. */
  singleHeader: boolean;
  baggage: Record<string, string> | null;
}

function emptyContext(): TraceContext {
  return { traceId: null, traceIdOriginalSize: null, spanId: null, parentId: null, shouldSample: null, w3cFlags: null, flags: null, singleHeader: false, baggage: null };
}

const HEX = /^[0-9a-f]+$/i;
const isHex = (s: string): boolean => HEX.test(s);
const isZero = (s: string): boolean => /^0+$/.test(s);

/** Kong's from_hex: an odd number of digits gets a leading 0; lower case. */
function fromHex(s: string): string {
  return (s.length % 2 === 1 ? '0' + s : s).toLowerCase();
}

/** Kong's to_id_size on hex: cut to the last `bytes` bytes, or pad with zero bytes in front. */
export function toIdSize(hex: string, bytes: number): string {
  const digits = bytes * 2;
  if (hex.length > digits) return hex.slice(hex.length - digits);
  if (hex.length < digits) return '0'.repeat(digits - hex.length) + hex;
  return hex;
}

/** A decimal id (datadog, gcp span id) as minimal big-endian bytes in hex (resty.openssl bn to_binary). */
function decToHex(dec: string): string {
  const n = BigInt(dec);
  if (n === 0n) return '';
  return fromHex(n.toString(16));
}

function hexToDec(hex: string): string {
  return BigInt('0x' + (hex === '' ? '0' : hex)).toString(10);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function baggageOf(headers: IncomingHttpHeaders, prefix: string): Record<string, string> | null {
  let out: Record<string, string> | null = null;
  for (const name in headers) {
    if (!name.startsWith(prefix)) continue;
    const v = header(headers, name);
    if (v === undefined) continue;
    let value = v;
    try {
      value = decodeURIComponent(v);
    } catch {
      // kept as sent (ngx.unescape_uri leaves malformed escapes)
    }
    (out ??= {})[name.slice(prefix.length)] = value;
  }
  return out;
}

// ------------------------------------------------------------------ extractors

function w3c(headers: IncomingHttpHeaders, log: Logger): TraceContext | null {
  const tp = header(headers, 'traceparent');
  if (tp === undefined || tp === '') return null;
  const m = /^([0-9a-fA-F]+)-([0-9a-fA-F]+)-([0-9a-fA-F]+)-([0-9a-fA-F]+)$/.exec(tp);
  if (m === null) return warn(log, 'invalid W3C traceparent header; ignoring.');
  const [, version, traceId, parentId, flags] = m as unknown as [string, string, string, string, string];
  if (version !== '00') return warn(log, 'invalid W3C Trace Context version; ignoring.');
  if (traceId.length !== 32 || isZero(traceId)) return warn(log, 'invalid W3C trace context trace ID; ignoring.');
  if (parentId.length !== 16 || isZero(parentId)) return warn(log, 'invalid W3C trace context parent ID; ignoring.');
  if (flags.length !== 2) return warn(log, 'invalid W3C trace context flags; ignoring.');
  const f = parseInt(flags, 16);
  const c = emptyContext();
  c.traceId = traceId.toLowerCase();
  c.spanId = parentId.toLowerCase();
  c.shouldSample = f % 2 === 1;
  c.w3cFlags = f;
  return c;
}

function warn(log: Logger, message: string): null {
  log.warn(message);
  return null;
}

const B3_SINGLE = /^([0-9a-fA-F]+)-([0-9a-fA-F]{16})-?([01d]?)-?([0-9a-fA-F]*)$/;

function b3(headers: IncomingHttpHeaders, log: Logger): TraceContext | null {
  let traceId: string | null = null;
  let spanId: string | null = null;
  let parentId: string | null = null;
  let shouldSample: boolean | null = null;
  let flags: string | null = null;
  let singleHeader = false;

  let single = header(headers, 'b3');
  if (single === undefined) {
    const ts = headers['tracestate'];
    if (ts !== undefined) {
      for (const member of (Array.isArray(ts) ? ts.join(',') : ts).split(',')) {
        const t = member.trim();
        if (t.startsWith('b3=') && t.length > 3) {
          single = t.slice(3);
          break;
        }
      }
    }
  }
  if (single !== undefined) {
    singleHeader = true;
    if (single === '1' || single === 'd') {
      shouldSample = true;
      if (single === 'd') flags = '1';
    } else if (single === '0') {
      shouldSample = false;
    } else {
      const m = B3_SINGLE.exec(single);
      const tl = m?.[1]!.length ?? 0;
      if (m !== null && (tl === 16 || tl === 32) && (m[4] === '' || m[4]!.length === 16)) {
        if (m[3] === '1' || m[3] === 'd') {
          shouldSample = true;
          if (m[3] === 'd') flags = '1';
        } else if (m[3] === '0') {
          shouldSample = false;
        }
        traceId = m[1]!;
        spanId = m[2]!;
        parentId = m[4] === '' ? null : m[4]!;
      } else {
        log.warn('b3 single header invalid; ignoring.');
      }
    }
  }

  // multi-header (read in any case; the single header wins)
  let sampled: boolean | null = null;
  const s = header(headers, 'x-b3-sampled');
  if (s === '1' || s === 'true') sampled = true;
  else if (s === '0' || s === 'false') sampled = false;
  else if (s !== undefined) log.warn('x-b3-sampled header invalid; ignoring.');
  const debug = header(headers, 'x-b3-flags');
  if (debug === '1') sampled = true;
  else if (debug !== undefined) log.warn('x-b3-flags header invalid; ignoring.');
  let invalid = false;
  let mTrace: string | null = null;
  let mSpan: string | null = null;
  let mParent: string | null = null;
  const t = header(headers, 'x-b3-traceid');
  if (t !== undefined && ((t.length !== 16 && t.length !== 32) || !isHex(t))) {
    log.warn('x-b3-traceid header invalid; ignoring.');
    invalid = true;
  } else if (t !== undefined) mTrace = t;
  const sp = header(headers, 'x-b3-spanid');
  if (sp !== undefined && (sp.length !== 16 || !isHex(sp))) {
    log.warn('x-b3-spanid header invalid; ignoring.');
    invalid = true;
  } else if (sp !== undefined) mSpan = sp;
  const pp = header(headers, 'x-b3-parentspanid');
  if (pp !== undefined && (pp.length !== 16 || !isHex(pp))) {
    log.warn('x-b3-parentspanid header invalid; ignoring.');
    invalid = true;
  } else if (pp !== undefined) mParent = pp;
  if (shouldSample === null) shouldSample = sampled;
  flags ??= debug ?? null;
  if (!invalid) {
    traceId ??= mTrace;
    spanId ??= mSpan;
    parentId ??= mParent;
  }
  if (traceId === null) {
    spanId = null;
    parentId = null;
  }
  const c = emptyContext();
  c.traceId = traceId === null ? null : fromHex(traceId);
  c.spanId = spanId === null ? null : fromHex(spanId);
  c.parentId = parentId === null ? null : fromHex(parentId);
  c.shouldSample = shouldSample;
  c.flags = flags;
  c.singleHeader = singleHeader;
  return c;
}

function jaeger(headers: IncomingHttpHeaders, log: Logger): TraceContext | null {
  const h = header(headers, 'uber-trace-id');
  if (h === undefined || h === '') return null;
  const m = /^([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]+)$/.exec(h);
  if (m === null) return warn(log, 'invalid jaeger uber-trace-id header; ignoring.');
  const [, traceId, spanId, parentId, tflags] = m as unknown as [string, string, string, string, string];
  if (traceId.length > 32 || isZero(traceId)) return warn(log, 'invalid jaeger trace ID; ignoring.');
  if (parentId.length !== 16 && !isZero(parentId)) log.warn('invalid jaeger parent ID; ignoring.');
  if (spanId.length > 16 || isZero(spanId)) return warn(log, 'invalid jaeger span ID; ignoring.');
  if (tflags.length !== 1 && tflags.length !== 2) return warn(log, 'invalid jaeger flags; ignoring.');
  const c = emptyContext();
  c.traceId = fromHex(traceId);
  c.spanId = fromHex(spanId);
  c.parentId = fromHex(parentId);
  c.shouldSample = parseInt(tflags, 16) % 2 === 1;
  c.baggage = baggageOf(headers, 'uberctx-');
  return c;
}

function ot(headers: IncomingHttpHeaders, log: Logger): TraceContext | null {
  let shouldSample: boolean | null = null;
  const s = header(headers, 'ot-tracer-sampled');
  if (s === '1' || s === 'true') shouldSample = true;
  else if (s === '0' || s === 'false') shouldSample = false;
  else if (s !== undefined) log.warn('ot-tracer-sampled header invalid; ignoring.');
  let invalid = false;
  let traceId: string | null = null;
  let spanId: string | null = null;
  const t = header(headers, 'ot-tracer-traceid');
  if (t !== undefined && ((t.length !== 16 && t.length !== 32) || !isHex(t))) {
    log.warn('ot-tracer-traceid header invalid; ignoring.');
    invalid = true;
  } else if (t !== undefined) traceId = t;
  const sp = header(headers, 'ot-tracer-spanid');
  if (sp !== undefined && (sp.length !== 16 || !isHex(sp))) {
    log.warn('ot-tracer-spanid header invalid; ignoring.');
    invalid = true;
  } else if (sp !== undefined) spanId = sp;
  if (traceId === null || invalid) {
    traceId = null;
    spanId = null;
  }
  const c = emptyContext();
  c.traceId = traceId === null ? null : fromHex(traceId);
  c.spanId = spanId === null ? null : fromHex(spanId);
  c.shouldSample = shouldSample;
  c.baggage = baggageOf(headers, 'ot-baggage-');
  return c;
}

function datadog(headers: IncomingHttpHeaders, log: Logger): TraceContext | null {
  let shouldSample: boolean | null = null;
  const s = header(headers, 'x-datadog-sampling-priority');
  if (s === '1' || s === '2') shouldSample = true;
  else if (s === '0' || s === '-1') shouldSample = false;
  else if (s !== undefined) return warn(log, 'x-datadog-sampling-priority header invalid; ignoring.');
  let traceId: string | null = null;
  let parentId: string | null = null;
  const t = header(headers, 'x-datadog-trace-id');
  if (t !== undefined) {
    const m = /^\s*(\d+)\s*$/.exec(t);
    if (m === null) log.warn('x-datadog-trace-id header invalid; ignoring.');
    else traceId = m[1]!;
  }
  const p = header(headers, 'x-datadog-parent-id');
  if (p !== undefined) {
    const m = /^\s*(\d+)\s*$/.exec(p);
    if (m === null) log.warn('x-datadog-parent-id header invalid; ignoring.');
    else parentId = m[1]!;
  }
  if (traceId === null) parentId = null;
  const c = emptyContext();
  c.traceId = traceId === null ? null : decToHex(traceId);
  c.spanId = parentId === null ? null : decToHex(parentId);
  c.shouldSample = shouldSample;
  return c;
}

function aws(headers: IncomingHttpHeaders, log: Logger): TraceContext | null {
  const h = header(headers, 'x-amzn-trace-id');
  if (h === undefined) return null;
  const c = emptyContext();
  for (const pair of h.split(';')) {
    const eq = pair.indexOf('=');
    const key = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    const value = eq === -1 ? '' : pair.slice(eq + 1).trim();
    if (key === 'Root') {
      const m = /^([0-9a-fA-F]+)-([0-9a-fA-F]+)-([0-9a-fA-F]+)$/.exec(value);
      if (value.length !== 35 || m === null || m[1] !== '1' || m[2]!.length !== 8 || m[3]!.length !== 24) return warn(log, 'invalid aws header trace id; ignoring.');
      c.traceId = fromHex(m[2]! + m[3]!);
    } else if (key === 'Parent') {
      if (value.length !== 16) return warn(log, 'invalid aws header parent id; ignoring.');
      c.spanId = fromHex(value);
    } else if (key === 'Sampled') {
      if (value !== '0' && value !== '1') return warn(log, 'invalid aws header sampled flag; ignoring.');
      c.shouldSample = value === '1';
    }
  }
  return c;
}

function gcp(headers: IncomingHttpHeaders, log: Logger): TraceContext | null {
  const h = header(headers, 'x-cloud-trace-context');
  if (h === undefined) return null;
  const m = /^([0-9a-f]{32})\/([0-9]{1,20})(;o=([0-9]))?$/.exec(h);
  if (m === null) return warn(log, 'invalid GCP header; ignoring.');
  const c = emptyContext();
  c.traceId = m[1]!;
  c.spanId = decToHex(m[2]!);
  c.shouldSample = m[4] === '1';
  return c;
}

const EXTRACT: Readonly<Record<Extractor, (h: IncomingHttpHeaders, log: Logger) => TraceContext | null>> = { w3c, b3, jaeger, ot, datadog, aws, gcp };

/** Kong's `any` header lists: an extractor runs only if one of these is present. */
const TRIGGERS: Readonly<Record<Extractor, readonly string[]>> = {
  w3c: ['traceparent'],
  b3: ['b3', 'tracestate', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags'],
  jaeger: ['uber-trace-id'],
  ot: ['ot-tracer-sampled', 'ot-tracer-traceid', 'ot-tracer-spanid'],
  datadog: ['x-datadog-trace-id', 'x-datadog-parent-id', 'x-datadog-sampling-priority'],
  aws: ['x-amzn-trace-id'],
  gcp: ['x-cloud-trace-context'],
};

function hasContent(c: TraceContext): boolean {
  return c.traceId !== null || c.spanId !== null || c.parentId !== null || c.shouldSample !== null || c.flags !== null || c.baggage !== null || c.singleHeader;
}

/**
 * Kong's extract_tracing_context: the first extractor (in the configured
 * order) whose headers are present and that yields a context. Ids are
 * normalised to 16/8 bytes, the trace id's original size kept.
 */
export function extract(headers: IncomingHttpHeaders, extractors: readonly Extractor[], log: Logger): { context: TraceContext; from: Extractor | null } {
  for (const name of extractors) {
    let present = false;
    for (const h of TRIGGERS[name]) {
      if (headers[h] !== undefined) {
        present = true;
        break;
      }
    }
    if (!present) continue;
    const c = EXTRACT[name](headers, log);
    if (c === null || !hasContent(c)) continue;
    if (c.traceId !== null) {
      c.traceIdOriginalSize = c.traceId.length >>> 1;
      c.traceId = toIdSize(c.traceId, 16);
    }
    if (c.spanId !== null) c.spanId = toIdSize(c.spanId, 8);
    if (c.parentId !== null) c.parentId = toIdSize(c.parentId, 8);
    return { context: c, from: name };
  }
  return { context: emptyContext(), from: null };
}

// ------------------------------------------------------------------ injectors

/** What is injected (Kong's inject ctx): our ids and decision, plus what the caller's context carried. */
export interface InjectContext {
  traceId: string;
  traceIdOriginalSize: number | null;
  spanId: string;
  parentId: string | null;
  shouldSample: boolean;
  flags: string | null;
  baggage: Record<string, string> | null;
}

interface Injector {
  readonly traceIdSizes: readonly number[];
  headers(c: InjectContext, traceId: string): Record<string, string>;
}

function escapeUri(v: string): string {
  return encodeURIComponent(v);
}

const INJECT: Readonly<Record<Format, Injector>> = {
  w3c: {
    traceIdSizes: [16],
    headers: (c, t) => ({ traceparent: `00-${t}-${c.spanId}-${c.shouldSample ? '01' : '00'}` }),
  },
  b3: {
    traceIdSizes: [16, 8],
    headers: (c, t) => {
      const h: Record<string, string> = { 'x-b3-traceid': t, 'x-b3-spanid': c.spanId };
      if (c.parentId !== null) h['x-b3-parentspanid'] = c.parentId;
      if (c.flags !== null) h['x-b3-flags'] = c.flags;
      else h['x-b3-sampled'] = c.shouldSample ? '1' : '0';
      return h;
    },
  },
  'b3-single': {
    traceIdSizes: [16, 8],
    headers: (c, t) => {
      const sampled = c.flags === '1' ? 'd' : c.shouldSample ? '1' : '0';
      return { b3: `${t}-${c.spanId}-${sampled}${c.parentId !== null ? '-' + c.parentId : ''}` };
    },
  },
  jaeger: {
    traceIdSizes: [16, 8],
    headers: (c, t) => {
      const h: Record<string, string> = { 'uber-trace-id': `${t}:${c.spanId}:${c.parentId ?? '0'}:${c.shouldSample ? '01' : '00'}` };
      if (c.baggage !== null) for (const k in c.baggage) h['uberctx-' + k] = escapeUri(c.baggage[k]!);
      return h;
    },
  },
  ot: {
    traceIdSizes: [8, 16],
    headers: (c, t) => {
      const h: Record<string, string> = { 'ot-tracer-traceid': t, 'ot-tracer-spanid': c.spanId, 'ot-tracer-sampled': c.shouldSample ? '1' : '0' };
      if (c.baggage !== null) for (const k in c.baggage) h['ot-baggage-' + k] = escapeUri(c.baggage[k]!);
      return h;
    },
  },
  datadog: {
    traceIdSizes: [8],
    headers: (c, t) => ({ 'x-datadog-trace-id': hexToDec(t), 'x-datadog-parent-id': hexToDec(c.spanId), 'x-datadog-sampling-priority': c.shouldSample ? '1' : '0' }),
  },
  aws: {
    traceIdSizes: [16],
    headers: (c, t) => ({ 'x-amzn-trace-id': `Root=1-${t.slice(0, 8)}-${t.slice(8)};Parent=${c.spanId};Sampled=${c.shouldSample ? '1' : '0'}` }),
  },
  gcp: {
    traceIdSizes: [16],
    headers: (c, t) => ({ 'x-cloud-trace-context': `${t}/${hexToDec(c.spanId)};o=${c.shouldSample ? '1' : '0'}` }),
  },
};

/** The headers one format injects (Kong's injector:inject), sized as the format allows. */
export function injectHeaders(format: Format, c: InjectContext): Record<string, string> {
  const inj = INJECT[format];
  const orig = c.traceIdOriginalSize;
  const size = orig !== null && inj.traceIdSizes.includes(orig) ? orig : inj.traceIdSizes[0]!;
  return inj.headers(c, toIdSize(c.traceId, size));
}
