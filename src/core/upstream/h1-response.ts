/**
 * An incremental HTTP/1.1 response parser (RFC 9112): status line, header
 * fields, then the body framed by the rules of §6.3, handed on de-chunked.
 *
 * Strict where leniency enables smuggling or desync (docs/ARCHITECTURE.md,
 * "Framing invariants"): CRLF line ends only, no obs-fold, header names
 * must be tokens, one Content-Length value (repeats of the same number
 * allowed), Transfer-Encoding only as exactly `chunked` and never with
 * Content-Length or in HTTP/1.0, chunk sizes bounded hex with well-formed
 * extensions, trailers well-formed field lines. The Content-Length handed
 * on is the one the body is framed by. Body chunks are views into the
 * socket's buffers (no copy).
 */
import { Buffer } from 'node:buffer';
import { FRAMING_FIELDS, hasToken, isChunkedOnly, isChunkExtension, parseContentLength, scanFieldLine, type FieldLine } from '../http1/syntax.ts';
import { upstreamError } from '../errors.ts';
import { type HeaderValues } from './types.ts';

/** What the parser reports to; each returns false to stop the parse (aborted or paused). */
export interface ResponseSink {
  onHead(status: number, headers: HeaderValues, reason: string): boolean;
  onBody(chunk: Buffer): boolean;
  onComplete(): void;
}

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_DATA = 3;
const S_CHUNK_END = 4;
const S_TRAILERS = 5;
const S_UNTIL_CLOSE = 6;
const S_DONE = 7;
/** A 101 to an upgrade request: what follows is the new protocol's, not HTTP's. */
const S_UPGRADED = 8;

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const BARE_CR_LF_NUL = /\r(?!\n)|(?<!\r)\n|\0/;
const HEX = /^[0-9A-Fa-f]{1,13}$/;
/** Chunk-size lines and trailer lines are short; bound what is buffered while waiting for their end. */
const MAX_LINE = 4096;
/** Trailer fields read (and dropped) at most. */
const MAX_TRAILERS = 100;

export class ResponseParser {
  /** Response head size limit (bytes). */
  private readonly maxHead: number;
  private state: number;
  /** Head bytes received so far (when the head spans several reads). */
  private headBuf: Buffer | null;
  /** Partial chunk-size or trailer line. */
  private line: string;
  /** Bytes left in the fixed-length body or the current chunk. */
  private left: number;
  private noBody: boolean;
  /** The connection may carry another request after this response. */
  keepAlive: boolean;
  /** Upstream's Keep-Alive timeout hint in seconds (0 = none). */
  keepAliveHint: number;
  /** Set by head() when the sink asked to stop right after the head. */
  private stopped: boolean;
  /** The request asked to upgrade (a 101 is then its answer). */
  private upgrade: boolean;
  private trailers: number;
  private readonly field: FieldLine;

  constructor(maxHead: number) {
    this.maxHead = maxHead;
    this.state = S_HEAD;
    this.headBuf = null;
    this.line = '';
    this.left = 0;
    this.noBody = false;
    this.keepAlive = true;
    this.keepAliveHint = 0;
    this.stopped = false;
    this.upgrade = false;
    this.trailers = 0;
    this.field = { name: '', value: '' };
  }

  /** Prepare for the response to the next request. `noBody`: the request was HEAD; `upgrade`: it asked to upgrade. */
  reset(noBody: boolean, upgrade = false): void {
    this.upgrade = upgrade;
    this.trailers = 0;
    this.state = S_HEAD;
    this.headBuf = null;
    this.line = '';
    this.left = 0;
    this.noBody = noBody;
    this.keepAlive = true;
    this.keepAliveHint = 0;
  }

  get done(): boolean {
    return this.state === S_DONE;
  }

  /** A 101 ended the HTTP exchange: the connection now carries another protocol. */
  get upgraded(): boolean {
    return this.state === S_UPGRADED;
  }

  /** The body runs until the connection closes (no length, not chunked). */
  get untilClose(): boolean {
    return this.state === S_UNTIL_CLOSE;
  }

  /** Nothing of the response has been received yet. */
  get idle(): boolean {
    return this.state === S_HEAD && this.headBuf === null;
  }

