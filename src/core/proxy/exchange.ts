/**
 * Per-listener-set environment (ProxyEnv) and per-request proxy state
 * (Exchange). The Exchange is the one extra object a request allocates next
 * to its RequestContext: fixed shape, and it is itself the upstream client's
 * handler, so forwarding allocates no handler or closures.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HeaderValues, UpstreamController, UpstreamHandler, UpstreamRequest } from '../upstream/types.ts';
import type { Logger } from 'pino';
import type { RequestContext } from '../context.ts';
import type { Runtime } from '../runtime-types.ts';
import type { PluginPlan } from '../pipeline/types.ts';
import { respondError, respondExit, type RespondEnv } from '../respond.ts';
import type { HeaderBag } from '../context.ts';
import type { ProxyMetrics, ResponseSource } from '../metrics.ts';
import type { AccessLog } from '../access-log.ts';
import type { RealIpResolver } from './client-ip.ts';
import type { RoundRobin } from './balancer.ts';
import { openTunnel } from './tunnel.ts';
import { onUpstreamBodySent, onUpstreamEnd, onUpstreamError, onUpstreamData, onUpstreamRequestSent, onUpstreamStart, onUpstreamHeaders } from './forward.ts';

export class ProxyEnv implements RespondEnv {
  readonly ref: { current: Runtime };
  readonly log: Logger;
  readonly serverTokens: boolean;
  readonly latencyTokens: boolean;
  readonly serverHeader: string;
  /** `1.1 <token>`: what the gateway appends to Via (RFC 9110 §7.6.3). */
  readonly viaToken: string;
  readonly realIp: RealIpResolver;
  readonly metrics: ProxyMetrics | null;
  readonly accessLog: AccessLog | null;
  readonly maxRequestBodyBytes: number | null;
  /** Requests (and upgraded connections) not finished yet. */
  inflight: number;
  /** Called when inflight drops to 0 while closing. */
  onIdle: (() => void) | null;
  /** Live WebSocket tunnels, destroyed when the listener closes. */
  readonly tunnels: Set<Socket | Duplex>;

  constructor(init: {
    ref: { current: Runtime };
    log: Logger;
    serverTokens: boolean;
    latencyTokens: boolean;
    serverHeader: string;
    realIp: RealIpResolver;
    metrics: ProxyMetrics | null;
    accessLog: AccessLog | null;
    maxRequestBodyBytes: number | null;
  }) {
    this.ref = init.ref;
    this.log = init.log;
    this.serverTokens = init.serverTokens;
    this.latencyTokens = init.latencyTokens;
    this.serverHeader = init.serverHeader;
    this.viaToken = `1.1 ${init.serverHeader}`;
    this.realIp = init.realIp;
    this.metrics = init.metrics;
    this.accessLog = init.accessLog;
    this.maxRequestBodyBytes = init.maxRequestBodyBytes;
    this.inflight = 0;
    this.onIdle = null;
    this.tunnels = new Set();
  }
}

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
  balancer: RoundRobin | null;
  /** Tries left after the current one (service.retries). */
  retriesLeft: number;
  /** The gateway chose the Host header (not preserve_host / a plugin): recomputed per target. */
  gatewayHost: boolean;
  dispatchOptions: UpstreamRequest | null;
  /** The body being sent: a Buffer, the client's stream, or nothing. */
  body: Buffer | IncomingMessage | null;
  /** A streamed body's length (the client's Content-Length), -1 when unknown or not streamed. */
  bodyLength: number;
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
  /** The one upstream timer: write_timeout while sending a streamed body, then read_timeout. */
  timer: NodeJS.Timeout | null;
  timerPhase: number;
  timerMs: number;
  writeTimeoutMs: number;
  readTimeoutMs: number;

  // ---- accounting
  bytesIn: number;
  bytesOut: number;
  source: ResponseSource;
  /** Log phase done (exactly once). */
  done: boolean;

  // ---- WebSocket upgrade (tunnel.ts)
  /** The client's raw socket, and the bytes read past its request head: held until a 101. */
  tunnelSocket: Duplex | null;
  tunnelHead: Buffer | null;
  /** Status written raw to the tunnel socket (101, or the upstream's refusal); 0 = none. */
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
    this.retriesLeft = 0;
    this.gatewayHost = false;
    this.dispatchOptions = null;
    this.body = null;
    this.bodyLength = -1;
    this.controller = null;
    this.started = false;
    this.bodyBytesSent = 0;
    this.requestSent = false;
    this.upstreamStartedAt = 0;
    this.headersWritten = false;
    this.clientGone = false;
    this.awaitingDrain = false;
    this.timer = null;
    this.timerPhase = 0;
    this.timerMs = 0;
    this.writeTimeoutMs = 0;
    this.readTimeoutMs = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.source = 'error';
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

  // ---- UpstreamHandler: delegated to forward.ts
  onRequestStart(controller: UpstreamController, _context: unknown): void {
    onUpstreamStart(this, controller);
  }
  onBodySent(chunk: Buffer): void {
    onUpstreamBodySent(this, chunk);
  }
  onRequestSent(): void {
    onUpstreamRequestSent(this);
  }
  onResponseStart(controller: UpstreamController, statusCode: number, headers: HeaderValues, _statusMessage: string): void {
    onUpstreamHeaders(this, controller, statusCode, headers);
  }
  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    onUpstreamData(this, controller, chunk);
  }
  onResponseEnd(_controller: UpstreamController, _trailers: HeaderValues): void {
    onUpstreamEnd(this);
  }
  onUpgrade(_controller: UpstreamController, _statusCode: number, headers: HeaderValues, socket: Socket, head: Buffer): void {
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
      onUpstreamError(this, err);
    } catch (bug) {
      this.env.log.error({ request_id: this.ctx.id, err: bug }, 'failure while handling an upstream error');
      this.ctx.res.destroy();
    }
  }
}
