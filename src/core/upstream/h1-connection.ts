/**
 * One keep-alive connection of the upstream HTTP/1.1 pool (h1-pool.ts) and
 * the state machine of the call it runs (h1-call.ts): the request head and
 * body written (a Buffer in one corked write, a stream with backpressure and
 * its length checked), the response parsed as it arrives (h1-response.ts)
 * and relayed to the handler, pause/resume with bytes held back, a 101
 * handing the socket over, and the end of the call — the connection back to
 * the pool, closed, or (a reused one failing before any answer) the request
 * sent once more on a new connection.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { writeChunk } from '../http1/syntax.ts';
import { ResponseParser, type ResponseSink } from './h1-response.ts';
import { upstreamError } from '../errors.ts';
import type { HeaderValues } from './types.ts';
import type { Call, CallConnection } from './h1-call.ts';
import { replayable, streamLength } from './h1-request-head.ts';

/** What a connection uses of its pool (H1Pool, h1-pool.ts). */
export interface ConnectionPool {
  readonly options: { readonly maxHeaderBytes: number; readonly keepAliveMs: number };
  running: number;
  readonly closed: boolean;
  send(call: Call, mayReuse: boolean): void;
  release(conn: H1Connection): void;
  forget(conn: H1Connection): void;
  checkDrained(): void;
}

const NO_TRAILERS: HeaderValues = Object.freeze({}) as HeaderValues;
const EMPTY = Buffer.alloc(0);
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** One socket to the upstream; runs one call at a time (no pipelining). */
export class H1Connection implements ResponseSink, CallConnection {
  readonly pool: ConnectionPool;
  readonly socket: Socket;
  private readonly parser: ResponseParser;
  call: Call | null;
  /** Has completed at least one exchange (a failure may be the upstream closing it while idle). */
  reused: boolean;
  /** The idle sweep's tick when the connection went idle. */
  idleSince: number;
  idleLimitMs: number;
  /** The parser reported the end of the response during the current feed. */
  private completed: boolean;
  /** The upstream closed its side (FIN). */
  private peerEnded: boolean;
  /** Body stream listeners of the current call, removed when the call ends. */
  private body: Readable | null;
  private bodyLeft: number;
  private bodyChunked: boolean;
  private readonly onBodyData: (chunk: Buffer) => void;
  private readonly onBodyEnd: () => void;
  private readonly onBodyError: (err?: Error) => void;
  private readonly onBodyClose: () => void;
  private readonly onDrain: () => void;

  /** The bytes being parsed live in READ_BUFFER: copy what must outlive the read. */
  private volatile: boolean;
  /** Fields of a 101 answer, until handOver(). */
  private upgradeHeaders: HeaderValues | null;