  /** The upstream closed the connection: completes a close-delimited body. */
  finish(sink: ResponseSink): void {
    if (this.state === S_UNTIL_CLOSE) {
      this.state = S_DONE;
      sink.onComplete();
    }
  }

  /**
   * Parse `buf` from `start`. Returns the offset parsing stopped at: buf.length
   * when all was consumed, less when the sink stopped it or the response
   * completed with bytes left over. Throws a coded error on a malformed response.
   */
  execute(buf: Buffer, start: number, sink: ResponseSink): number {
    let i = start;
    const n = buf.length;
    while (i < n || this.state === S_DONE) {
      switch (this.state) {
        case S_HEAD: {
          const r = this.head(buf, i, sink);
          if (r < 0) return n; // need more bytes
          i = r;
          if (this.stopped) {
            this.stopped = false;
            return i;
          }
          break;
        }
        case S_LENGTH: {
          const take = Math.min(this.left, n - i);
          const chunk = i === 0 && take === n ? buf : buf.subarray(i, i + take);
          i += take;
          this.left -= take;
          if (this.left === 0) this.state = S_DONE;
          if (!sink.onBody(chunk)) return i;
          break;
        }
        case S_UNTIL_CLOSE: {
          const chunk = i === 0 ? buf : buf.subarray(i);
          i = n;
          if (!sink.onBody(chunk)) return i;
          break;
        }
        case S_CHUNK_SIZE: {
          const end = this.lineEnd(buf, i);
          if (end < 0) return n;
          i = end;
          this.chunkSize(this.takeLine());
          break;
        }
        case S_CHUNK_DATA: {
          const take = Math.min(this.left, n - i);
          const chunk = buf.subarray(i, i + take);
          i += take;
          this.left -= take;
          if (this.left === 0) this.state = S_CHUNK_END;
          if (!sink.onBody(chunk)) return i;
          break;
        }
        case S_CHUNK_END: {
          const end = this.lineEnd(buf, i);
          if (end < 0) return n;
          i = end;
          if (this.takeLine() !== '') throw bad('chunk data longer than its size');
          this.state = S_CHUNK_SIZE;
          break;
        }
        case S_TRAILERS: {
          const end = this.lineEnd(buf, i);
          if (end < 0) return n;
          i = end;
          // Trailer fields are not relayed (Kong/nginx drop them too), but must be
          // field lines (RFC 9112 §7.1.2); the empty line ends the message.
          const line = this.takeLine();
          if (line === '') this.state = S_DONE;
          else if (++this.trailers > MAX_TRAILERS || scanFieldLine(line, 0, line.length, this.field) < 0) throw bad('malformed trailer field');
          // Framing fields have no meaning in trailers (RFC 9110 §6.5.1); a reader that obeys them would frame differently.
          else if (FRAMING_FIELDS.has(this.field.name)) throw bad('framing field in trailers');
          break;
        }
        case S_DONE:
          sink.onComplete();
          return i;
        case S_UPGRADED:
          return i; // the rest is the upgraded protocol's
        default:
          throw bad('parser state');
      }
    }
    return i;
  }

  /** Parse the head if complete: returns the offset after it, or -1 when more bytes are needed. */
  private head(buf: Buffer, start: number, sink: ResponseSink): number {
    let data = buf;
    let from = start;
    let prev = 0;
    if (this.headBuf !== null) {
      prev = this.headBuf.length;
      data = Buffer.concat([this.headBuf, start === 0 ? buf : buf.subarray(start)]);
      from = 0;
    }
    const end = data.indexOf(CRLFCRLF, prev > 3 ? prev - 3 : from);
    if (end < 0) {
      // The last 3 bytes may be the start of the blank line that ends a head of exactly maxHead bytes.
      if (data.length - from > this.maxHead + 3) throw overflow(this.maxHead);
      this.headBuf = data === buf ? Buffer.from(buf.subarray(from)) : data;
      return -1;
    }
    if (end - from > this.maxHead) throw overflow(this.maxHead);
    this.headBuf = null;
    const text = data.toString('latin1', from, end);
    // RFC 9110 §5.5 / RFC 9112 §2.2: a bare CR or LF, or a NUL, would let another reader see other fields.
    if (BARE_CR_LF_NUL.test(text)) throw bad('CR, LF or NUL outside a line end');
    if (this.parseHead(text, sink) < 0) this.stopped = true;
    // data is headBuf ++ buf[start..]: the head ends `end + 4 - prev` bytes into buf from `start`.
    return data === buf ? end + 4 : start + end + 4 - prev;
  }

