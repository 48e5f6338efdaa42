/**
 * The fast lane of a plain-HTTP proxy listener: the common request (see
 * request-head.ts — HTTP/1.1, no body, no upgrade) is read straight off the
 * socket and answered through a light response object that writes the head
 * and body in one syscall; everything else — a body, HTTP/1.0, Expect,
 * WebSocket upgrades, malformed or oversized heads — is handed, with the
 * bytes already read, to node:http's own connection handling on the same
 * server, which keeps the connection from then on. Both paths end in the
 * same handler (proxy/handle.ts) through the ProxyRequest / ProxyResponse
 * contracts (core/context.ts).
 *
 * Why: on the plain-proxy benchmark node:http's per-request machinery
 * (IncomingMessage, ServerResponse, llhttp callbacks) cost about as much as
 * the rest of the gateway (docs/benchmarks.md, "Fast lane").
 *
 * Kept as node:http does it, so a client cannot tell the paths apart:
 * response heads (status text, Date, Connection/Keep-Alive, chunked framing
 * when there is no Content-Length, no body for HEAD/204/304), one request
 * at a time per connection with pipelined requests answered in order, the
 * keep-alive and header timeouts, and 'close' on the response exactly once.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ProxyRequest, ProxyResponse } from '../context.ts';
import { fieldLines, hasToken, isFieldName, lowerAscii, parseContentLength, writeChunk } from '../http1/syntax.ts';
import { clock, idleSweep, SWEEP_MS, type Sweepable } from '../../shared/clock.ts';
import { isServedRequestLine, rawHeadersOf, readRequestHead, type RequestHead } from './request-head.ts';

export interface FastLaneOptions {
  /** Request heads larger than this go to node:http, which answers them. */
  maxHeaderSize: number;
  /** Idle keep-alive connections are closed after this long (ms). */
  keepAliveMs: number;
  /** A request head must arrive within this long (ms). */
  headersTimeoutMs: number;
  onRequest(req: FastRequest, res: FastResponse): void;
}

export interface FastLane {
  /** Close connections that wait for a request; answers in progress finish with `Connection: close`. */
  closeIdle(): void;
  /** Close every fast-lane connection now. */
  closeAll(): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LAST_CHUNK = '0\r\n\r\n';
/** Bodies up to this size go out in the same write as the head (copied once into one Buffer). */
const JOIN_LIMIT = 16 * 1024;

type ConnectionListener = (this: Server, socket: Socket) => void;

/** Take over the plain listener `server`'s connections; node:http's own handling stays behind for hand-overs. */
export function attachFastLane(server: Server, options: FastLaneOptions): FastLane {
  const nodeListeners = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const lane = new Lane(server, options, nodeListeners);
  server.on('connection', (socket: Socket) => lane.accept(socket));
  return lane;
}

class Lane implements FastLane, Sweepable {
  readonly server: Server;
  readonly options: FastLaneOptions;
  readonly keepAliveHeader: string;
  private readonly nodeListeners: ConnectionListener[];
  readonly connections: Set<Connection>;
  closing: boolean;
  /** Watched by the idle sweep (src/shared/clock.ts) while it has connections. */
  private swept: boolean;

