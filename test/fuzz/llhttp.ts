/**
 * llhttp — node's own HTTP/1.1 parser — driven without a socket, the way
 * node:http drives it: `HTTPParser` from node's internal `_http_common`,
 * initialised with the lenient flags node:http computes by default
 * (`calculateLenientFlags(undefined, undefined)` → kLenientNone unless node
 * runs with --insecure-http-parser, which the fuzzer refuses to run under),
 * the header-pair limit of node:http (2000 names and values), and the
 * callbacks wired by index as _http_common.js wires them: headers that span
 * several execute() calls arrive through kOnHeaders first.
 *
 * The response side answers kOnHeadersComplete as node's client does
 * (_http_client.js parserOnIncomingClient): 2 for an upgrade, 1 (skip the
 * body) for a 1xx, a HEAD request and a 304, else 0.
 */
import { createRequire } from 'node:module';
import { METHODS } from 'node:http';

const require = createRequire(import.meta.url);

interface HTTPParserInstance {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(buf: Buffer): number | (Error & { code: string; reason: string; bytesParsed: number });
  finish(): undefined | (Error & { code: string; reason: string; bytesParsed: number });
  [callback: number]: (...args: never[]) => unknown;
}
interface HTTPParserClass {
  new (): HTTPParserInstance;
  REQUEST: number;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kLenientNone: number;
}

const { HTTPParser } = require('_http_common') as { HTTPParser: HTTPParserClass };

if (process.execArgv.includes('--insecure-http-parser') || (process.env.NODE_OPTIONS ?? '').includes('insecure-http-parser')) {
  throw new Error('the differential fuzzer compares against strict llhttp: do not run it with --insecure-http-parser');
}

/** What node:http passes as lenient flags by default (strict). */
export const LENIENT_FLAGS = HTTPParser.kLenientNone | 0;
/** node:http's maxHeadersCount default (2000) counts names and values. */
const MAX_HEADER_PAIRS = 2000;

export interface LlMessage {
  versionMajor: number;
  versionMinor: number;
  /** Request: the method name; response: ''. */
  method: string;
  methodIndex: number;
  url: string;
  status: number;
  statusMessage: string;
  /** Names and values as node's binding gives them (values trimmed of trailing OWS). */
  rawHeaders: string[];
  upgrade: boolean;
  /** llhttp's keep-alive answer at the end of the head (what node:http uses). */
  shouldKeepAlive: boolean;
  body: Buffer[];
  /** [start, end) of the input slice whose execute() completed the message; null while incomplete. */
  completeIn: [number, number] | null;
  /** Completed by finish() (end of stream): a close-delimited body. */
  atEof: boolean;
}

export interface LlResult {
  messages: LlMessage[];
  /** The parse error and the input offset it was found at. */
  error: { code: string; reason: string; offset: number; atEof: boolean } | null;
  /**
   * After the first message for which `probeAfter` returned true completed at
   * the end of an execute() slice: whether llhttp would read another message
   * on the connection (a probe byte is fed; strict llhttp refuses data after
   * a message that ends the connection with HPE_CLOSED_CONNECTION).
   * null when not probed.
   */
  keepAliveAfter: boolean | null;
}

export interface LlOptions {
  maxHeaderSize: number;
  /** Response side: the request was HEAD. */
  headRequest?: boolean;
  /**
   * Stop feeding input after the first message this accepts has completed
   * and probe keep-alive there (the rest of the input is not parsed).
   */
  probeAfter?: (m: LlMessage) => boolean;
}

/** Method index (as the binding reports it) → name: calibrated from llhttp itself. */
const METHOD_NAMES: string[] = [];

const parsers = new Map<number, HTTPParserInstance>();

let cur: {
  messages: LlMessage[];
  pendingHeaders: string[];
  pendingUrl: string;
  slice: [number, number];
  headRequest: boolean;
  response: boolean;
} = { messages: [], pendingHeaders: [], pendingUrl: '', slice: [0, 0], headRequest: false, response: false };

