/**
 * One request through the gateway (kong/runloop/handler.lua order):
 *   target parsing + path normalisation (request-target.ts)
 *   → rewrite (global plugins) → router.match → protocol check (426 / https redirect)
 *   → upstream headers (headers.ts: X-Forwarded-*, X-Real-IP, Via) → access
 *   → the upstream exchange (exchange.ts: target.ts, the HTTP/1.1 client,
 *     response relay; a WebSocket handshake too: a 101 opens a tunnel, tunnel.ts)
 *   → log phase, access log and metrics when the response closes.
 *
 * Async work happens only where a plugin returns a promise; the synchronous
 * path creates the RequestContext and the Exchange and nothing else per
 * request beyond the header bag the upstream request needs.
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { ServerResponse, type IncomingMessage } from 'node:http';
import { isValidAuthority } from '../http1/syntax.ts';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { RequestContext, type ProxyRequest, type ProxyResponse } from '../context.ts';
import { ProxyError } from '../errors.ts';
import { nextRequestId } from '../request-id.ts';
import { runAccess, runLog, runRewrite } from '../pipeline/runner.ts';
import { normalizeIp } from '../../shared/ip.ts';
import type { RouteMatch } from '../router/types.ts';
import { Exchange } from './exchange.ts';
import type { ProxyEnv } from './env.ts';
import { parseTarget } from './request-target.ts';
import { first, upstreamHeaders, type Forwarding } from './headers.ts';
import { clearTimer } from './upstream-timer.ts';
import { RequestTrace } from '../tracing/trace.ts';
import { INSTRUMENT } from '../tracing/instrumentations.ts';
import { finishRequestTrace } from '../tracing/request-span.ts';

const kExchange = Symbol('portcullis.exchange');

type WithExchange = ProxyResponse & { [kExchange]?: Exchange };

/**
 * Connections on which the gateway refused a request for its framing or
 * target (400): the answer closes them, and a request pipelined behind the
 * refused one — already parsed by node:http — is never served or forwarded
 * (docs/ARCHITECTURE.md, "Framing invariants").
 */
const closing = new WeakSet<object>();

/** Start handling a request. `secure`: it arrived on a TLS listener. */
export function handleRequest(env: ProxyEnv, req: ProxyRequest, res: ProxyResponse, secure: boolean): void {
  start(begin(env, req, res, secure, false), null);
}

/** Refuse the request (`refusal`: why RFC 9112 does), or run it through the phases. */
function start(ex: Exchange, refusal: string | null): void {
  if (refusal !== null) {
    refuse(ex, refusal);
    return;
  }
  try {
    run(ex);
  } catch (err) {
    ex.answerError(err);
  }
}

/**
 * A request parsed by node:http (the general path: bodies, HTTP/1.0,
 * anything the fast lane hands over). llhttp frames it; what llhttp lets
 * through and RFC 9112 refuses is refused here before anything else runs.
 */
export function handleNodeRequest(env: ProxyEnv, req: IncomingMessage, res: ServerResponse, secure: boolean): void {
  if (closing.has(req.socket)) return; // behind a refused request: node closes the connection after its answer
  const ex = begin(env, req, res, secure, false);
  start(ex, framingRefusal(req));
}

/**
 * Why RFC 9112 refuses a request node:http accepted, or null:
 * - HTTP/1.0 with Transfer-Encoding (§6.1: faulty framing; nginx ≥ 1.21.1 answers 400);
 * - more than one Host field, or a Host that is not `host[:port]` — userinfo,
 *   whitespace, a path (§3.2: 400; node keeps the first Host and lets any value through).
 */
export function framingRefusal(req: IncomingMessage): string | null {
  if (req.httpVersionMinor === 0 && req.headers['transfer-encoding'] !== undefined) return 'HTTP/1.0 request with Transfer-Encoding';
  const host = req.headers.host;
  if (host === undefined) return null;
  if (!isValidAuthority(host)) return 'invalid Host';
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 'more than one Host';
  }
  return null;
}

/** Answer 400 and close the connection; nothing after this request on it is served. */
function refuse(ex: Exchange, detail: string): void {
  closing.add(ex.ctx.req.socket);
  ex.answerError(new ProxyError('BAD_REQUEST', detail), CLOSE);
}

const CLOSE = Object.freeze({ connection: 'close' });

/**
 * A WebSocket upgrade (the listener's 'upgrade' event). Gateway answers
 * (404, plugin exits, errors) go through a ServerResponse bound to the raw
 * socket, so they are the same bytes as on a plain request; the socket is
 * closed once such an answer is written.
 */
