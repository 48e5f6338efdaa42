/**
 * The upstream half of a request: target choice, the upstream request
 * (the pool's dispatch with the Exchange as handler, ../upstream/h1-pool.ts), and the response
 * streamed back without buffering (unless a body_filter plugin transforms it).
 *
 * Timeouts are the service's (Kong): connect_timeout (pool connect option),
 * write_timeout (no request-body progress while the upstream is not accepting
 * it), read_timeout (from the request sent to the response headers, and
 * between response body chunks, as nginx proxy_read_timeout). Read and write
 * timeouts use one native timer per request.
 *
 * Retries (service.retries, nginx proxy_next_upstream error): a try that
 * failed to connect is repeated on the next target; a try whose request went
 * out is repeated only for idempotent methods with a replayable body. The
 * client's streamed body is never replayed once a byte of it was read.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { HeaderValues, UpstreamController } from '../upstream/types.ts';
import { UPSTREAM_CODES } from '../upstream/types.ts';
import type { H1Pool } from '../upstream/h1-pool.ts';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { HeaderBag, RequestContext } from '../context.ts';
import type { Runtime } from '../runtime-types.ts';
import type { ServiceEntity } from '../../schema/entities/types.ts';
import { ProxyError } from '../errors.ts';
import { HEADER_PROXY_LATENCY, HEADER_REQUEST_ID, HEADER_UPSTREAM_LATENCY, mergeInto } from '../respond.ts';
import { runBodyFilter, runHeaderFilter } from '../pipeline/runner.ts';
import type { Exchange, ProxyEnv } from './exchange.ts';
import { balancerFor } from './balancer.ts';
import { hostHeaderFor, stripResponseHopByHop } from './headers.ts';
import { poolEntryFor, poolFor, poolKey, usePool, type PoolEntry, type PoolSpec } from './pools.ts';
import { classifyUpstreamError, isClientBodyError } from './upstream-errors.ts';
import { IDEMPOTENT_METHODS } from '../http1/syntax.ts';


const NOT_TARGET_SAFE = /[^\x21-\x7e]/;
const EMPTY = Buffer.alloc(0);

/** Percent-encode what may not appear raw in a request target (Kong escapes upstream_uri too). */
function escapeTarget(target: string): string {
  let out = '';
  for (const ch of target) {
    const code = ch.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

export function isTls(protocol: string): boolean {
  return protocol === 'https' || protocol === 'wss' || protocol === 'grpcs' || protocol === 'tls';
}

/** TLS SNI from the Host header (nginx proxy_ssl_name $upstream_host); none for IP literals. */
export function sniFrom(host: string): string | null {
  let name = host;
  if (name.startsWith('[')) return null;
  const colon = name.lastIndexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  return name === '' || isIP(name) !== 0 ? null : name;
}

/**
 * What the upstream request carries as body, and its length for the
 * client's framing (-1: unknown, sent chunked). The length of a streamed body
 * is the client's Content-Length as node:http validated it; nothing a plugin
 * set in the upstream headers frames the request (h1-pool.ts requestHead).
 */
function prepareBody(ex: Exchange): ProxyError | null {
  const ctx = ex.ctx;
  ex.bodyLength = -1;
  const buffered = ctx.upstreamBody ?? ctx.requestBody;
  if (buffered !== null) {
    ex.body = buffered;
    return null;
  }
  const req = ctx.req;
  const cl = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (chunked || (cl !== undefined && cl !== '0')) {
    // A handshake has no body: bytes after it are the new protocol's (RFC 6455 §4.1).
    if (ex.upgrade) return new ProxyError('BAD_REQUEST', 'upgrade request with a body');
    const limit = ex.env.maxRequestBodyBytes;
    if (limit !== null && cl !== undefined && Number(cl) > limit) return new ProxyError('PAYLOAD_TOO_LARGE', `declared body of ${cl} bytes exceeds ${limit}`);
    // Only node:http's IncomingMessage carries a body (the fast lane serves bodyless requests).
    ex.body = req instanceof Readable ? (req as IncomingMessage) : null;
    if (!chunked && cl !== undefined) ex.bodyLength = Number(cl);
  } else {
    ex.body = null;
  }
  return null;
}

/** Send the request upstream (after the access phase). */
export function forward(ex: Exchange): void {
  const ctx = ex.ctx;
  const service = ctx.service!;
  const bodyError = prepareBody(ex);
  if (bodyError !== null) {
    ex.answerError(bodyError);
    return;
  }
  const upstream = ex.runtime.upstreams.get(service.host);
  if (upstream !== undefined) ex.balancer = balancerFor(upstream);
  ex.retriesLeft = service.retries;
  ex.gatewayHost = ctx.upstreamHeaders['host'] === undefined;

  let target = ctx.upstreamPath;
  const query = ctx.upstreamQuery;
  if (query !== '') target += '?' + query;
  else if (ex.hasQueryMark && ctx.query === '') target += '?'; // Kong keeps a bare trailing `?`
  if (NOT_TARGET_SAFE.test(target)) target = escapeTarget(target);

  ex.dispatchOptions = {
    path: target,
    method: ctx.upstreamMethod,
    headers: ctx.upstreamHeaders as HeaderValues,
    body: ex.body,
    bodyLength: ex.bodyLength,
    upgrade: ex.upgrade ? 'websocket' : null,
  };
  ex.writeTimeoutMs = service.write_timeout;
  ex.readTimeoutMs = service.read_timeout;
  const now = performance.now();
  ctx.proxyLatency = now - ctx.startedAt;
  attempt(ex, now);
}

/**
 * The trust store for a service with tls_verify: its ca_certificates, or
 * null for the system store (Kong 3: lua_ssl_trusted_certificate = system).
 */
export function trustedCas(runtime: Runtime, service: ServiceEntity): string[] | null {
  if (service.tls_verify !== true || service.ca_certificates === null || service.ca_certificates.length === 0) return null;
  const ca: string[] = [];
  for (const id of service.ca_certificates) {
    const pem = runtime.caCertificates.get(id);
    if (pem !== undefined) ca.push(pem);
  }
  return ca;
}

export interface UpstreamPeer {
  host: string;
  port: number;
  /** Name for the Host header (upstream host_header, the target's host, or the service host). */
  hostName: string;
}

/** The next peer for this request (balanced upstream target, or the service host), or null when the upstream has none. */
export function pickPeer(ex: Exchange): UpstreamPeer | null {
  const service = ex.ctx.service!;
  if (ex.balancer !== null) {
    const peer = ex.balancer.next();
    if (peer === null) return null;
    const hostName = ex.runtime.upstreams.get(service.host)?.upstream.host_header ?? peer.hostHeader;
    return { host: peer.host, port: peer.port, hostName };
  }
  return servicePeer(service);
}

/** The service's own host and port (no upstream entity). */
function servicePeer(service: ServiceEntity): UpstreamPeer {
  let host = service.host;
  let hostName = host;
  if (host.startsWith('[')) host = host.slice(1, -1);
  else if (host.indexOf(':') !== -1) hostName = `[${host}]`;
  return { host, port: service.port, hostName };
}

/**
 * A plain-HTTP service without an upstream entity always goes to the same
 * pool with the same gateway Host header: both are kept per service entity
 * (a new configuration version brings new entity objects), so the common
 * request skips the peer, pool spec and pool key it would otherwise build.
 */
interface PlainTarget {
  readonly host: string;
  readonly port: number;
  readonly connectTimeout: number;
  readonly entry: PoolEntry;
  /** The Host header the gateway sets (hostHeaderFor). */
  readonly hostHeader: string;
}

const plainTargets = new WeakMap<ServiceEntity, PlainTarget>();

function plainTarget(service: ServiceEntity): PlainTarget {
  const cached = plainTargets.get(service);
  if (cached !== undefined && !cached.entry.closed && cached.host === service.host && cached.port === service.port && cached.connectTimeout === service.connect_timeout) {
    return cached;
  }
  const peer = servicePeer(service);
  const spec: PoolSpec = {
    protocol: 'http:',
    host: peer.host,
    port: peer.port,
    servername: null,
    connectTimeout: service.connect_timeout,
    tlsVerify: false,
    ca: null,
    caKey: '',
  };
  const t: PlainTarget = {
    host: service.host,
    port: service.port,
    connectTimeout: service.connect_timeout,
    entry: poolEntryFor(spec),
    hostHeader: hostHeaderFor(peer.hostName, peer.port, false),
  };
  plainTargets.set(service, t);
  return t;
}

/** `now`: performance.now() when the caller has just read it. */
function attempt(ex: Exchange, now: number = performance.now()): void {
  const ctx = ex.ctx;
  const service = ctx.service!;
  const tls = isTls(service.protocol);
  if (!tls && ex.balancer === null) {
    const t = plainTarget(service);
    if (ex.gatewayHost) ctx.upstreamHeaders['host'] = t.hostHeader;
    dispatch(ex, usePool(t.entry)!, now);
    return;
  }
  const peer = pickPeer(ex);
  if (peer === null) {
    fail(ex, new ProxyError('UPSTREAM_UNAVAILABLE', `upstream '${service.host}' has no healthy targets`));
    return;
  }
  const host = peer.host;
  const port = peer.port;
  const hostName = peer.hostName;
  const headers = ctx.upstreamHeaders;
  if (ex.gatewayHost) headers['host'] = hostHeaderFor(hostName, port, tls);

  const ca = tls ? trustedCas(ex.runtime, service) : null;
  const hostHeader = headers['host'];
  const spec: PoolSpec = {
    protocol: tls ? 'https:' : 'http:',
    host,
    port,
    servername: tls ? sniFrom(typeof hostHeader === 'string' ? hostHeader : hostName) : null,
    connectTimeout: service.connect_timeout,
    tlsVerify: tls && service.tls_verify === true,
    ca,
    caKey: ca === null ? '' : service.ca_certificates!.join(','),
  };
  dispatch(ex, poolFor(spec, poolKey(spec)), now);
}

function dispatch(ex: Exchange, pool: H1Pool, now: number): void {
  ex.controller = null;
  ex.started = false;
  ex.bodyBytesSent = 0;
  ex.requestSent = false;
  ex.upstreamStartedAt = now;
  pool.dispatch(ex.dispatchOptions!, ex);
}

// ---------------------------------------------------------------- handler callbacks

const PHASE_NONE = 0;
const PHASE_WRITE = 1;
const PHASE_READ = 2;

function armTimer(ex: Exchange, phase: number, ms: number): void {
  ex.timerPhase = phase;
  if (ex.timer !== null && ex.timerMs === ms) {
    ex.timer.refresh();
    return;
  }
  if (ex.timer !== null) clearTimeout(ex.timer);
  ex.timerMs = ms;
  ex.timer = setTimeout(onTimer, ms, ex);
}

export function clearUpstreamTimer(ex: Exchange): void {
  if (ex.timer !== null) {
    clearTimeout(ex.timer);
    ex.timer = null;
  }
  ex.timerPhase = PHASE_NONE;
}

function timeoutError(message: string, code: string): Error {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

/**
 * A timer fired: nothing moved for a whole timeout. Whose fault is it?
 * - Sending the body: if the client's bytes are waiting (stream paused, data
 *   buffered), the upstream is not accepting them → write_timeout, 504.
 *   Otherwise the client stopped sending → nginx client_body_timeout, 408.
 * - Reading the response: if the gateway holds the upstream back because the
 *   client does not read (backpressure), the client is cut (nginx
 *   send_timeout); else the upstream is silent → read_timeout, 504.
 */
function onTimer(ex: Exchange): void {
  const c = ex.controller;
  if (c === null || ex.timer === null) return;
  const phase = ex.timerPhase;
  clearUpstreamTimer(ex);
  if (phase === PHASE_WRITE) {
    const req = ex.ctx.req;
    if (req.readableLength > 0 || req.isPaused()) {
      c.abort(timeoutError(`no request body progress for ${ex.writeTimeoutMs} ms`, 'PORTCULLIS_WRITE_TIMEOUT'));
    } else {
      c.abort(new ProxyError('REQUEST_TIMEOUT', `client sent no body bytes for ${ex.writeTimeoutMs} ms`));
    }
  } else if (c.paused) {
    ex.env.log.info({ request_id: ex.ctx.id }, `client read nothing for ${ex.readTimeoutMs} ms; closing`);
    ex.ctx.res.destroy();
  } else {
    c.abort(timeoutError(`nothing read from the upstream for ${ex.readTimeoutMs} ms`, 'PORTCULLIS_READ_TIMEOUT'));
  }
}

export function onUpstreamStart(ex: Exchange, controller: UpstreamController): void {
  ex.controller = controller;
  ex.started = true;
  if (ex.clientGone) {
    controller.abort(new Error('client closed the connection'));
    return;
  }
  if (ex.body !== null && !Buffer.isBuffer(ex.body)) armTimer(ex, PHASE_WRITE, ex.writeTimeoutMs);
}

export function onUpstreamBodySent(ex: Exchange, chunk: Buffer): void {
  ex.bodyBytesSent += chunk.length;
  if (ex.timerPhase === PHASE_WRITE) ex.timer!.refresh();
  const limit = ex.env.maxRequestBodyBytes;
  if (limit !== null && ex.bodyBytesSent > limit && ex.controller !== null && !Buffer.isBuffer(ex.body)) {
    ex.controller.abort(new ProxyError('PAYLOAD_TOO_LARGE', `streamed body exceeds ${limit} bytes`));
  }
}

export function onUpstreamRequestSent(ex: Exchange): void {
  ex.requestSent = true;
  // The upstream may have answered early (before the whole body): then reading is already timed.
  if (ex.timerPhase !== PHASE_READ) armTimer(ex, PHASE_READ, ex.readTimeoutMs);
}

export function onUpstreamHeaders(ex: Exchange, controller: UpstreamController, status: number, headers: HeaderValues): void {
  if (status < 200) return; // 1xx interim responses (100 Continue, 103) are not relayed
  const ctx = ex.ctx;
  const env = ex.env;
  const now = performance.now();
  ctx.upstreamLatency = now - ex.upstreamStartedAt;
  ctx.upstreamStatus = status;
  ctx.upstreamResponseHeaders = headers as IncomingHttpHeaders;
  armTimer(ex, PHASE_READ, ex.readTimeoutMs); // now between body chunks
  if (ex.clientGone) {
    controller.abort(new Error('client closed the connection'));
    return;
  }
  ex.source = 'service';
  stripResponseHopByHop(headers, false);
  const plan = ex.plan;
  runHeaderFilter(ctx, plan, env.log);
  const out = headers as Record<string, string | string[]>;
  if (ctx.responseHeaders !== null) mergeInto(out, ctx.responseHeaders as HeaderBag);
  if (plan.hasBodyFilter && out['content-length'] !== undefined) delete out['content-length'];
  addProxiedResponseHeaders(ctx, env, out);
  const res = ctx.res;
  try {
    res.writeHead(status, out);
  } catch (err) {
    // The upstream sent a header node refuses to relay (invalid characters): treat as garbage.
    controller.abort(new ProxyError('UPSTREAM_INVALID_RESPONSE', `unrelayable response header: ${(err as Error).message}`));
    return;
  }
  ex.headersWritten = true;
}

export function onUpstreamData(ex: Exchange, controller: UpstreamController, chunk: Buffer): void {
  if (!ex.headersWritten) return;
  const ctx = ex.ctx;
  if (ex.plan.hasBodyFilter) {
    chunk = runBodyFilter(ctx, ex.plan, chunk, false, ex.env.log);
    if (chunk.length === 0) return;
  }
  ex.bytesOut += chunk.length;
  if (ex.timer !== null) ex.timer.refresh();
  if (!ctx.res.write(chunk)) {
    // Backpressure: stop reading the upstream until the client drains. The
    // 'drain' listener is added only then (most responses never need one).
    controller.pause();
    if (!ex.awaitingDrain) {
      ex.awaitingDrain = true;
      ctx.res.once('drain', () => {
        ex.awaitingDrain = false;
        resumeUpstream(ex);
      });
    }
  }
}

export function onUpstreamEnd(ex: Exchange): void {
  clearUpstreamTimer(ex);
  ex.controller = null;
  if (!ex.headersWritten) return;
  const ctx = ex.ctx;
  if (ex.plan.hasBodyFilter) {
    const last = runBodyFilter(ctx, ex.plan, EMPTY, true, ex.env.log);
    if (last.length > 0) {
      ex.bytesOut += last.length;
      ctx.res.end(last);
      return;
    }
  }
  ctx.res.end();
}

/** Resume reading the upstream once the client's socket drained. */
export function resumeUpstream(ex: Exchange): void {
  const c = ex.controller;
  if (c !== null && c.paused) {
    if (ex.timer !== null) ex.timer.refresh();
    c.resume();
  }
}

function canRetry(ex: Exchange): boolean {
  const body = ex.body;
  if (!ex.started) {
    // Nothing reached the upstream: any method may go again, if the client's stream is untouched.
    return body === null || Buffer.isBuffer(body) || !(body as IncomingMessage).readableDidRead;
  }
  return IDEMPOTENT_METHODS.has(ex.ctx.upstreamMethod) && (body === null || Buffer.isBuffer(body));
}

export function onUpstreamError(ex: Exchange, err: Error): void {
  clearUpstreamTimer(ex);
  ex.controller = null;
  const ctx = ex.ctx;
  if (ex.clientGone) return; // logged as 499 when the response closes
  const env = ex.env;
  if (err instanceof ProxyError) {
    // Our own abort reasons (body limit, unrelayable header).
    if (err.code === 'UPSTREAM_INVALID_RESPONSE') env.metrics?.upstreamError(ctx.service, err.code);
    fail(ex, err);
    return;
  }
  const code = (err as { code?: unknown }).code;
  if (code === UPSTREAM_CODES.INVALID_REQUEST) {
    // A header or path the upstream request cannot carry (set by a plugin): our fault, not the upstream's.
    fail(ex, new ProxyError('INTERNAL', `invalid upstream request: ${err.message}`));
    return;
  }
  if (!ex.headersWritten && isClientBodyError(err)) {
    fail(ex, new ProxyError('BAD_REQUEST', `client request body: ${err.message}`));
    return;
  }
  const f = classifyUpstreamError(err);
  if (!ex.headersWritten && f.retryable && ex.retriesLeft > 0 && canRetry(ex)) {
    ex.retriesLeft--;
    if (env.log.isLevelEnabled('debug')) env.log.debug({ request_id: ctx.id, detail: f.error.detail }, 'retrying upstream request');
    attempt(ex);
    return;
  }
  env.metrics?.upstreamError(ctx.service, f.error.code);
  fail(ex, f.error);
}

/** Give up on the upstream: an error response, or a cut connection once the response started. */
function fail(ex: Exchange, error: ProxyError): void {
  const ctx = ex.ctx;
  if (ex.headersWritten) {
    ctx.errorCode = error.code;
    ex.env.log.error({ request_id: ctx.id, code: error.code, detail: error.detail }, 'upstream failed after the response started');
    ctx.res.destroy();
    return;
  }
  ex.answerError(error);
}

/**
 * The gateway's own headers on a response that came from the upstream
 * (kong/runloop/handler.lua header_filter.after, proxied branch): latency
 * tokens, Via/Server, and the request id. Shared by HTTP and WebSocket upgrades.
 */
export function addProxiedResponseHeaders(ctx: RequestContext, env: ProxyEnv, out: Record<string, string | string[]>): void {
  if (env.latencyTokens) {
    out[HEADER_UPSTREAM_LATENCY] = String(Math.round(ctx.upstreamLatency));
    out[HEADER_PROXY_LATENCY] = String(Math.round(ctx.proxyLatency));
  }
  if (env.serverTokens) {
    const via = out['via'];
    out['via'] = via === undefined ? env.viaToken : `${Array.isArray(via) ? via.join(', ') : via}, ${env.viaToken}`;
    if (out['server'] === undefined) out['server'] = env.serverHeader;
  }
  out[HEADER_REQUEST_ID] = ctx.id;
}