function parserFor(type: number): HTTPParserInstance {
  let p = parsers.get(type);
  if (p !== undefined) return p;
  p = new HTTPParser();
  p[HTTPParser.kOnHeaders] = ((headers: string[], url: string) => {
    const capacity = MAX_HEADER_PAIRS - cur.pendingHeaders.length;
    if (capacity >= headers.length) cur.pendingHeaders.push(...headers);
    else if (capacity > 0) cur.pendingHeaders.push(...headers.slice(0, capacity));
    cur.pendingUrl += url;
  }) as never;
  p[HTTPParser.kOnHeadersComplete] = ((
    versionMajor: number,
    versionMinor: number,
    headers: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
    statusCode: number | undefined,
    statusMessage: string | undefined,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ) => {
    if (headers === undefined) {
      headers = cur.pendingHeaders;
      cur.pendingHeaders = [];
    }
    if (url === undefined) {
      url = cur.pendingUrl;
      cur.pendingUrl = '';
    }
    const m: LlMessage = {
      versionMajor,
      versionMinor,
      method: typeof method === 'number' ? (METHOD_NAMES[method] ?? `#${method}`) : '',
      methodIndex: typeof method === 'number' ? method : -1,
      url,
      status: statusCode ?? 0,
      statusMessage: statusMessage ?? '',
      rawHeaders: headers.length > MAX_HEADER_PAIRS ? headers.slice(0, MAX_HEADER_PAIRS) : headers,
      upgrade,
      shouldKeepAlive,
      body: [],
      completeIn: null,
      atEof: false,
    };
    cur.messages.push(m);
    if (!cur.response) return 0;
    if (upgrade) return 2;
    if (m.status >= 100 && m.status < 200) return 1;
    if (cur.headRequest) return 1;
    if (m.status === 304) return 1;
    return 0;
  }) as never;
  p[HTTPParser.kOnBody] = ((b: Buffer) => {
    const m = cur.messages[cur.messages.length - 1];
    if (m !== undefined) m.body.push(Buffer.from(b));
  }) as never;
  p[HTTPParser.kOnMessageComplete] = (() => {
    const m = cur.messages[cur.messages.length - 1];
    if (m !== undefined && m.completeIn === null) {
      m.completeIn = [cur.slice[0], cur.slice[1]];
      m.atEof = cur.slice[0] === cur.slice[1];
    }
  }) as never;
  parsers.set(type, p);
  return p;
}

/**
 * Parse `buf` with llhttp, fed as the slices between consecutive `cuts`
 * (sorted offsets inside buf; 0 and buf.length implied), then finish()
 * (end of stream) unless stopped earlier by an error, an upgrade or a probe.
 */
export function runLlhttp(kind: 'request' | 'response', buf: Buffer, cuts: readonly number[], opts: LlOptions): LlResult {
  const type = kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE;
  const p = parserFor(type);
  p.initialize(type, {}, opts.maxHeaderSize, LENIENT_FLAGS);
  const messages: LlMessage[] = [];
  cur = { messages, pendingHeaders: [], pendingUrl: '', slice: [0, 0], headRequest: opts.headRequest === true, response: kind === 'response' };
  const result: LlResult = { messages, error: null, keepAliveAfter: null };
  let start = 0;
  const bounds = [...cuts.filter((c) => c > 0 && c < buf.length), buf.length];
  for (const end of bounds) {
    if (end <= start) continue;
    cur.slice = [start, end];
    const before = messages.length;
    const r = p.execute(buf.subarray(start, end));
    if (typeof r !== 'number') {
      result.error = { code: r.code, reason: r.reason, offset: start + r.bytesParsed, atEof: false };
      return result;
    }
    // An upgrade (or a 101) ends HTTP on the connection: llhttp stops there.
    for (let k = before; k < messages.length; k++) if (messages[k]!.upgrade || messages[k]!.status === 101) return result;
    if (opts.probeAfter !== undefined) {
      const done = messages.find((m) => m.completeIn !== null && opts.probeAfter!(m));
      if (done !== undefined) {
        if (done.completeIn![1] === end && done === messages[messages.length - 1]) {
          cur.slice = [end, end + 1];
          const probe = p.execute(Buffer.from(kind === 'request' ? 'G' : 'H', 'latin1'));
          result.keepAliveAfter = !(typeof probe !== 'number' && probe.code === 'HPE_CLOSED_CONNECTION');
        }
        return result;
      }
    }
    start = end;
  }
  cur.slice = [buf.length, buf.length];
  const f = p.finish();
  if (f !== undefined) result.error = { code: f.code, reason: f.reason, offset: buf.length, atEof: true };
  return result;
}

// Calibrate method indexes: parse "<METHOD> / HTTP/1.1" for every method node knows.
for (const name of METHODS) {
  const r = runLlhttp('request', Buffer.from(`${name} / HTTP/1.1\r\nHost: a\r\n\r\n`, 'latin1'), [], { maxHeaderSize: 16384 });
  const m = r.messages[0];
  if (m !== undefined && m.methodIndex >= 0) METHOD_NAMES[m.methodIndex] = name;
}
