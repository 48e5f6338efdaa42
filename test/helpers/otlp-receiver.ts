/**
 * A real OTLP/HTTP trace receiver for tests: an HTTP server on 127.0.0.1
 * that accepts POST /v1/traces (application/x-protobuf), answers 200 and
 * decodes every ExportTraceServiceRequest with its own small protobuf reader
 * — independent of the gateway's encoder (src/plugins/opentelemetry/otlp.ts),
 * written from opentelemetry/proto/{collector/trace,trace,common,resource}/v1.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { once } from 'node:events';

export type AttrValue = string | number | boolean | bigint;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttrValue>;
  events: { name: string; attributes: Record<string, AttrValue> }[];
  status: number;
  resource: Record<string, AttrValue>;
  scope: { name: string; version: string };
}

export interface ExportRequestSeen {
  headers: IncomingHttpHeaders;
  spans: ReceivedSpan[];
}

type Field = { no: number; wt: number; v: bigint | Buffer };

/** Split one message into its fields (varint, fixed64, length-delimited, fixed32). */
export function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++]!;
      r |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return r;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wt = key & 7;
    if (wt === 0) out.push({ no, wt, v: varint() });
    else if (wt === 1) {
      out.push({ no, wt, v: buf.readBigUInt64LE(i) });
      i += 8;
    } else if (wt === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error('truncated field');
      out.push({ no, wt, v: buf.subarray(i, i + len) });
      i += len;
    } else if (wt === 5) {
      out.push({ no, wt, v: BigInt(buf.readUInt32LE(i)) });
      i += 4;
    } else throw new Error(`wire type ${wt}`);
  }
  return out;
}

const str = (f: Field): string => (f.v as Buffer).toString('utf8');
const hex = (f: Field): string => (f.v as Buffer).toString('hex');
const sub = (f: Field): Buffer => f.v as Buffer;

function anyValue(buf: Buffer): AttrValue {
  const [f] = fields(buf);
  if (f === undefined) return '';
  switch (f.no) {
    case 1:
      return str(f);
    case 2:
      return f.v === 1n;
    case 3:
      return BigInt.asIntN(64, f.v as bigint); // int_value: a bigint, so a test can tell it from a double
    case 4: {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(f.v as bigint);
      return b.readDoubleLE(0);
    }
    default:
      throw new Error(`AnyValue field ${f.no} not expected`);
  }
}

function keyValues(list: Field[], no: number): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const f of list) {
    if (f.no !== no) continue;
    let key = '';
    let value: AttrValue = '';
    for (const g of fields(sub(f))) {
      if (g.no === 1) key = str(g);
      else if (g.no === 2) value = anyValue(sub(g));
    }
    out[key] = value;
  }
  return out;
}

/** Decode an ExportTraceServiceRequest into flat spans. */
export function decodeExportTraceServiceRequest(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of fields(body)) {
    if (rs.no !== 1) continue;
    let resource: Record<string, AttrValue> = {};
    const rsFields = fields(sub(rs));
    for (const f of rsFields) if (f.no === 1) resource = keyValues(fields(sub(f)), 1);
    for (const ss of rsFields) {
      if (ss.no !== 2) continue;
      const scope = { name: '', version: '' };
      const ssFields = fields(sub(ss));
      for (const f of ssFields) {
        if (f.no !== 1) continue;
        for (const g of fields(sub(f))) {
          if (g.no === 1) scope.name = str(g);
          if (g.no === 2) scope.version = str(g);
        }
      }
      for (const sp of ssFields) {
        if (sp.no !== 2) continue;
        const s: ReceivedSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startNs: 0n, endNs: 0n, attributes: {}, events: [], status: 0, resource, scope };
        const list = fields(sub(sp));
        for (const f of list) {
          if (f.no === 1) s.traceId = hex(f);
          else if (f.no === 2) s.spanId = hex(f);
          else if (f.no === 4) s.parentSpanId = hex(f);
          else if (f.no === 5) s.name = str(f);
          else if (f.no === 6) s.kind = Number(f.v);
          else if (f.no === 7) s.startNs = f.v as bigint;
          else if (f.no === 8) s.endNs = f.v as bigint;
          else if (f.no === 11) {
            const ev = fields(sub(f));
            s.events.push({ name: ev.filter((g) => g.no === 2).map(str)[0] ?? '', attributes: keyValues(ev, 3) });
          } else if (f.no === 15) {
            for (const g of fields(sub(f))) if (g.no === 3) s.status = Number(g.v);
          }
        }
        s.attributes = keyValues(list, 9);
        spans.push(s);
      }
    }
  }
  return spans;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>/v1/traces` */
  readonly url: string;
  readonly requests: ExportRequestSeen[];
  /** Every span received so far. */
  spans(): ReceivedSpan[];
  /** Resolves once `predicate` holds over the spans received (checked on each request). */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Answer the next requests with this status (200 by default). */
  status: number;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: ExportRequestSeen[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || receiver.status !== 200) {
        res.writeHead(req.method !== 'POST' || req.url !== '/v1/traces' ? 404 : receiver.status).end('no');
        return;
      }
      requests.push({ headers: req.headers, spans: decodeExportTraceServiceRequest(Buffer.concat(chunks)) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      for (const w of waiters) w();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const all = (): ReceivedSpan[] => requests.flatMap((r) => r.spans);
  const receiver: OtlpReceiver = {
    url: `http://127.0.0.1:${port}/v1/traces`,
    requests,
    spans: all,
    status: 200,
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate(all())) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(all());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`OTLP receiver: condition not met after ${timeoutMs} ms (${all().length} spans: ${all().map((s) => s.name).join(', ')})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  return receiver;
}
