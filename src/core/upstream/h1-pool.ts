/**
 * The proxy's upstream HTTP/1.1 client: a keep-alive connection pool per
 * origin on `net` / `tls` sockets, writing each request head in one write and
 * relaying the response through a handler (types.ts) as it is parsed
 * (h1-response.ts). It replaced undici on the proxy path: on the plain-proxy
 * benchmark undici's dispatcher cost about a fifth of the gateway's
 * throughput (docs/benchmarks.md, "Upstream client").
 *
 * - One request per connection at a time (no pipelining); idle connections
 *   are reused most-recent first and closed after the keep-alive timeout, or
 *   a second before the upstream's own `Keep-Alive: timeout=N` hint.
 * - A request that failed on a reused connection before any byte of the
 *   answer came back is sent again once on a new connection when that is
 *   safe (RFC 9112 §9.3.1: idempotent method, replayable body) — the upstream
 *   may have closed the idle connection as we wrote to it.
 * - Connections are unlimited in number (as undici's Pool by default and
 *   nginx's upstream keepalive: the pool only bounds the idle ones' life).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import { fieldLines, FRAMING_FIELDS, IDEMPOTENT_METHODS, isFieldName, isFieldValue, writeChunk } from '../http1/syntax.ts';
import { ResponseParser, type ResponseSink } from './h1-response.ts';
import { upstreamError } from '../errors.ts';
import { clock, idleSweep, SWEEP_MS, type Sweepable } from '../../shared/clock.ts';
import { type HeaderValues, type UpstreamController, type UpstreamHandler, type UpstreamRequest } from './types.ts';

export interface H1PoolOptions {
  /** Connect address (IPv6 without brackets). */
  host: string;
  port: number;
  tls: { servername: string | null; rejectUnauthorized: boolean; ca: readonly string[] | null } | null;
  connectTimeoutMs: number;
  /** How long an idle connection is kept (ms). */
  keepAliveMs: number;
  /** Response head size limit (bytes). */
  maxHeaderBytes: number;
}

