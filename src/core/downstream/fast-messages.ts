/**
 * The request and response objects the fast lane (fast-lane.ts) hands to the
 * proxy handler: FastRequest, a bodyless request read off the socket, and
 * FastResponse, its answer with head and body written together and framed
 * as node:http frames them (status text, Date, Connection/Keep-Alive,
 * chunked when there is no Content-Length, no body for HEAD/204/304, 'close'
 * exactly once). They satisfy the ProxyRequest / ProxyResponse contracts
 * (core/context.ts).
 */
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { ProxyRequest, ProxyResponse } from '../context.ts';
import { fieldLines, hasToken, isFieldName, lowerAscii, parseContentLength, writeChunk } from '../http1/syntax.ts';
import { rawHeadersOf, type RequestHead } from './request-head.ts';

/** What a response uses of its fast-lane connection (Connection, fast-lane.ts). */
export interface ResponseConnection {
  readonly socket: Socket;
  readonly lane: { readonly closing: boolean; readonly keepAliveHeader: string };
  /** The response finished writing. */
  finished(res: FastResponse): void;
}

const LAST_CHUNK = '0\r\n\r\n';
/** Bodies up to this size go out in the same write as the head (copied once into one Buffer). */
const JOIN_LIMIT = 16 * 1024;

/** A bodyless request read by the fast lane; what proxy code reads of IncomingMessage. */
export class FastRequest implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion: string;
  readonly socket: Socket;
  readonly complete: boolean;
  readonly readableLength: number;
  readonly readableDidRead: boolean;
  private readonly fieldText: string;
  private raw: string[] | null;

  constructor(head: RequestHead, socket: Socket) {
    this.method = head.method;
    this.url = head.url;
    this.headers = head.headers;
    this.httpVersion = '1.1';
    this.socket = socket;
    this.complete = true;
    this.readableLength = 0;
    this.readableDidRead = false;
    this.fieldText = head.fieldText;
    this.raw = null;
  }

  get rawHeaders(): string[] {
    return (this.raw ??= rawHeadersOf(this.fieldText));
  }

  isPaused(): boolean {
    return false;
  }

  /** The body: empty by construction. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {}
}

/** The answer to a FastRequest: head and body written together, framed as node:http frames them. */
export class FastResponse extends EventEmitter implements ProxyResponse {
  statusCode: number;
  headersSent: boolean;
  writableFinished: boolean;
  destroyed: boolean;
  /** Close the connection after this response (client asked, server closing, or a `connection: close` header). */
  closeAfter: boolean;
  private readonly conn: ResponseConnection;
  private readonly isHead: boolean;
  private noBody: boolean;
  private chunked: boolean;
  /** Body bytes still owed under Content-Length (-1: chunked or no length). */
  private left: number;
  private ended: boolean;
  private closeEmitted: boolean;
  /** The head, until it goes out with the first body bytes. */
  private pendingHead: string | null;
  private readonly onWritten: (err?: Error | null) => void;

  constructor(conn: ResponseConnection, isHead: boolean, closeAfter: boolean) {
    super();
    this.statusCode = 200;
    this.headersSent = false;
    this.writableFinished = false;
    this.destroyed = false;
    this.closeAfter = closeAfter;
    this.conn = conn;
    this.isHead = isHead;
    this.noBody = isHead;
    this.chunked = false;
    this.left = -1;
    this.ended = false;
    this.closeEmitted = false;
    this.pendingHead = null;
    this.onWritten = (err) => {
      if (err == null) this.conn.finished(this);
    };
  }

  writeHead(status: number, headers: Record<string, string | string[] | undefined>): this {
    return this.storeHead(status, headers, -1);
  }

