/**
 * One upstream try of an exchange (exchange.ts) and what a failed one leads
 * to: the next target's peer and pool (balancer, target.ts), the dispatch to
 * the upstream client with the exchange as its handler, and on failure the
 * classification (upstream-errors.ts), passive health accounting, and either
 * another try or the answer (an error response, or a cut connection once the
 * response started).
 *
 * Retries (service.retries, nginx proxy_next_upstream error timeout): a try
 * that failed to connect is repeated on the next target; a try whose request
 * went out is repeated only for idempotent methods with a replayable body.
 * The client's streamed body is never replayed once a byte of it was read.
 * (The pool adds one transparent resend of its own, for a reused keep-alive
 * connection the upstream closed as we wrote to it: ../upstream/h1-connection.ts.)
 *
 * Functions over the exchange's own fields (no object per try).
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage } from 'node:http';
import type { HeaderBag, RequestContext, UpstreamTry } from '../context.ts';
import type { ServiceEntity } from '../../schema/entities/types.ts';
import type { Runtime } from '../runtime-types.ts';
import type { PluginPlan } from '../pipeline/types.ts';
import { ProxyError } from '../errors.ts';
import { IDEMPOTENT_METHODS } from '../http1/syntax.ts';
import type { UpstreamController, UpstreamHandler, UpstreamRequest } from '../upstream/types.ts';
import type { ProxyEnv } from './env.ts';
import type { Balancer } from './balancer/balancer.ts';
import type { Address } from './balancer/address.ts';
import { nextPool } from './target.ts';
import { clearTimer, type Timed } from './upstream-timer.ts';
import { classifyUpstreamError } from './upstream-errors.ts';
import { INSTRUMENT } from '../tracing/instrumentations.ts';

/** What a try reads and records of its exchange (Exchange, exchange.ts). */
export interface TryingExchange extends UpstreamHandler, Timed {
  readonly env: ProxyEnv;
  readonly ctx: RequestContext;
  readonly runtime: Runtime;
  readonly plan: PluginPlan;
  readonly balancer: Balancer | null;
  address: Address | null;
  addressHeld: boolean;
  readonly hashPoint: number;
  retriesLeft: number;
  readonly gatewayHost: boolean;
  readonly dispatchOptions: UpstreamRequest | null;
  readonly body: Buffer | IncomingMessage | null;
  controller: UpstreamController | null;
  started: boolean;
  bodyBytesSent: number;
  requestSent: boolean;
  upstreamStartedAt: number;
  readonly headersWritten: boolean;
  readonly clientGone: boolean;
  tries: UpstreamTry[] | null;
  answerError(err: unknown, extra?: HeaderBag | null): void;
}

/** One try: the next target's pool, then the dispatch. `now`: performance.now() when just read. */
export function attempt(x: TryingExchange, now: number = performance.now()): void {
  const ctx = x.ctx;
  const service = ctx.service!;
  let address: Address | null = null;
  const b = x.balancer;
  if (b !== null) {
    // A retry avoids the address the previous try failed on while another is available (Kong's
    // least-connections and latency keep a failed set; round-robin moves on by itself).
    releaseAddress(x);
    address = b.pick(x.hashPoint, x.address);
    if (address === null) {
      giveUp(x, new ProxyError('UPSTREAM_UNAVAILABLE', `upstream '${service.host}' has no healthy targets`));
      return;
    }
    address.connections++;
    x.address = address;
    x.addressHeld = true;
  }
  const pool = nextPool(x.runtime, service, address, ctx.upstreamHeaders, x.gatewayHost);
  if (pool === null) {
    releaseAddress(x);
    giveUp(x, new ProxyError('UPSTREAM_UNAVAILABLE', `upstream '${service.host}' has no healthy targets`));
    return;
  }
  x.controller = null;
  x.started = false;
  x.bodyBytesSent = 0;
  x.requestSent = false;
  x.upstreamStartedAt = now;
  const tr = ctx.trace;
  if (tr !== null && tr.wants(INSTRUMENT.balancer)) {
    tr.startTry(now, address !== null ? address.ip : service.host, address !== null ? address.port : service.port, service.host);
  }
  if (x.plan.hasLog) recordTry(x, service, address, now);
  pool.dispatch(x.dispatchOptions!, x);
}