  constructor(pool: ConnectionPool, socket: Socket, sharedReadBuffer: boolean) {
    this.pool = pool;
    this.socket = socket;
    this.parser = new ResponseParser(pool.options.maxHeaderBytes);
    this.call = null;
    this.reused = false;
    this.idleSince = 0;
    this.idleLimitMs = pool.options.keepAliveMs;
    this.completed = false;
    this.peerEnded = false;
    this.body = null;
    this.bodyLeft = -1;
    this.bodyChunked = false;
    this.onBodyData = (chunk) => this.bodyData(chunk);
    this.onBodyEnd = () => this.bodyEnd();
    this.onBodyError = (err) => this.bodyFailed(err);
    this.onBodyClose = () => this.bodyFailed();
    this.onDrain = () => this.body?.resume();
    socket.setNoDelay(true);
    this.volatile = false;
    this.upgradeHeaders = null;
    if (!sharedReadBuffer) socket.on('data', (buf: Buffer) => this.onData(buf));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: Error) => this.onSocketError(err));
    socket.on('close', () => this.onClose());
  }

  /** Open on both sides and not in use. */
  usable(): boolean {
    return !this.peerEnded && !this.socket.destroyed;
  }

  start(call: Call): void {
    const pool = this.pool;
    pool.running++;
    this.call = call;
    call.conn = this;
    this.socket.ref();
    const req = call.req;
    const head = call.head;
    this.parser.reset(req.method === 'HEAD', req.upgrade !== null);
    call.handler.onRequestStart(call, null);
    if (call.done) return; // aborted at once (the client left while we connected)
    const body = req.body;
    const socket = this.socket;
    if (body === null) {
      socket.write(head, 'latin1');
      this.requestDone(call);
    } else if (Buffer.isBuffer(body)) {
      socket.cork();
      socket.write(head, 'latin1');
      if (body.length > 0) socket.write(body);
      socket.uncork();
      if (body.length > 0) call.handler.onBodySent(body);
      if (call.done) return;
      this.requestDone(call);
    } else {
      this.bodyLeft = streamLength(req);
      this.bodyChunked = this.bodyLeft < 0;
      socket.write(head, 'latin1');
      this.body = body;
      socket.on('drain', this.onDrain);
      body.on('data', this.onBodyData);
      body.on('end', this.onBodyEnd);
      body.on('error', this.onBodyError);
      body.on('close', this.onBodyClose);
      if (body.isPaused()) body.resume();
    }
  }

  private requestDone(call: Call): void {
    call.requestSent = true;
    call.handler.onRequestSent();
  }

  private bodyData(chunk: Buffer): void {
    const call = this.call;
    if (call === null) return;
    if (this.bodyLeft >= 0) {
      this.bodyLeft -= chunk.length;
      if (this.bodyLeft < 0) {
        this.abortWith(upstreamError('REQUEST_BODY_LENGTH_MISMATCH', 'request body longer than its Content-Length'));
        return;
      }
    }
    const ok = this.bodyChunked ? writeChunk(this.socket, chunk, chunk.length) : this.socket.write(chunk);
    if (!ok) this.body!.pause();
    call.handler.onBodySent(chunk);
  }

  private bodyEnd(): void {
    const call = this.call;
    if (call === null || this.body === null) return;
    if (this.bodyLeft > 0) {
      this.abortWith(upstreamError('REQUEST_BODY_LENGTH_MISMATCH', `request body ended ${this.bodyLeft} bytes short of its Content-Length`));
      return;
    }
    if (this.bodyChunked) this.socket.write(LAST_CHUNK);
    this.unhookBody();
    if (!call.done) this.requestDone(call);
  }

  private bodyFailed(err?: Error): void {
    if (this.call === null || this.body === null) return;
    if (err === undefined && this.body.readableEnded) return; // 'close' after 'end'
    this.abortWith(upstreamError('REQUEST_BODY_ABORTED', `request body stream failed: ${err?.message ?? 'closed before its end'}`, err));
  }

  private unhookBody(): void {
    const body = this.body;
    if (body === null) return;
    this.body = null;
    body.off('data', this.onBodyData);
    body.off('end', this.onBodyEnd);
    body.off('error', this.onBodyError);
    body.off('close', this.onBodyClose);
    this.socket.off('drain', this.onDrain);
  }

  // ------------------------------------------------------------ response side

  /** A read into READ_BUFFER (plain TCP). Returns false to stop reading (paused). */
  onRead(n: number, shared: Buffer): boolean {
    return this.receive(shared.subarray(0, n), true);
  }

  /** A read of its own buffer (TLS). */
  private onData(buf: Buffer): void {
    if (!this.receive(buf, false)) this.socket.pause();
  }

  /** Bytes from the upstream; `volatile`: they are READ_BUFFER's and must be copied to outlive the read. Returns false to stop reading. */
  private receive(buf: Buffer, volatile: boolean): boolean {
    const call = this.call;
    if (call === null) {
      // Bytes nobody asked for: the connection is out of step; never reuse it.
      this.destroy();
      return false;
    }
    call.answered = true;
    if (call.paused) {
      const held = call.held;
      call.held = held === null || held.length === 0 ? (volatile ? Buffer.from(buf) : buf) : Buffer.concat([held, buf]);
      return false;
    }
    this.volatile = volatile;
    try {
      this.feed(call, buf);
    } finally {
      this.volatile = false;
    }
    return !(this.call === call && call.paused);
  }

  /** Parse response bytes for `call`; holds back what is left when the handler pauses. */
  private feed(call: Call, buf: Buffer): void {
    let at: number;
    try {
      at = this.parser.execute(buf, 0, this);
    } catch (err) {
      this.abortWith(err as Error);
      return;
    }
    if (this.completed) {
      this.finishCall(call, at < buf.length);
      return;
    }
    if (this.parser.upgraded) {
      this.handOver(call, buf.subarray(at));
      return;
    }
    if (call.done || this.call !== call) return;
    if (call.paused) {
      // After the last body byte the parser still has to report completion: EMPTY keeps that for resume().
      call.held = at < buf.length ? (this.volatile ? Buffer.from(buf.subarray(at)) : buf.subarray(at)) : this.parser.done ? EMPTY : null;
      this.socket.pause();
    }
  }

  /** The handler resumed `call`: deliver what was held back, then read the socket again. */
  resumeCall(call: Call): void {
    const held = call.held;
    call.held = null;
    if (held !== null) this.feed(call, held);
    if (call.done || call.paused || this.call !== call) return;
    if (this.peerEnded) {
      this.endOfStream(call); // the upstream closed while we held its bytes
      return;
    }
    this.socket.resume();
  }

  onHead(status: number, headers: HeaderValues, reason: string): boolean {
    const call = this.call!;
    if (status === 101) {
      this.upgradeHeaders = headers; // handed over with the socket by feed()
      return false;
    }
    call.handler.onResponseStart(call, status, headers, reason);
    return !call.done && !call.paused;
  }

  onBody(chunk: Buffer): boolean {
    const call = this.call!;
    call.handler.onResponseData(call, this.volatile ? Buffer.from(chunk) : chunk);
    return !call.done && !call.paused;
  }

  onComplete(): void {
    this.completed = true;
  }

  /**
   * A 101 answered the upgrade request: the socket leaves the pool for the
   * handler, paused, with the bytes of the new protocol already read (copied:
   * they may be READ_BUFFER's). Bytes the handler had not yet asked to send
   * (the client's, after its handshake) are the handler's to send now.
   */
  private handOver(call: Call, rest: Buffer): void {
    const socket = this.socket;
    const headers = this.upgradeHeaders ?? {};
    this.upgradeHeaders = null;
    socket.pause();
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.ref();
    this.detach(call);
    this.pool.forget(this);
    this.pool.checkDrained();
    call.done = true;
    call.handler.onUpgrade(call, 101, headers, socket, Buffer.from(rest));
  }

  /** The response is complete: free the connection (or close it), then tell the handler. */
  private finishCall(call: Call, leftover: boolean): void {
    this.completed = false;
    const parser = this.parser;
    const reusable = !leftover && !this.peerEnded && parser.keepAlive && call.requestSent && this.body === null && call.req.upgrade === null;
    if (parser.keepAliveHint > 0) this.idleLimitMs = Math.min(this.pool.options.keepAliveMs, Math.max(1, parser.keepAliveHint - 1) * 1000);
    this.reused = true;
    this.detach(call);
    // Completed from bytes held back while paused: the socket is still paused and must read again.
    if (reusable && this.socket.isPaused()) this.socket.resume();
    this.releaseOrClose(reusable);
    call.done = true;
    call.handler.onResponseEnd(call, NO_TRAILERS);
  }

  private onEnd(): void {
    this.peerEnded = true;
    const call = this.call;
    if (call === null || call.paused) return; // idle: 'close' follows; paused: resumeCall() decides
    this.endOfStream(call);
  }

  /** The upstream's FIN reached `call`: it ends a close-delimited body, and nothing else. */
  private endOfStream(call: Call): void {
    this.parser.finish(this);
    if (this.completed) this.finishCall(call, false);
    else this.abortWith(closedEarly(), true);
  }

  private onSocketError(err: Error): void {
    if (this.call !== null) this.abortWith(err, true);
  }

  private onClose(): void {
    this.pool.forget(this);
    const call = this.call;
    if (call !== null && !(call.paused && this.peerEnded)) this.abortWith(closedEarly(), true);
  }

  /**
   * End the current call with `err` and close the connection. A failure of
   * the connection itself (`byPeer`) on a reused connection before any answer
   * sends the request again when that is safe.
   */
  abortWith(err: Error, byPeer = false): void {
    const call = this.call;
    if (call === null) {
      this.destroy();
      return;
    }
    this.detach(call);
    this.destroy();
    this.pool.checkDrained();
    if (byPeer && this.reused && !call.answered && !call.resent && !call.aborted && !call.done && replayable(call.req) && !this.pool.closed) {
      call.resent = true;
      call.requestSent = false;
      call.conn = null;
      this.pool.send(call, false);
      return;
    }
    call.fail(err);
  }

  private detach(call: Call): void {
    this.unhookBody();
    this.call = null;
    call.conn = null;
    this.pool.running--;
  }

  private releaseOrClose(reusable: boolean): void {
    if (reusable && !this.socket.destroyed) this.pool.release(this);
    else {
      this.destroy();
      this.pool.checkDrained();
    }
  }

  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

function closedEarly(): Error {
  return upstreamError('UPSTREAM_CLOSED', 'upstream closed the connection before the response was complete');
}