  /** `implicitLength` ≥ 0: end() gave the whole body without a head (node:http then sends Content-Length). */
  private storeHead(status: number, headers: Record<string, string | string[] | undefined>, implicitLength: number): this {
    if (this.headersSent) throw new Error('the response head was already sent');
    if (this.conn.lane.closing) this.closeAfter = true;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    let length = -1;
    let date = false;
    let connection: string | null = null;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (!isFieldName(name)) throw new TypeError(`invalid response header name ${JSON.stringify(name)}`);
      // Names are lower case by contract (ProxyResponse); a capitalised one is still recognised.
      const key = name.charCodeAt(0) < 97 ? lowerAscii(name) : name;
      if (key === 'transfer-encoding') continue; // framing is this writer's (docs/ARCHITECTURE.md, "Framing invariants")
      const lines = fieldLines(name, value);
      if (lines === null) throw new TypeError(`invalid character in response header ${name}`);
      switch (key) {
        case 'content-length':
          length = typeof value === 'string' ? parseContentLength(value) : -1;
          if (length < 0) throw new TypeError('invalid Content-Length');
          head += 'content-length: ' + length + '\r\n';
          continue;
        case 'date':
          date = true;
          break;
        case 'connection':
          connection = String(value).toLowerCase();
          break;
      }
      head += lines;
    }
    let chunked = false;
    if (!date) head += 'Date: ' + utcDate() + '\r\n';
    if (connection !== null) {
      if (hasToken(connection, 'close')) this.closeAfter = true;
    } else {
      head += this.closeAfter ? 'Connection: close\r\n' : this.conn.lane.keepAliveHeader;
    }
    const noBody = this.isHead || status === 204 || status === 304 || status < 200;
    this.left = noBody ? 0 : length;
    if (!noBody && length < 0) {
      if (implicitLength >= 0) {
        head += 'Content-Length: ' + implicitLength + '\r\n';
        this.left = implicitLength;
      } else {
        head += 'Transfer-Encoding: chunked\r\n';
        chunked = true;
      }
    }
    this.pendingHead = head + '\r\n';
    this.noBody = noBody;
    this.chunked = chunked && !noBody;
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.ended || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode, {});
    const socket = this.conn.socket;
    const head = this.pendingHead;
    const len = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (!this.noBody && this.left >= 0) {
      // Never a byte past the announced length: it would be read as the next response.
      if (len > this.left) {
        this.destroy();
        return false;
      }
      this.left -= len;
    }
    if (this.noBody || len === 0) {
      if (head === null) return true;
      this.pendingHead = null;
      return socket.write(head, 'latin1');
    }
    if (head !== null && !this.chunked && typeof chunk !== 'string' && len <= JOIN_LIMIT) {
      // Head and first body bytes as one Buffer, one write: ~3% less CPU per proxied request than a corked
      // writev of two (docs/benchmarks.md, "Where the time goes per request").
      this.pendingHead = null;
      const hl = head.length; // latin1: one byte per character
      const out = Buffer.allocUnsafe(hl + len);
      out.write(head, 0, hl, 'latin1');
      chunk.copy(out, hl);
      return socket.write(out);
    }
    socket.cork();
    if (head !== null) {
      this.pendingHead = null;
      socket.write(head, 'latin1');
    }
    const ok = this.chunked ? writeChunk(socket, chunk, len) : socket.write(chunk);
    socket.uncork();
    return ok;
  }

  end(chunk?: Buffer | string): this {
    if (this.ended) return this;
    if (this.destroyed) {
      this.ended = true;
      return this;
    }
    if (!this.headersSent) {
      // As node:http: an answer given whole by end() states its length.
      const length = chunk === undefined ? 0 : typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      this.storeHead(this.statusCode, {}, length);
    }
    this.ended = true;
    const socket = this.conn.socket;
    const body = chunk !== undefined && !this.noBody && (typeof chunk === 'string' ? chunk.length > 0 : chunk.length > 0) ? chunk : null;
    if (this.left >= 0 && !this.noBody) {
      const len = body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      // The body must be exactly the announced length: a short or long one would desynchronise the connection.
      if (len !== this.left) {
        this.destroy();
        return this;
      }
      this.left = 0;
    }
    const head = this.pendingHead;
    this.pendingHead = null;
    if (body === null && !this.chunked) {
      if (head !== null) socket.write(head, 'latin1', this.onWritten);
      else process.nextTick(this.onWritten);
      return this;
    }
    socket.cork();
    if (head !== null) socket.write(head, 'latin1');
    if (this.chunked) {
      if (body !== null) writeChunk(socket, body, typeof body === 'string' ? Buffer.byteLength(body) : body.length);
      socket.write(LAST_CHUNK, 'latin1', this.onWritten);
    } else {
      socket.write(body!, this.onWritten);
    }
    socket.uncork();
    return this;
  }

  /** end() was called (the last bytes may still be on their way). */
  get writableEnded(): boolean {
    return this.ended;
  }

  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.conn.socket.destroy();
    }
    return this;
  }

  /** 'close' exactly once: after the response finished, or when the connection went first. */
  emitClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close');
  }
}

let dateCache = '';
let dateSecond = 0;

/** The Date header value, recomputed once per second (as node:http caches it). */
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateCache = new Date(now).toUTCString();
  }
  return dateCache;
}
