/**
 * The upstream half of a request, in the order it happens: the body and
 * request prepared once (forward), one try per target (attempt,
 * upstream-try.ts: target.ts picks the peer and pool), then the upstream
 * client's callbacks — request sent, response head relayed (header_filter),
 * body streamed back (body_filter, backpressure), end — or a failure that is
 * retried or answered (upstreamFailed, upstream-try.ts). A plugin's
 * `response` phase reads the body whole first (buffered-response.ts). A 101
 * to a WebSocket handshake leaves for tunnel.ts.
 *
 * The Exchange is the one extra object a request allocates next to its
 * RequestContext: fixed shape, and itself the upstream client's handler
 * (../upstream/types.ts), so forwarding allocates no handler or closures.
 * The modules above work on its fields through functions, not objects.
 *
 * Timeouts are the service's (Kong): connect_timeout (the pool's connect
 * option), write_timeout (no request-body progress while the upstream is
 * not accepting it), read_timeout (from the request sent to the response
 * head, and between body chunks, as nginx proxy_read_timeout), one native
 * timer per request (upstream-timer.ts).
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HeaderBag, RequestContext, UpstreamTry } from '../context.ts';
import type { Runtime } from '../runtime-types.ts';
import type { PluginPlan } from '../pipeline/types.ts';
import type { ResponseSource } from '../metrics.ts';
import { ProxyError } from '../errors.ts';
import { respondError, respondExit, mergeInto } from '../respond.ts';
import { runBodyFilter, runHeaderFilter } from '../pipeline/runner.ts';
import type { HeaderValues, UpstreamController, UpstreamHandler, UpstreamRequest } from '../upstream/types.ts';
import type { ProxyEnv } from './env.ts';
import type { Balancer } from './balancer/balancer.ts';
import type { Address } from './balancer/address.ts';
import { hashKey, setHashCookie } from './balancer/hash-input.ts';
import { addProxiedResponseHeaders, stripResponseHopByHop } from './headers.ts';
import { upstreamRequest } from './upstream-request.ts';
import { attempt, releaseAddress, upstreamFailed } from './upstream-try.ts';
import { bufferChunk, bufferedEnd, startBuffering } from './buffered-response.ts';
import { openTunnel } from './tunnel.ts';
import { armTimer, clearTimer, onTimer, PHASE_READ, PHASE_WRITE } from './upstream-timer.ts';

const EMPTY = Buffer.alloc(0);

export class Exchange implements UpstreamHandler {
  readonly env: ProxyEnv;
  readonly ctx: RequestContext;
  readonly runtime: Runtime;
  /** Plan in effect: the route's once matched, else the global one. */
  plan: PluginPlan;
  /** Port of the listener the request arrived on (Kong's X-Forwarded-Port). */
  readonly listenerPort: number;
  /** The connecting peer (`$realip_remote_addr`), and whether it is a trusted proxy. */
  readonly peer: string;
  readonly peerTrusted: boolean;
  /** A WebSocket upgrade request (an upgrade dispatch; a 101 opens a tunnel, tunnel.ts). */
  readonly upgrade: boolean;
  /** The request target had a `?` (even with an empty query): kept upstream as Kong does. */
  hasQueryMark: boolean;
  /** Request path + query exactly as received (redirect Location, X-Forwarded-Path source). */
  requestUri: string;

  // ---- upstream attempt state
  /** The upstream entity's balancer (null: the service's own host). */
  balancer: Balancer | null;
  /** The address of the current (or last) try; its in-flight count is held while `addressHeld`. */
  address: Address | null;
  addressHeld: boolean;
  /** consistent-hashing: the request's ring point, and the Set-Cookie the gateway adds (hash_on cookie). */
  hashPoint: number;
  hashCookie: string | null;
  /** Tries left after the current one (service.retries). */
  retriesLeft: number;
  /** The gateway chose the Host header (not preserve_host / a plugin): recomputed per target. */
  gatewayHost: boolean;
  dispatchOptions: UpstreamRequest | null;
  /** The body being sent: a Buffer, the client's stream, or nothing. */
  body: Buffer | IncomingMessage | null;
  controller: UpstreamController | null;
  /** The client started writing this attempt on a connected socket. */
  started: boolean;
  bodyBytesSent: number;
  requestSent: boolean;
  upstreamStartedAt: number;
  /** The response status line and headers went to the client. */
  headersWritten: boolean;
  /** The client went away before the response completed. */
  clientGone: boolean;
  /** A one-shot 'drain' listener on the response is waiting to resume the paused upstream. */
  awaitingDrain: boolean;
  /** Buffered `response` phase: the upstream response is being read whole (plan.hasResponse). */
  buffering: boolean;
  bufferedChunks: Buffer[] | null;
  bufferedSize: number;
  bufferedHeaders: Record<string, string | string[]> | null;
  /** The one upstream timer (upstream-timer.ts). */
  timer: NodeJS.Timeout | null;
  timerPhase: number;
  timerMs: number;
  writeTimeoutMs: number;
  readTimeoutMs: number;

  // ---- accounting
  bytesIn: number;
  bytesOut: number;
  source: ResponseSource;
  /** Upstream tries, recorded only when a plugin logs (recordTry). */
  tries: UpstreamTry[] | null;
  /** Log phase done (exactly once). */
  done: boolean;

  // ---- WebSocket upgrade (tunnel.ts)
  /** The client's raw socket, and the bytes read past its request head: held until a 101. */
  tunnelSocket: Duplex | null;
  tunnelHead: Buffer | null;
  /** Status written raw to the tunnel socket (101); 0 = none. */
  tunnelStatus: number;

  constructor(env: ProxyEnv, ctx: RequestContext, runtime: Runtime, listenerPort: number, peer: string, peerTrusted: boolean, upgrade: boolean) {
    this.env = env;
    this.ctx = ctx;
    this.runtime = runtime;
    this.plan = runtime.globalPlan;
    this.listenerPort = listenerPort;
    this.peer = peer;
    this.peerTrusted = peerTrusted;
    this.upgrade = upgrade;
    this.hasQueryMark = false;
    this.requestUri = '/';
    this.balancer = null;
    this.address = null;
    this.addressHeld = false;
    this.hashPoint = 0;
    this.hashCookie = null;
    this.retriesLeft = 0;
    this.gatewayHost = false;
    this.dispatchOptions = null;
    this.body = null;
    this.controller = null;
    this.started = false;
    this.bodyBytesSent = 0;
    this.requestSent = false;
    this.upstreamStartedAt = 0;
    this.headersWritten = false;
    this.clientGone = false;
    this.awaitingDrain = false;
    this.buffering = false;
    this.bufferedChunks = null;
    this.bufferedSize = 0;
    this.bufferedHeaders = null;
    this.timer = null;
    this.timerPhase = 0;
    this.timerMs = 0;
    this.writeTimeoutMs = 0;
    this.readTimeoutMs = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.source = 'error';
    this.tries = null;
    this.done = false;
    this.tunnelSocket = null;
    this.tunnelHead = null;
    this.tunnelStatus = 0;
  }

  /** Answer with a catalogued error (respond.ts), accounting for it. */
  answerError(err: unknown, extra?: HeaderBag | null): void {
    this.source = 'error';
    this.bytesOut = respondError(this.ctx, err, this.env, this.plan, extra);
  }

  /** Answer with a plugin's (or the gateway's) exit (respond.ts), accounting for it. */
  answerExit(): void {
    this.source = 'exit';
    this.bytesOut = respondExit(this.ctx, this.env, this.plan);
  }

  // ------------------------------------------------------------ the request

  /** Send the request upstream (after the access phase). */
  forward(): void {
    const ctx = this.ctx;
    const service = ctx.service!;
    const request = upstreamRequest(ctx, this.env.maxRequestBodyBytes, this.upgrade, this.hasQueryMark);
    if (request instanceof ProxyError) {
      this.answerError(request);
      return;
    }
    this.dispatchOptions = request;
    this.body = request.body as Buffer | IncomingMessage | null;
    this.retriesLeft = service.retries;
    this.gatewayHost = ctx.upstreamHeaders['host'] === undefined;
    this.writeTimeoutMs = service.write_timeout;
    this.readTimeoutMs = service.read_timeout;
    const upstream = this.runtime.upstreams.get(service.host);
    if (upstream !== undefined) {
      const b = upstream.balancer;
      this.balancer = b;
      if (b.ring !== null) this.hashPoint = b.ring.pointOf(hashKey(b.hash!, ctx, this));
      if (b.ready !== null) {
        // Host-name targets not resolved yet (the first requests after a configuration change): wait for DNS.
        b.ready.then(() => this.afterResolve(), () => this.afterResolve());
        return;
      }
    }
    const now = performance.now();
    ctx.proxyLatency = now - ctx.startedAt;
    attempt(this, now);
  }

  private afterResolve(): void {
    if (this.clientGone) return;
    const now = performance.now();
    this.ctx.proxyLatency = now - this.ctx.startedAt;
    attempt(this, now);
  }

  // ------------------------------------------------------------ the upstream client's callbacks

  onRequestStart(controller: UpstreamController, _context: unknown): void {
    this.controller = controller;
    this.started = true;
    if (this.clientGone) {
      controller.abort(new Error('client closed the connection'));
      return;
    }
    if (this.body !== null && !Buffer.isBuffer(this.body)) armTimer(this, PHASE_WRITE, this.writeTimeoutMs, onTimer);
  }

  onBodySent(chunk: Buffer): void {
    this.bodyBytesSent += chunk.length;
    if (this.timerPhase === PHASE_WRITE) this.timer!.refresh();
    const limit = this.env.maxRequestBodyBytes;
    if (limit !== null && this.bodyBytesSent > limit && this.controller !== null && !Buffer.isBuffer(this.body)) {
      this.controller.abort(new ProxyError('REQUEST_BODY_TOO_LARGE', `streamed body exceeds ${limit} bytes`));
    }
  }

  onRequestSent(): void {
    this.requestSent = true;
    // The upstream may have answered early (before the whole body): then reading is already timed.
    if (this.timerPhase !== PHASE_READ) armTimer(this, PHASE_READ, this.readTimeoutMs, onTimer);
  }

  /** The response head: header_filter, then the head goes to the client. */
  onResponseStart(controller: UpstreamController, status: number, headers: HeaderValues, _statusMessage: string): void {
    if (status < 200) return; // 1xx interim responses (100 Continue, 103) are not relayed
    const ctx = this.ctx;
    const env = this.env;
    if (this.address !== null) this.balancer!.observeStatus(this.address, status);
    ctx.upstreamLatency = performance.now() - this.upstreamStartedAt;
    ctx.upstreamStatus = status;
    ctx.upstreamResponseHeaders = headers as IncomingHttpHeaders;
    armTimer(this, PHASE_READ, this.readTimeoutMs, onTimer); // now between body chunks
    if (this.clientGone) {
      controller.abort(new Error('client closed the connection'));
      return;
    }
    this.source = 'service';
    stripResponseHopByHop(headers, false);
    if (this.hashCookie !== null) setHashCookie(headers, this.hashCookie); // before header_filter, as Kong's runloop
    const plan = this.plan;
    if (plan.hasResponse || ctx.bufferResponse) {
      // Kong's buffered proxying: nothing goes to the client before the response phase ran (bufferedEnd).
      startBuffering(this, headers);
      return;
    }
    runHeaderFilter(ctx, plan, env.log);
    // A header_filter may change the status (Kong's kong.response.exit there: ngx.status); the upstream's body follows.
    if (ctx.exitStatus !== 0) status = ctx.exitStatus;
    const out = headers as Record<string, string | string[]>;
    if (ctx.responseHeaders !== null) mergeInto(out, ctx.responseHeaders);
    if (plan.hasBodyFilter && out['content-length'] !== undefined) delete out['content-length'];
    addProxiedResponseHeaders(ctx, env, out);
    try {
      ctx.res.writeHead(status, out);
      ctx.sentHeaders = out;
    } catch (err) {
      // The upstream sent a header node refuses to relay (invalid characters): treat as garbage.
      controller.abort(new ProxyError('UPSTREAM_UNRELAYABLE_RESPONSE', `unrelayable response header: ${(err as Error).message}`));
      return;
    }
    this.headersWritten = true;
  }

  /** Body bytes: body_filter, then to the client, pausing the upstream while the client is slow. */
  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    if (this.buffering) {
      bufferChunk(this, controller, chunk);
      return;
    }
    if (!this.headersWritten) return;
    const ctx = this.ctx;
    if (this.plan.hasBodyFilter) {
      chunk = runBodyFilter(ctx, this.plan, chunk, false, this.env.log);
      if (chunk.length === 0) return;
    }
    this.bytesOut += chunk.length;
    if (this.timer !== null) this.timer.refresh();
    if (!ctx.res.write(chunk)) {
      // Backpressure: the 'drain' listener is added only then (most responses never need one).
      controller.pause();
      if (!this.awaitingDrain) {
        this.awaitingDrain = true;
        ctx.res.once('drain', () => {
          this.awaitingDrain = false;
          this.resumeUpstream();
        });
      }
    }
  }

  onResponseEnd(_controller: UpstreamController, _trailers: HeaderValues): void {
    clearTimer(this);
    this.controller = null;
    if (this.addressHeld) {
      releaseAddress(this);
      const latency = this.balancer!.latency;
      if (latency !== null) latency.observe(this.address!, performance.now() - this.upstreamStartedAt);
    }
    if (this.buffering) {
      bufferedEnd(this);
      return;
    }
    if (!this.headersWritten) return;
    const ctx = this.ctx;
    if (this.plan.hasBodyFilter) {
      const last = runBodyFilter(ctx, this.plan, EMPTY, true, this.env.log);
      if (last.length > 0) {
        this.bytesOut += last.length;
        ctx.res.end(last);
        return;
      }
    }
    ctx.res.end();
  }
  /** A 101 to the handshake: the tunnel takes both sockets. */
  onUpgrade(_controller: UpstreamController, _statusCode: number, headers: HeaderValues, socket: Socket, head: Buffer): void {
    clearTimer(this);
    this.controller = null;
    releaseAddress(this);
    try {
      openTunnel(this, socket, headers, head);
    } catch (bug) {
      this.env.log.error({ request_id: this.ctx.id, err: bug }, 'failure while opening a tunnel');
      socket.destroy();
      this.tunnelSocket?.destroy();
    }
  }

  onResponseError(_controller: UpstreamController, err: Error): void {
    // Must not throw: it would surface inside the pool's socket event handlers.
    try {
      upstreamFailed(this, err);
    } catch (bug) {
      this.env.log.error({ request_id: this.ctx.id, err: bug }, 'failure while handling an upstream error');
      this.ctx.res.destroy();
    }
  }

  private resumeUpstream(): void {
    const c = this.controller;
    if (c !== null && c.paused) {
      if (this.timer !== null) this.timer.refresh();
      c.resume();
    }
  }

  /** The client went away: stop the upstream exchange (the log phase runs as for any request). */
  clientClosed(): void {
    this.clientGone = true;
    clearTimer(this);
    releaseAddress(this);
    const c = this.controller;
    if (c !== null) {
      this.controller = null;
      c.abort(new Error('client closed the connection'));
    }
  }
}