  /** Returns -1 when the sink stopped the parse. */
  private parseHead(text: string, sink: ResponseSink): number {
    const eol = text.indexOf('\r\n');
    const statusLine = eol < 0 ? text : text.slice(0, eol);
    if (statusLine.length < 12 || !statusLine.startsWith('HTTP/1.') || statusLine.charCodeAt(12) !== 32 && statusLine.length > 12) {
      throw bad('malformed status line');
    }
    const minor = statusLine.charCodeAt(7);
    if ((minor !== 48 && minor !== 49) || statusLine.charCodeAt(8) !== 32) throw bad('unsupported HTTP version');
    const status = threeDigits(statusLine, 9);
    if (status < 100) throw bad('malformed status code');
    const reason = statusLine.length > 13 ? statusLine.slice(13) : '';
    const headers: HeaderValues = {};
    const field = this.field;
    let contentLength = -1;
    let transferEncoding: string | null = null;
    let upgrade: string | null = null;
    let keepAlive = minor === 49; // HTTP/1.1 persists unless told otherwise; 1.0 only with keep-alive
    let pos = eol < 0 ? text.length : eol + 2;
    while (pos < text.length) {
      const lineStart = pos;
      pos = scanFieldLine(text, pos, text.length, field);
      if (pos < 0) throw bad('malformed header line');
      const name = field.name;
      const value = field.value;
      // Framing and hop-by-hop fields (syntax.ts FRAMING_FIELDS) are read here and not handed on: deleting
      // them later would turn every header object into a slow dictionary. Content-Length is handed on below,
      // as framed; a Connection that names other fields is kept, so the caller can remove those too.
      if (!FRAMING_FIELDS.has(name) || (name === 'connection' && namesFields(value))) {
        const prev = headers[name];
        if (prev === undefined) headers[name] = value;
        else if (typeof prev === 'string') headers[name] = [prev, value];
        else if (Array.isArray(prev)) prev.push(value);
        // A name inherited from Object.prototype ("__proto__", "constructor") becomes an own field.
        else if (name === '__proto__') Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
        else headers[name] = value;
      }
      switch (name) {
        case 'content-length': {
          // One field, digits only (syntax.ts parseContentLength): a repeated one is refused like a list.
          const len = parseContentLength(value);
          if (len < 0 || contentLength !== -1) throw bad('invalid or repeated Content-Length');
          contentLength = len;
          break;
        }
        case 'upgrade':
          upgrade = value;
          break;
        case 'transfer-encoding':
          // Repeated fields are one list (RFC 9110 §5.3): "chunked" twice is not "chunked". A tab
          // around the value is OWS to RFC 9112 but not to llhttp, which then reads until close:
          // two readers would frame it differently, so it is refused.
          if (text.slice(lineStart, pos - 2).includes('\t')) throw bad('unsupported Transfer-Encoding');
          transferEncoding = transferEncoding === null ? value : transferEncoding + ', ' + value;
          break;
        case 'proxy-connection': // read like Connection by llhttp and by older peers
        case 'connection': {
          const v = value.toLowerCase();
          if (hasToken(v, 'close')) keepAlive = false;
          else if (minor === 48 && hasToken(v, 'keep-alive')) keepAlive = true;
          break;
        }
        case 'keep-alive': {
          const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(value);
          if (m !== null) this.keepAliveHint = Number(m[1]);
          break;
        }
      }
    }
    if (status < 200) {
      // RFC 9110 §15.2: a 1xx has no content; framing fields on one are nonsense, and a
      // reader that obeyed them would frame what follows differently.
      if (transferEncoding !== null || contentLength !== -1) throw bad('framing fields on a 1xx response');
      if (status === 101) {
        // RFC 9110 §15.2.2: only an answer to a request that asked to upgrade.
        if (!this.upgrade) throw bad('101 Switching Protocols without an upgrade request');
        // The protocol switched to is handed on (hop-by-hop otherwise); RFC 9110 §7.8 requires it.
        if (upgrade === null) throw bad('101 Switching Protocols without an Upgrade field');
        headers['upgrade'] = upgrade;
        this.keepAlive = false;
        this.state = S_UPGRADED;
        // The bytes after this head belong to the new protocol: the parse stops here.
        this.stopped = true;
        sink.onHead(status, headers, reason);
        return -1;
      }
      // 1xx interim (100 Continue, 103 Early Hints): not relayed; the final response follows —
      // unless the interim answer ends the connection (HTTP/1.0 or Connection: close): then no
      // final response can follow on it, and reading one would be reading past the message.
      if (!keepAlive) throw bad('interim response that closes the connection');
      this.state = S_HEAD;
      return status;
    }
    this.keepAlive = keepAlive;
    // Framing (RFC 9112 §6.3). Ambiguous framing is refused, never relayed:
    // Transfer-Encoding with Content-Length (a response-splitting attempt,
    // §6.3 item 3 — nginx answers 502 too), a coding other than chunked, or
    // Transfer-Encoding in an HTTP/1.0 response (§6.1: faulty framing).
    if (transferEncoding !== null) {
      if (contentLength !== -1) throw bad('both Transfer-Encoding and Content-Length');
      if (!isChunkedOnly(transferEncoding)) throw bad('unsupported Transfer-Encoding');
      if (minor === 48) throw bad('Transfer-Encoding in an HTTP/1.0 response');
    }
    // Content-Length handed on is the parser's own: the number the body is
    // framed by (normalised: "05" is 5), or, for a response without a body
    // (HEAD, 304), the validated size it announces; none on a 204 (RFC 9110 §8.6).
    if (contentLength !== -1 && status !== 204) headers['content-length'] = String(contentLength);
    if (this.noBody || status === 204 || status === 304) {
      this.state = S_DONE;
    } else if (transferEncoding !== null) {
      this.state = S_CHUNK_SIZE;
    } else if (contentLength !== -1) {
      this.left = contentLength;
      this.state = contentLength === 0 ? S_DONE : S_LENGTH;
    } else {
      this.state = S_UNTIL_CLOSE;
      this.keepAlive = false;
    }
    if (!sink.onHead(status, headers, reason)) return -1;
    return status;
  }

