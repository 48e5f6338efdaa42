import type { RequestContext } from '../context.ts';
import { ProxyError, upstreamError } from '../errors.ts';
import type { UpstreamController } from '../upstream/types.ts';
import type { ProxyEnv } from './env.ts';

/**
 * The one native timer of a request's upstream exchange (a timer per phase,
 * or one per read, showed in profiles): write_timeout while a streamed body
 * is being sent, then read_timeout from the request sent to the response
 * head and between body chunks (nginx proxy_send_timeout / proxy_read_timeout).
 * Re-arming with the same duration refreshes the timer in place.
 */
export const PHASE_NONE = 0;
export const PHASE_WRITE = 1;
export const PHASE_READ = 2;

/** The fields a timed exchange keeps (no object of its own per request). */
export interface Timed {
  timer: NodeJS.Timeout | null;
  timerPhase: number;
  timerMs: number;
}

export function armTimer<T extends Timed>(t: T, phase: number, ms: number, onFire: (t: T) => void): void {
  t.timerPhase = phase;
  if (t.timer !== null && t.timerMs === ms) {
    t.timer.refresh();
    return;
  }
  if (t.timer !== null) clearTimeout(t.timer);
  t.timerMs = ms;
  t.timer = setTimeout(onFire, ms, t);
}

export function clearTimer(t: Timed): void {
  if (t.timer !== null) {
    clearTimeout(t.timer);
    t.timer = null;
  }
  t.timerPhase = PHASE_NONE;
}

/** What onTimer reads of an exchange (exchange.ts). */
export interface TimedExchange extends Timed {
  readonly ctx: RequestContext;
  readonly env: ProxyEnv;
  readonly controller: UpstreamController | null;
  readonly writeTimeoutMs: number;
  readonly readTimeoutMs: number;
}

/**
 * The timer fired: nothing moved for a whole timeout. Whose fault is it?
 * - Sending the body: if the client's bytes are waiting (stream paused, data
 *   buffered), the upstream is not accepting them → write_timeout, 504.
 *   Otherwise the client stopped sending → nginx client_body_timeout, 408.
 * - Reading the response: if the gateway holds the upstream back because the
 *   client does not read (backpressure), the client is cut (nginx
 *   send_timeout); else the upstream is silent → read_timeout, 504.
 */
export function onTimer(ex: TimedExchange): void {
  const c = ex.controller;
  if (c === null || ex.timer === null) return;
  const phase = ex.timerPhase;
  clearTimer(ex);
  if (phase === PHASE_WRITE) {
    const req = ex.ctx.req;
    if (req.readableLength > 0 || req.isPaused()) {
      c.abort(upstreamError('UPSTREAM_WRITE_TIMEOUT', `no request body progress for ${ex.writeTimeoutMs} ms`));
    } else {
      c.abort(new ProxyError('REQUEST_BODY_TIMEOUT', `client sent no body bytes for ${ex.writeTimeoutMs} ms`));
    }
  } else if (c.paused) {
    ex.env.log.info({ request_id: ex.ctx.id }, `client read nothing for ${ex.readTimeoutMs} ms; closing`);
    ex.ctx.res.destroy();
  } else {
    c.abort(upstreamError('UPSTREAM_READ_TIMEOUT', `nothing read from the upstream for ${ex.readTimeoutMs} ms`));
  }
}

