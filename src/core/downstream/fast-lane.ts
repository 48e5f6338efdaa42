/**
 * The fast lane of a plain-HTTP proxy listener: the common request (see
 * request-head.ts — HTTP/1.1, no body, no upgrade) is read straight off the
 * socket and answered through a light response object that writes the head
 * and body in one syscall (FastRequest / FastResponse, fast-messages.ts);
 * everything else — a body, HTTP/1.0, Expect, WebSocket upgrades, malformed
 * or oversized heads — is handed, with the bytes already read, to node:http's own connection handling on the same
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
 *
 * This file holds the lane (accepting connections, the idle sweep, closing)
 * and the per-connection reader (heads in order, hand-over, end of stream).
 */
import { Buffer } from 'node:buffer';
import type { Server } from 'node:http';
import { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { clock, idleSweep, SWEEP_MS, type Sweepable } from '../../shared/clock.ts';
import { isServedRequestLine, readRequestHead } from './request-head.ts';
import { FastRequest, FastResponse, type ResponseConnection } from './fast-messages.ts';

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

/**
 * Plain-TCP connections read into this one buffer instead of a new 64 KiB
 * allocation and ArrayBuffer per read (node's default): what net's `onread`
 * option does for sockets we open (the upstream pool's READ_BUFFER), switched
 * on here for sockets the server accepted. Safe because a read is parsed
 * synchronously; bytes that outlive the read (a partial head, pipelined
 * requests, a hand-over) are copied. -2 µs of CPU per proxied request
 * (docs/benchmarks.md, "Issue 13, fourth pass").
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * net.Socket's slots for `onread` (its kBuffer / kBufferCb symbols), found
 * by description on a throwaway socket. net offers `onread` only to sockets
 * it creates, not to accepted ones; filling the same slots and calling the
 * handle's useUserBuffer is what its own constructor does. Null when this
 * Node does not have them: the lane then reads through 'data' as before.
 */
const ONREAD_SLOTS = ((): { buffer: symbol; callback: symbol } | null => {
  const probe = new Socket();
  let buffer: symbol | null = null;
  let callback: symbol | null = null;
  for (const s of Object.getOwnPropertySymbols(probe)) {
    if (s.description === 'kBuffer') buffer = s;
    else if (s.description === 'kBufferCb') callback = s;
  }
  probe.destroy();
  return buffer !== null && callback !== null ? { buffer, callback } : null;
})();

type ReadCallback = (n: number, buf: Buffer) => boolean;
type SlotSocket = Socket & Record<symbol, unknown> & { _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null };

/** Read `socket` into READ_BUFFER through `onRead`; false when it cannot be (TLS, a wrapped stream, another Node). */
function readIntoSharedBuffer(socket: Socket, onRead: ReadCallback): boolean {
  const s = socket as SlotSocket;
  const handle = s._handle;
  if (ONREAD_SLOTS === null || handle == null || typeof handle.useUserBuffer !== 'function' || s[ONREAD_SLOTS.buffer] !== null) return false;
  s[ONREAD_SLOTS.buffer] = READ_BUFFER;
  s[ONREAD_SLOTS.callback] = onRead;
  handle.useUserBuffer(READ_BUFFER);
  return true;
}

/**
 * A handed-over socket keeps its shared-buffer reads (they cannot be undone),
 * which read() below feeds to its readable side. net's pause() stops such a
 * socket's reads altogether, where a socket read the usual way keeps reading
 * into its buffer up to the high-water mark — and so still sees the peer's
 * FIN, which a tunnel that unpiped needs to close. The usual pause, then.
 */
function pauseAsUsual(this: Socket): Socket {
  return Duplex.prototype.pause.call(this) as Socket;
}

/** Whether accepted plain-TCP connections are read into the shared buffer on this Node (tests). */
export const sharedReadBuffer: boolean = ONREAD_SLOTS !== null;

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

class Connection implements ResponseConnection {
  readonly lane: Lane;
  readonly socket: Socket;
  /** Bytes read and not yet parsed. */
  private buf: Buffer | null;
  /** When the first bytes of a still incomplete head arrived (ms), 0 when none. */
  private headSince: number;
  /** The response in progress. */
  res: FastResponse | null;
  private readonly onData: (chunk: Buffer) => void;
  /** Reads land in READ_BUFFER (readIntoSharedBuffer): `buf` may be a view of it until copied. */
  private readonly shared: boolean;
  /** `buf` is a view of READ_BUFFER, valid only during the read callback. */
  private volatile: boolean;
  /** Handed to node:http: reads (if they still come here) go to the socket's readable side. */
  private handedOver: boolean;
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
    this.volatile = false;
    this.handedOver = false;
    socket.setNoDelay(true);
    this.shared = readIntoSharedBuffer(socket, (n, buf) => this.read(n, buf));
    if (!this.shared) socket.on('data', this.onData);
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

  /** `n` bytes read into READ_BUFFER (`shared`). Returns false to stop reading. */
  private read(n: number, shared: Buffer): boolean {
    if (this.handedOver) return this.socket.push(Buffer.from(shared.subarray(0, n)));
    this.activeTick = idleSweep.tick;
    if (this.buf === null) {
      this.buf = shared.subarray(0, n);
      this.volatile = true;
    } else {
      this.buf = Buffer.concat([this.buf, shared.subarray(0, n)]);
    }
    let more = true;
    if (this.res !== null) {
      // Pipelined: answered in order once the current response is done; stop reading meanwhile.
      more = this.buf.length <= this.lane.options.maxHeaderSize;
    } else {
      this.next();
    }
    this.keepBuffered();
    // After a hand-over node:http drives the reading (its pause/resume); false would stop it.
    return more || this.handedOver;
  }

  /** What is left of a read into READ_BUFFER is copied before the next read overwrites it. */
  private keepBuffered(): void {
    if (!this.volatile) return;
    this.volatile = false;
    if (this.buf !== null) this.buf = Buffer.from(this.buf);
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
    this.keepBuffered();
    if (this.shared) {
      this.handedOver = true;
      socket.pause = pauseAsUsual;
    }
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
    if (this.shared) {
      // A read callback that returned false stopped the handle; resume() starts it again (net, for onread sockets).
      if (!(this.socket as Socket & { _handle?: { reading?: boolean } | null })._handle?.reading) this.socket.resume();
    } else if (this.socket.isPaused()) this.socket.resume();
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