  constructor(server: Server, options: FastLaneOptions, nodeListeners: ConnectionListener[]) {
    this.server = server;
    this.options = options;
    this.keepAliveHeader = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveMs / 1000)}\r\n`;
    this.nodeListeners = nodeListeners;
    this.connections = new Set();
    this.closing = false;
    this.swept = false;
  }

  accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.connections.add(new Connection(this, socket));
    if (!this.swept) {
      this.swept = true;
      idleSweep.watch(this);
    }
  }

  /**
   * Close connections idle for the keep-alive timeout (or stuck in a head for
   * as long). The process's one idle sweep instead of a timer per socket, whose
   * refresh on every read and write showed in profiles.
   */
  sweep(tick: number): boolean {
    const limit = Math.max(1, Math.ceil(this.options.keepAliveMs / SWEEP_MS));
    // Strictly more than the limit: never before keepAliveMs (node adds a second of grace too).
    for (const c of this.connections) if (c.res === null && tick - c.activeTick > limit) c.socket.destroy();
    this.swept = this.connections.size > 0;
    return this.swept;
  }

  /** Give the socket (and the bytes read from it) to node:http. */
  handOver(socket: Socket, buffered: Buffer | null): void {
    socket.pause();
    if (buffered !== null) socket.unshift(buffered);
    for (const l of this.nodeListeners) l.call(this.server, socket);
    socket.resume();
  }

  closeIdle(): void {
    this.closing = true;
    for (const c of this.connections) if (c.res === null) c.socket.destroy();
  }

  closeAll(): void {
    this.closing = true;
    for (const c of this.connections) c.socket.destroy();
    if (this.swept) {
      this.swept = false;
      idleSweep.unwatch(this);
    }
  }
}

class Connection {
  readonly lane: Lane;
  readonly socket: Socket;
  /** Bytes read and not yet parsed. */
  private buf: Buffer | null;
  /** When the first bytes of a still incomplete head arrived (ms), 0 when none. */
  private headSince: number;
  /** The response in progress. */
  res: FastResponse | null;
  private readonly onData: (chunk: Buffer) => void;
  private readonly onEnd: () => void;
  private readonly onClose: () => void;
  private readonly onDrain: () => void;
  private ended: boolean;
  /** The idle sweep's tick at the last bytes read or response finished. */
  activeTick: number;

  constructor(lane: Lane, socket: Socket) {
    this.lane = lane;
    this.socket = socket;
    this.buf = null;
    this.headSince = 0;
    this.res = null;
    this.ended = false;
    this.activeTick = idleSweep.tick;
    this.onData = (chunk) => this.data(chunk);
    this.onEnd = () => this.peerEnded();
    this.onClose = () => this.closed();
    this.onDrain = () => this.res?.emit('drain');
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('error', ignore);
  }

  private data(chunk: Buffer): void {
    this.activeTick = idleSweep.tick;
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.res !== null) {
      // Pipelined: answered in order once the current response is done; stop reading meanwhile.
      if (this.buf.length > this.lane.options.maxHeaderSize) this.socket.pause();
      return;
    }
    this.next();
  }

  /** Serve the next request in the buffer, if a whole head is there. */
  private next(): void {
    const buf = this.buf;
    if (buf === null) return;
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      if (buf.length > this.lane.options.maxHeaderSize || !couldBeServed(buf)) {
        this.handOver(); // node answers what can never become a head the lane serves, without waiting
        return;
      }
      const now = clock.now();
      if (this.headSince === 0) this.headSince = now;
      else if (now - this.headSince > this.lane.options.headersTimeoutMs) this.socket.destroy();
      return;
    }
    this.headSince = 0;
    const head = end <= this.lane.options.maxHeaderSize ? readRequestHead(buf.toString('latin1', 0, end)) : null;
    if (head === null) {
      this.handOver();
      return;
    }
    this.buf = end + 4 < buf.length ? buf.subarray(end + 4) : null;
    const req = new FastRequest(head, this.socket);
    const res = new FastResponse(this, req.method === 'HEAD', head.close || this.lane.closing || this.ended);
    this.res = res;
    this.lane.options.onRequest(req, res);
  }

  private handOver(): void {
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    socket.off('drain', this.onDrain);
    socket.off('error', ignore);
    this.lane.connections.delete(this);
    const buf = this.buf;
    this.buf = null;
    this.lane.handOver(socket, buf);
  }

  /** The response finished writing. */
  finished(res: FastResponse): void {
    if (this.res !== res) return;
    this.res = null;
    this.activeTick = idleSweep.tick;
    res.writableFinished = true;
    res.emitClose();
    if (res.closeAfter || this.lane.closing || this.ended) {
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (this.buf !== null) this.next();
  }

  /**
   * The client closed its side. As node:http (httpAllowHalfOpen off): an
   * answer still being produced is abandoned, one already ended is flushed
   * first; a head cut short is a client error (HPE_INVALID_EOF_STATE).
   */
  private peerEnded(): void {
    this.ended = true;
    const res = this.res;
    const partial = this.buf;
    this.buf = null;
    if (res !== null) {
      if (res.writableEnded) return; // finished() ends the socket once it is written
      this.socket.destroy();
      return;
    }
    if (partial !== null && partial.length > 0) {
      const err = Object.assign(new Error('Parse Error: Invalid EOF state'), { code: 'HPE_INVALID_EOF_STATE', rawPacket: partial });
      if (this.lane.server.listenerCount('clientError') > 0) this.lane.server.emit('clientError', err, this.socket);
      else this.socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    this.socket.end();
  }

  private closed(): void {
    this.lane.connections.delete(this);
    const res = this.res;
    if (res !== null) {
      this.res = null;
      res.destroyed = true;
      res.emitClose();
    }
  }

}

/**
 * Whether the bytes of a head still incomplete may yet be one the lane
 * serves: no bare LF (RFC 9112 §2.2 — node refuses it at once), and a
 * complete request line must be one readRequestHead accepts.
 */
function couldBeServed(buf: Buffer): boolean {
  let lf = buf.indexOf(10);
  if (lf === -1) return true;
  const text = buf.toString('latin1');
  if (!isServedRequestLine(text, lf - 1) || text.charCodeAt(lf - 1) !== 13) return false;
  while ((lf = text.indexOf('\n', lf + 1)) !== -1) if (text.charCodeAt(lf - 1) !== 13) return false;
  return true;
}

function ignore(): void {
  // 'close' follows every socket error and does the cleanup.
}

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
  private readonly conn: Connection;
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

  constructor(conn: Connection, isHead: boolean, closeAfter: boolean) {
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