/** Request targets: no whitespace, controls or characters beyond latin1 (forward.ts escapes them). */
const BAD_TARGET = /[^\x21-\x7e\x80-\xff]/;
/** Methods whose requests carry a body by definition: `Content-Length: 0` when they have none (as undici, nginx). */
const EXPECTS_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);
const NO_TRAILERS: HeaderValues = Object.freeze({}) as HeaderValues;
const EMPTY = Buffer.alloc(0);
/**
 * Plain-TCP connections read into this one buffer (net's `onread`) instead of
 * a new ArrayBuffer per read, whose allocation and release showed as ~9% of a
 * proxied request's CPU. Safe because a read is parsed synchronously; bytes
 * that outlive the callback (body chunks handed on, held-back bytes) are copied.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

export class H1Pool implements Sweepable {
  readonly options: H1PoolOptions;
  /** Idle connections, most recently used last. */
  private readonly idle: H1Connection[];
  /** Requests on a connection / waiting for one to connect. */
  running: number;
  pending: number;
  closed: boolean;
  /** Watched by the idle sweep (src/shared/clock.ts) while it has idle connections. */
  private swept: boolean;
  /** Last TLS session, offered to the next connection (resumption). */
  tlsSession: Buffer | null;
  private readonly live: Set<H1Connection>;
  /** Connections being established: their failure callbacks (destroy() fails them). */
  private readonly connecting: Set<(err: Error) => void>;
  /** Resolves close() once nothing runs. */
  private drained: (() => void) | null;

  constructor(options: H1PoolOptions) {
    this.options = options;
    this.idle = [];
    this.running = 0;
    this.pending = 0;
    this.closed = false;
    this.swept = false;
    this.tlsSession = null;
    this.live = new Set();
    this.connecting = new Set();
    this.drained = null;
  }

  get stats(): { running: number; pending: number; connections: number; idle: number } {
    return { running: this.running, pending: this.pending, connections: this.live.size, idle: this.idle.length };
  }

  dispatch(req: UpstreamRequest, handler: UpstreamHandler): void {
    const head = requestHead(req);
    const call = new Call(this, handler, req, typeof head === 'string' ? head : '');
    if (typeof head !== 'string') {
      call.failLater(head); // nothing sent, no connection taken
      return;
    }
    if (this.closed) {
      call.failLater(upstreamError('UPSTREAM_POOL_CLOSED', 'upstream pool closed'));
      return;
    }
    this.send(call, true);
  }

  /** Put the call on an idle connection, or on a new one. */
  send(call: Call, mayReuse: boolean): void {
    // An upgrade request takes a connection of its own: it leaves the pool either way.
    if (mayReuse && call.req.upgrade === null) {
      const idle = this.idle;
      while (idle.length > 0) {
        const conn = idle.pop()!;
        if (conn.usable()) {
          conn.start(call);
          return;
        }
      }
    }
    this.connect(call);
  }

  private connect(call: Call): void {
    const o = this.options;
    this.pending++;
    let socket: Socket | null = null;
    let conn: H1Connection | null = null;
    let settled = false;
    /** Plain TCP reads into READ_BUFFER (not TLS, not an upgrade). */
    let shared = o.tls === null;
    const failed = (err: Error): void => {
      if (settled) return;
      settled = true;
      this.connecting.delete(failed);
      clock.clearTimeout(timer);
      this.pending--;
      socket?.destroy();
      call.fail(err);
      this.checkDrained();
    };
    const timer = clock.setTimeout(
      () => failed(upstreamError('UPSTREAM_CONNECT_TIMEOUT', `connect to ${o.host}:${o.port} timed out after ${o.connectTimeoutMs} ms`)),
      o.connectTimeoutMs,
    );
    const ready = (): void => {
      if (settled) return;
      settled = true;
      this.connecting.delete(failed);
      clock.clearTimeout(timer);
      const s = socket!;
      s.off('error', failed);
      this.pending--;
      conn = new H1Connection(this, s, shared);
      this.live.add(conn);
      if (this.closed) {
        conn.destroy();
        call.fail(upstreamError('UPSTREAM_POOL_CLOSED', 'upstream pool closed'));
        this.checkDrained();
      } else if (call.done) {
        this.release(conn); // aborted while connecting: keep the connection for the next request
      } else {
        conn.start(call);
      }
    };
    try {
      if (o.tls !== null) {
        const t = o.tls;
        const opts: ConnectionOptions = {
          host: o.host,
          port: o.port,
          rejectUnauthorized: t.rejectUnauthorized,
          ALPNProtocols: ['http/1.1'],
        };
        if (t.servername !== null) opts.servername = t.servername;
        if (t.ca !== null) opts.ca = t.ca as string[];
        if (this.tlsSession !== null) opts.session = this.tlsSession;
        const tls: TLSSocket = tlsConnect(opts);
        tls.on('session', (session: Buffer) => {
          this.tlsSession = session;
        });
        tls.once('secureConnect', ready);
        socket = tls;
      } else if (call.req.upgrade !== null) {
        // Reads of its own: after a 101 the socket is handed over and read through 'data'.
        socket = netConnect({ host: o.host, port: o.port, autoSelectFamily: true });
        socket.once('connect', ready);
        shared = false;
      } else {
        socket = netConnect({
          host: o.host,
          port: o.port,
          autoSelectFamily: true,
          onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => (conn === null ? false : conn.onRead(n, buf as Buffer)) },
        });
        socket.once('connect', ready);
      }
      socket.on('error', failed);
    } catch (err) {
      // Invalid options (never for options built by pools.ts): reported like a failed connection.
      settled = true;
      clock.clearTimeout(timer);
      this.pending--;
      call.failLater(err as Error);
      return;
    }
    this.connecting.add(failed);
  }

  /** A connection finished its request and may be reused. */
  release(conn: H1Connection): void {
    if (this.closed) {
      conn.destroy();
      this.checkDrained();
      return;
    }
    conn.idleSince = idleSweep.tick;
    conn.socket.unref();
    this.idle.push(conn);
    if (!this.swept) {
      this.swept = true;
      idleSweep.watch(this);
    }
  }

  /** A connection is gone (closed by either side). */
  forget(conn: H1Connection): void {
    this.live.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
  }

  /** The idle sweep (src/shared/clock.ts): close sockets idle for their keep-alive limit, or no longer usable. */
  sweep(tick: number): boolean {
    const idle = this.idle;
    let kept = 0;
    for (let i = 0; i < idle.length; i++) {
      const conn = idle[i]!;
      if ((tick - conn.idleSince) * SWEEP_MS >= conn.idleLimitMs || !conn.usable()) {
        conn.destroy();
        continue;
      }
      idle[kept++] = conn;
    }
    idle.length = kept;
    this.swept = kept > 0;
    return this.swept;
  }

  private unwatch(): void {
    if (this.swept) {
      this.swept = false;
      idleSweep.unwatch(this);
    }
  }

  checkDrained(): void {
    if (this.drained !== null && this.running === 0 && this.pending === 0) {
      const d = this.drained;
      this.drained = null;
      d();
    }
  }

  /** Stop taking requests; let running ones finish, then close every connection. */
  close(): Promise<void> {
    this.closed = true;
    for (const conn of this.idle) conn.destroy();
    this.idle.length = 0;
    this.unwatch();
    if (this.running === 0 && this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  /** Close every connection now; running requests fail. */
  destroy(): Promise<void> {
    this.closed = true;
    for (const conn of [...this.live]) conn.abortWith(upstreamError('UPSTREAM_POOL_CLOSED', 'upstream pool destroyed'));
    for (const failed of [...this.connecting]) failed(upstreamError('UPSTREAM_POOL_CLOSED', 'upstream pool destroyed'));
    this.idle.length = 0;
    this.unwatch();
    const d = this.drained;
    this.drained = null;
    d?.();
    return Promise.resolve();
  }
}

/** One request's life through the pool; it is the handler's controller. */
class Call implements UpstreamController {
  readonly pool: H1Pool;
  readonly handler: UpstreamHandler;
  readonly req: UpstreamRequest;
  /** The request line and header block (built once, also for a resend). */
  readonly head: string;
  conn: H1Connection | null;
  paused: boolean;
  aborted: boolean;
  /** onResponseEnd or onResponseError was called. */
  done: boolean;
  /** The whole request went out. */
  requestSent: boolean;
  /** Some of the response arrived. */
  answered: boolean;
  /** Already sent once more after a failure on a reused connection. */
  resent: boolean;
  /** Response bytes held back while paused; EMPTY when only completion is pending. */
  held: Buffer | null;

  constructor(pool: H1Pool, handler: UpstreamHandler, req: UpstreamRequest, head: string) {
    this.pool = pool;
    this.handler = handler;
    this.req = req;
    this.head = head;
    this.conn = null;
    this.paused = false;
    this.aborted = false;
    this.done = false;
    this.requestSent = false;
    this.answered = false;
    this.resent = false;
    this.held = null;
  }

  abort(reason: Error): void {
    if (this.done) return;
    this.aborted = true;
    const conn = this.conn;
    if (conn !== null) conn.abortWith(reason);
    else this.fail(reason);
  }

  pause(): void {
    if (this.done || this.paused) return;
    this.paused = true;
    this.conn?.socket.pause();
  }

  resume(): void {
    if (this.done || !this.paused) return;
    this.paused = false;
    this.conn?.resumeCall(this);
  }

  /** Report a failure (the connection, if any, was already detached). */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.handler.onResponseError(this, err);
  }

  /** fail(), on a later tick: the dispatcher never calls back from inside dispatch(). */
  failLater(err: Error): void {
    process.nextTick(() => this.fail(err));
  }
}