  private chunkSize(line: string): void {
    const semi = line.indexOf(';');
    const hex = semi < 0 ? line : line.slice(0, semi);
    if (!HEX.test(hex)) throw bad('malformed chunk size');
    if (semi >= 0 && !isChunkExtension(line.slice(semi))) throw bad('malformed chunk extension');
    const size = parseInt(hex, 16);
    if (size === 0) {
      this.state = S_TRAILERS;
    } else {
      this.left = size;
      this.state = S_CHUNK_DATA;
    }
  }

  /** Find the CRLF ending the current line from `i`; accumulates partial lines. Returns the offset after CRLF, or -1. */
  private lineEnd(buf: Buffer, i: number): number {
    const lf = buf.indexOf(10, i);
    if (lf < 0) {
      this.line += buf.toString('latin1', i, buf.length);
      if (this.line.length > MAX_LINE) throw bad('chunk-size or trailer line too long');
      return -1;
    }
    this.line += buf.toString('latin1', i, lf + 1);
    if (this.line.length > MAX_LINE) throw bad('chunk-size or trailer line too long');
    return lf + 1;
  }

  /** The accumulated line without its CRLF. */
  private takeLine(): string {
    const l = this.line;
    this.line = '';
    if (l.length < 2 || l.charCodeAt(l.length - 2) !== 13) throw bad('bare LF in chunked framing');
    return l.slice(0, -2);
  }
}

function overflow(max: number): Error & { code: string } {
  return upstreamError('UPSTREAM_HEADERS_OVERFLOW', `response head larger than ${max} bytes`);
}

function bad(message: string): Error & { code: string } {
  return upstreamError('UPSTREAM_BAD_RESPONSE', `invalid upstream response: ${message}`);
}

function threeDigits(s: string, at: number): number {
  let v = 0;
  for (let k = at; k < at + 3; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function trimOws(s: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return s.slice(a, b);
}

/** A Connection value listing more than keep-alive / close. */
function namesFields(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'keep-alive' || v === 'close') return false;
  for (const t of v.split(',')) {
    const token = t.trim();
    if (token !== '' && token !== 'keep-alive' && token !== 'close') return true;
  }
  return false;
}
