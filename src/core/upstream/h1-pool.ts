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
 *
 * The pieces: the request head (h1-request-head.ts), one request's state and
 * controller (h1-call.ts), the per-connection state machine (h1-connection.ts),
 * the response parser (h1-response.ts); this file keeps the pool's bookkeeping
 * (idle list, connecting, draining, the idle sweep).
 */
import { Buffer } from 'node:buffer';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { upstreamError } from '../errors.ts';
import { clock, idleSweep, SWEEP_MS, type Sweepable } from '../../shared/clock.ts';
import type { UpstreamHandler, UpstreamRequest } from './types.ts';
import { requestHead } from './h1-request-head.ts';
import { Call } from './h1-call.ts';
import { H1Connection, type ConnectionPool } from './h1-connection.ts';

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

/**
 * Plain-TCP connections read into this one buffer (net's `onread`) instead of
 * a new ArrayBuffer per read, whose allocation and release showed as ~9% of a
 * proxied request's CPU. Safe because a read is parsed synchronously; bytes
 * that outlive the callback (body chunks handed on, held-back bytes) are copied.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class H1Pool implements Sweepable, ConnectionPool {
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
    const call = new Call(handler, req, typeof head === 'string' ? head : '');
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