/** Kong's balancer_data.tries, kept only when a plugin logs (the log serializer's `tries`). */
function recordTry(x: TryingExchange, service: ServiceEntity, address: Address | null, now: number): void {
  const t: UpstreamTry = {
    balancer_start: Math.round(performance.timeOrigin + now),
    balancer_latency: 0,
    ip: address !== null ? address.ip : service.host,
    port: address !== null ? address.port : service.port,
  };
  if (x.tries === null) x.tries = [t];
  else x.tries.push(t);
}

/**
 * The upstream client reported a failure (onResponseError): classified, counted
 * against the target (passive health checks), then tried again or answered.
 */
export function upstreamFailed(x: TryingExchange, err: Error): void {
  clearTimer(x);
  x.controller = null;
  releaseAddress(x);
  const ctx = x.ctx;
  if (x.clientGone) return; // logged as 499 when the response closes
  const env = x.env;
  if (err instanceof ProxyError) {
    // Our own abort reasons (body limit, unrelayable header).
    if (err.code === 'UPSTREAM_INVALID_RESPONSE') env.metrics?.upstreamError(ctx.service, err.code);
    if (ctx.trace !== null) ctx.trace.failTry(err.status);
    giveUp(x, err);
    return;
  }
  const f = classifyUpstreamError(err, !x.headersWritten);
  if (ctx.trace !== null) ctx.trace.failTry(f.error.status);
  // A header or path the upstream request cannot carry (set by a plugin: our fault, not the
  // upstream's), or the client's body broke off: not the upstream's failure.
  if (f.cause === 'UPSTREAM_INVALID_REQUEST' || f.error.code === 'BAD_REQUEST') {
    giveUp(x, f.error);
    return;
  }
  const lastTry = x.tries === null ? undefined : x.tries[x.tries.length - 1];
  if (lastTry !== undefined) {
    lastTry.state = 'failed';
    lastTry.code = f.error.code;
  }
  if (x.address !== null) x.balancer!.observeFailure(x.address, f.timeout); // passive health checks
  if (!x.headersWritten && f.retryable && x.retriesLeft > 0 && canRetry(x)) {
    x.retriesLeft--;
    if (env.log.isLevelEnabled('debug')) env.log.debug({ request_id: ctx.id, detail: f.error.detail }, 'retrying upstream request');
    attempt(x);
    return;
  }
  env.metrics?.upstreamError(ctx.service, f.error.code);
  giveUp(x, f.error);
}

/** This try may be repeated: nothing reached the upstream, or an idempotent request with a replayable body. */
function canRetry(x: TryingExchange): boolean {
  const body = x.body;
  if (!x.started) {
    // Nothing reached the upstream: any method may go again, if the client's stream is untouched.
    return body === null || Buffer.isBuffer(body) || !(body as IncomingMessage).readableDidRead;
  }
  return IDEMPOTENT_METHODS.has(x.ctx.upstreamMethod) && (body === null || Buffer.isBuffer(body));
}

/** The current try no longer occupies its address (least-connections' in-flight count). */
export function releaseAddress(x: TryingExchange): void {
  if (x.addressHeld) {
    x.addressHeld = false;
    x.address!.connections--;
  }
}

/** Give up on the upstream: an error response, or a cut connection once the response started. */
function giveUp(x: TryingExchange, error: ProxyError): void {
  const ctx = x.ctx;
  if (x.headersWritten) {
    ctx.errorCode = error.code;
    x.env.log.error({ request_id: ctx.id, code: error.code, detail: error.detail }, 'upstream failed after the response started');
    ctx.res.destroy();
    return;
  }
  x.answerError(error);
}

