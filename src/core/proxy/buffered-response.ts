/**
 * Kong's buffered proxying (issue 18) for an exchange (exchange.ts): when a
 * plugin on the route has a `response` phase (or asked to buffer), the
 * upstream body is read whole — nothing goes to the client meanwhile — then
 * the response phase runs, then header_filter and body_filter over the
 * result, and the answer goes out in one write framed by the gateway.
 *
 * Functions over the exchange's own fields (no object per request).
 */
import { Buffer } from 'node:buffer';
import type { HeaderBag, RequestContext } from '../context.ts';
import type { PluginPlan } from '../pipeline/types.ts';
import { ProxyError } from '../errors.ts';
import { mergeInto } from '../respond.ts';
import { runBodyFilter, runHeaderFilter, runResponse } from '../pipeline/runner.ts';
import type { HeaderValues, UpstreamController } from '../upstream/types.ts';
import type { ProxyEnv } from './env.ts';
import { addProxiedResponseHeaders } from './headers.ts';
import type { Timed } from './upstream-timer.ts';

const EMPTY = Buffer.alloc(0);

/**
 * Largest upstream body read whole for a plugin's buffered `response` phase;
 * a larger one is answered 502 (Kong: a truncated buffered response → 502).
 */
export const MAX_BUFFERED_RESPONSE_BYTES = 64 * 1024 * 1024;

/** What the buffered phase reads and records of its exchange (Exchange, exchange.ts). */
export interface BufferingExchange extends Timed {
  readonly env: ProxyEnv;
  readonly ctx: RequestContext;
  readonly plan: PluginPlan;
  readonly clientGone: boolean;
  buffering: boolean;
  bufferedChunks: Buffer[] | null;
  bufferedSize: number;
  bufferedHeaders: Record<string, string | string[]> | null;
  headersWritten: boolean;
  bytesOut: number;
  answerError(err: unknown, extra?: HeaderBag | null): void;
}

/** The response head arrived: read the body whole before anything goes to the client (bufferedEnd). */
export function startBuffering(x: BufferingExchange, headers: HeaderValues): void {
  x.buffering = true;
  x.bufferedChunks = [];
  x.bufferedSize = 0;
  x.bufferedHeaders = headers as Record<string, string | string[]>;
}

/** A body chunk while buffering: kept, up to MAX_BUFFERED_RESPONSE_BYTES (then the upstream is aborted: 502). */
export function bufferChunk(x: BufferingExchange, controller: UpstreamController, chunk: Buffer): void {
  x.bufferedSize += chunk.length;
  if (x.timer !== null) x.timer.refresh();
  if (x.bufferedSize > MAX_BUFFERED_RESPONSE_BYTES) {
    controller.abort(new ProxyError('UPSTREAM_INVALID_RESPONSE', `upstream body exceeds ${MAX_BUFFERED_RESPONSE_BYTES} bytes, the most a response phase buffers`));
    return;
  }
  x.bufferedChunks!.push(chunk);
}

/**
 * The whole upstream response is read: Kong's `response` phase (Kong.response
 * in kong/init.lua), then header_filter and body_filter over the result, then
 * one write framed by the gateway (Content-Length of the body actually sent).
 */
export function bufferedEnd(x: BufferingExchange): void {
  x.buffering = false;
  const ctx = x.ctx;
  const chunks = x.bufferedChunks!;
  x.bufferedChunks = null;
  ctx.serviceBody = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, x.bufferedSize);
  if (x.clientGone) return;
  let pending: void | Promise<void>;
  try {
    pending = runResponse(ctx, x.plan);
  } catch (err) {
    x.answerError(err);
    return;
  }
  if (pending !== undefined) {
    pending.then(
      () => relayBuffered(x),
      (err: unknown) => {
        if (!x.clientGone) x.answerError(err);
      },
    );
    return;
  }
  relayBuffered(x);
}

/** The response phase is done: the (possibly replaced) status, headers and body go to the client, framed by the gateway. */
function relayBuffered(x: BufferingExchange): void {
  const ctx = x.ctx;
  if (x.clientGone) return;
  const env = x.env;
  const plan = x.plan;
  const out = x.bufferedHeaders!;
  x.bufferedHeaders = null;
  let status = ctx.upstreamStatus;
  let body: Buffer = ctx.serviceBody!;
  if (ctx.responseStatus !== 0) status = ctx.responseStatus;
  if (ctx.responseBody !== null) body = ctx.responseBody;
  if (ctx.exitStatus !== 0) {
    // kong.response.exit in the response phase replaces status and body; the upstream's headers stay under the exit's.
    status = ctx.exitStatus;
    const b = ctx.exitBody;
    body = b === null ? EMPTY : typeof b === 'string' ? Buffer.from(b) : b;
    if (ctx.exitHeaders !== null) mergeInto(out, ctx.exitHeaders);
  }
  if (ctx.responseHeaders !== null) {
    mergeInto(out, ctx.responseHeaders);
    ctx.responseHeaders = null;
  }
  runHeaderFilter(ctx, plan, env.log);
  if (ctx.exitStatus !== 0) status = ctx.exitStatus;
  if (ctx.responseHeaders !== null) mergeInto(out, ctx.responseHeaders);
  if (plan.hasBodyFilter) body = runBodyFilter(ctx, plan, body, true, env.log);
  delete out['transfer-encoding'];
  const bodyless = ctx.method === 'HEAD' || status === 204 || status === 304;
  if (!bodyless) out['content-length'] = String(body.length);
  addProxiedResponseHeaders(ctx, env, out);
  try {
    ctx.res.writeHead(status, out);
  } catch (err) {
    x.answerError(new ProxyError('INTERNAL', `unrelayable response header after the response phase: ${(err as Error).message}`));
    return;
  }
  x.headersWritten = true;
  if (bodyless) {
    ctx.res.end();
    return;
  }
  x.bytesOut += body.length;
  ctx.res.end(body);
}