export function handleUpgrade(env: ProxyEnv, req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.on('finish', endSocketAfterAnswer);
  socket.on('error', ignoreSocketError);
  const ex = begin(env, req, res, secure, true);
  ex.tunnelSocket = socket;
  ex.tunnelHead = head;
  start(ex, framingRefusal(req));
}

function endSocketAfterAnswer(this: ServerResponse): void {
  this.socket?.end();
}

function ignoreSocketError(): void {
  // The tunnel or the 'close' handler cleans up; an unhandled 'error' must not crash the process.
}

/** Build the context and exchange; wire the close/drain listeners. */
export function begin(env: ProxyEnv, req: ProxyRequest, res: ProxyResponse, secure: boolean, upgrade: boolean): Exchange {
  const runtime = env.ref.current;
  const metrics = env.metrics;
  if (metrics !== null) {
    metrics.setConfigVersion(runtime.version);
    metrics.listeners.requests++;
    metrics.listeners.inflight++;
  }
  const socket = req.socket;
  const peer = normalizeIp(socket.remoteAddress);
  const peerTrusted = env.realIp.isTrusted(peer);
  const ctx = new RequestContext(req, res, nextRequestId(), performance.now(), runtime.consumers);
  const ex = new Exchange(env, ctx, runtime, socket.localPort ?? 0, peer, peerTrusted, upgrade);
  env.inflight++;
  (res as WithExchange)[kExchange] = ex;
  res.on('close', onResponseClose);
  ctx.scheme = secure ? 'https' : 'http';
  if (secure) {
    const name = (socket as TLSSocket).servername;
    ctx.sni = typeof name === 'string' && name !== '' ? name.toLowerCase() : null;
  }
  ctx.clientIp = env.realIp.resolve(req, peer, peerTrusted);
  if (runtime.tracing !== 0) ctx.trace = new RequestTrace(runtime.tracing, ctx.startedAt, runtime.tracingSamplingRate);
  return ex;
}

function onResponseClose(this: ProxyResponse): void {
  const ex = (this as WithExchange)[kExchange];
  if (ex === undefined) return;
  try {
    finish(ex);
  } catch (err) {
    // An event handler must not throw: it would take the process down.
    ex.env.log.error({ request_id: ex.ctx.id, err }, 'failure in the log phase');
  }
}

function run(ex: Exchange): void {
  const ctx = ex.ctx;
  if (!parseTarget(ex)) {
    refuse(ex, 'invalid request target');
    return;
  }
  const gp = ex.runtime.globalPlan;
  if (gp.hasRewrite) {
    const pending = runRewrite(ctx, gp);
    if (pending !== undefined) {
      pending.then(() => continueAfterRewrite(ex), (err: unknown) => pipelineFailed(ex, err));
      return;
    }
  }
  afterRewrite(ex);
}

function continueAfterRewrite(ex: Exchange): void {
  try {
    afterRewrite(ex);
  } catch (err) {
    pipelineFailed(ex, err);
  }
}

function continueAfterAccess(ex: Exchange): void {
  try {
    afterAccess(ex);
  } catch (err) {
    pipelineFailed(ex, err);
  }
}

function pipelineFailed(ex: Exchange, err: unknown): void {
  if (ex.clientGone) return;
  ex.answerError(err);
}

/** After rewrite: route → protocol check → upstream headers → access. */
function afterRewrite(ex: Exchange): void {
  const ctx = ex.ctx;
  if (ex.clientGone) return;
  if (ctx.exitStatus !== 0) {
    ex.answerExit();
    return;
  }
  const tr = ctx.trace;
  const routerSpan = tr !== null && tr.wants(INSTRUMENT.router) ? tr.startSpan('kong.router') : null;
  const match = route(ex);
  if (routerSpan !== null) routerSpan.finish();
  if (match === null) {
    ex.answerError(new ProxyError('ROUTE_NOT_FOUND'));
    return;
  }
  const f = forwarding(ex, match.strippedPrefix);
  if (!protocolAllowed(ex, f)) return;
  // What the upstream will receive; plugins in access may change any of it.
  ctx.upstreamHeaders = upstreamHeaders(ctx, ex.env, f, match.route.preserve_host);
  const plan = ex.plan;
  if (plan.hasAccess) {
    const pending = runAccess(ctx, plan);
    if (pending !== undefined) {
      pending.then(() => continueAfterAccess(ex), (err: unknown) => pipelineFailed(ex, err));
      return;
    }
  }
  afterAccess(ex);
}