class H1Connection implements ResponseSink {
  readonly pool: H1Pool;
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

  constructor(pool: H1Pool, socket: Socket, sharedReadBuffer: boolean) {
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

/** A stream body's declared length, or -1 (sent chunked) when it is not a whole number of bytes. */
function streamLength(req: UpstreamRequest): number {
  return Number.isSafeInteger(req.bodyLength) && req.bodyLength >= 0 ? req.bodyLength : -1;
}

function replayable(req: UpstreamRequest): boolean {
  return IDEMPOTENT_METHODS.has(req.method) && (req.body === null || Buffer.isBuffer(req.body));
}

/**
 * The request line and header block, or the error that makes it unsendable
 * (exported for bench/micro). Framing is this client's alone
 * (docs/ARCHITECTURE.md, "Framing invariants"): every framing or connection
 * field the caller put in `headers` is dropped, and the head states the body
 * the client will actually write — Content-Length for a Buffer or a stream of
 * known length, chunked for a stream of unknown length, nothing for no body
 * (`Content-Length: 0` for methods that expect one, as nginx and undici).
 */
export function requestHead(req: UpstreamRequest): string | Error {
  const method = req.method;
  if (!isFieldName(method)) return upstreamError('UPSTREAM_INVALID_REQUEST', `invalid method ${JSON.stringify(method)}`);
  if (req.path === '' || BAD_TARGET.test(req.path)) return upstreamError('UPSTREAM_INVALID_REQUEST', 'invalid request target');
  let head = method + ' ' + req.path + ' HTTP/1.1\r\n';
  const headers = req.headers;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || FRAMING_FIELDS.has(name)) continue;
    if (!isFieldName(name)) return upstreamError('UPSTREAM_INVALID_REQUEST', `invalid header name ${JSON.stringify(name)}`);
    const lines = fieldLines(name, value);
    if (lines === null) return upstreamError('UPSTREAM_INVALID_REQUEST', `invalid value for header ${name}`);
    head += lines;
  }
  const body = req.body;
  if (body === null) {
    if (EXPECTS_BODY.has(method)) head += 'content-length: 0\r\n';
  } else if (Buffer.isBuffer(body)) {
    if (body.length > 0 || EXPECTS_BODY.has(method)) head += 'content-length: ' + body.length + '\r\n';
  } else if (streamLength(req) >= 0) {
    head += 'content-length: ' + req.bodyLength + '\r\n';
  } else {
    head += 'transfer-encoding: chunked\r\n';
  }
  if (req.upgrade !== null) {
    if (!isFieldValue(req.upgrade)) return upstreamError('UPSTREAM_INVALID_REQUEST', 'invalid upgrade protocol');
    head += 'connection: keep-alive, Upgrade\r\nupgrade: ' + req.upgrade + '\r\n';
  }
  return head + '\r\n';
}