/** Match the router; on a match, the route, its service, upstream path and plugin plan go on the context. */
function route(ex: Exchange): RouteMatch | null {
  const ctx = ex.ctx;
  const match = ex.runtime.router.match({
    method: ctx.method,
    host: ctx.host,
    port: ctx.port,
    path: ctx.path,
    headers: ctx.req.headers,
    sni: ctx.sni,
    scheme: ctx.scheme,
  });
  if (match === null) return null;
  ctx.route = match.route;
  ctx.service = match.service;
  ctx.upstreamPath = match.upstreamPath;
  ctx.uriCaptures = match.uriCaptures;
  ex.plan = ex.runtime.plans.get(match.route.id) ?? ex.runtime.globalPlan;
  return match;
}

/** X-Forwarded-* from the client count only when it is a trusted proxy (Kong access.before). */
function forwarding(ex: Exchange, strippedPrefix: string | null): Forwarding {
  const ctx = ex.ctx;
  const headers = ctx.req.headers;
  const trusted = ex.peerTrusted;
  return {
    proto: (trusted ? first(headers['x-forwarded-proto']) : undefined) ?? ctx.scheme,
    host: (trusted ? first(headers['x-forwarded-host']) : undefined) ?? ctx.host,
    peer: ex.peer,
    peerTrusted: trusted,
    listenerPort: ex.listenerPort,
    strippedPrefix,
  };
}

/**
 * A route that only accepts TLS answers plain requests with its
 * https_redirect_status_code (426 by default, else a redirect). False when answered.
 */
function protocolAllowed(ex: Exchange, f: Forwarding): boolean {
  const r = ex.ctx.route!;
  const protocols = r.protocols;
  const plainOk = protocols.includes('http') || (ex.upgrade && protocols.includes('ws'));
  if (plainOk || f.proto === 'https' || !(protocols.includes('https') || protocols.includes('wss'))) return true;
  const code = r.https_redirect_status_code;
  if (code === 426 || code === undefined) {
    ex.answerError(new ProxyError('HTTPS_REQUIRED'), { connection: 'Upgrade', upgrade: 'TLS/1.2, HTTP/1.1' });
  } else {
    ex.ctx.exitStatus = code;
    ex.ctx.exitHeaders = { location: `https://${f.host}${ex.requestUri}` };
    ex.answerExit();
  }
  return false;
}

function afterAccess(ex: Exchange): void {
  const ctx = ex.ctx;
  if (ex.clientGone) return;
  if (ctx.exitStatus !== 0) {
    ex.answerExit();
    return;
  }
  if (ctx.service === null) {
    ex.answerError(new ProxyError('NO_SERVICE'));
    return;
  }
  ex.forward();
}

/** Log phase: once per request, after the last byte (or when the client went away). */
export function finish(ex: Exchange): void {
  if (ex.done) return;
  ex.done = true;
  const env = ex.env;
  try {
    logPhase(ex);
  } finally {
    if (env.metrics !== null) env.metrics.listeners.inflight--;
    if (--env.inflight === 0 && env.onIdle !== null) env.onIdle();
  }
}

function logPhase(ex: Exchange): void {
  const ctx = ex.ctx;
  const env = ex.env;
  const res = ctx.res;
  const completed = res.writableFinished || ex.tunnelStatus !== 0;
  if (!completed) ex.clientClosed();
  else clearTimer(ex);
  // nginx logs 499 when the client closed before a response was sent.
  const status = ex.tunnelStatus !== 0 ? ex.tunnelStatus : res.headersSent ? res.statusCode : 499;
  const total = performance.now() - ctx.startedAt;
  const proxied = ex.upstreamStartedAt !== 0;
  const kongMs = proxied ? ctx.proxyLatency : total;
  const upstreamMs = ctx.upstreamStatus !== 0 ? ctx.upstreamLatency : -1;
  const body = ex.body;
  const bytesIn = body === null ? 0 : Buffer.isBuffer(body) ? body.length : ex.bodyBytesSent;
  ctx.finalStatus = status;
  ctx.finalSource = ex.source;
  ctx.totalLatency = total;
  ctx.kongLatency = kongMs;
  ctx.bytesIn = bytesIn;
  ctx.bytesOut = ex.bytesOut;

  if (ex.plan.hasLog) {
    ctx.served = {
      requestUri: ex.requestUri,
      listenerPort: ex.listenerPort,
      responseHeaders: res.headersSent ? ctx.sentHeaders : null,
      waitingMs: upstreamMs,
      tries: ex.tries,
      queryMark: ex.hasQueryMark,
    };
  }
  if (ctx.trace !== null) finishRequestTrace(ctx, ex.peer, status);
  runLog(ctx, ex.plan, env.log);
  if (env.accessLog !== null && env.accessLog.enabled()) {
    env.accessLog.write(
      ctx,
      status,
      { proxy: Math.round(kongMs), upstream: upstreamMs < 0 ? null : Math.round(upstreamMs), request: Math.round(total) },
      bytesIn,
      ex.bytesOut,
    );
  }
}
