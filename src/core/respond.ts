/**
 * THE one place the gateway's own answers become HTTP responses
 * (ARCHITECTURE principle 3): catalogued errors (src/core/errors.ts) and
 * plugin exits (Kong's kong.response.exit). Upstream responses are streamed by
 * src/core/proxy/exchange.ts and never pass through here.
 *
 * Every gateway response gets what Kong adds to responses it generates:
 * `X-Kong-Request-Id`, `Server: <token>` (server_tokens) and
 * `X-Kong-Response-Latency` (latency_tokens); the plan's header_filter and
 * body_filter phases run over it, as Kong runs them after an exit.
 * A body never carries a stack trace or an error's private detail: those are
 * logged, redacted, with the request id.
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { HeaderBag, RequestContext } from './context.ts';
import { ANSWERS, ProxyError, type AnswerCode } from './errors.ts';
import type { PluginPlan } from './pipeline/types.ts';
import { PluginFailure, runBodyFilter, runHeaderFilter } from './pipeline/runner.ts';
import { errorPageTypeFor, renderError, responseTypeFor, TYPE_JSON } from './error-templates.ts';

/** Listener-wide settings respond needs (built once per proxy, not per request). */
export interface RespondEnv {
  /** kong.conf headers: server_tokens (Server / Via). */
  readonly serverTokens: boolean;
  /** kong.conf headers: latency_tokens (X-Kong-*-Latency). */
  readonly latencyTokens: boolean;
  /** Product token, e.g. `portcullis/0.1.0` (Kong: `kong/3.9.0`). */
  readonly serverHeader: string;
  readonly log: Logger;
}

export const HEADER_REQUEST_ID = 'x-kong-request-id';
export const HEADER_RESPONSE_LATENCY = 'x-kong-response-latency';
export const HEADER_PROXY_LATENCY = 'x-kong-proxy-latency';
export const HEADER_UPSTREAM_LATENCY = 'x-kong-upstream-latency';

/** Anything thrown on the proxy path, as a catalogued error. */
export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  if (err instanceof PluginFailure) return new ProxyError('PLUGIN_FAILED', err.message);
  return new ProxyError('INTERNAL', err instanceof Error ? err.message : String(err));
}

/** Body and content type of a catalogued error for this request (pure; exported for tests). */
export function errorPayload(code: AnswerCode, message: string, requestId: string, accept: string | undefined, contentType: string | undefined): { type: string; body: string } {
  const answer = ANSWERS[code];
  if (answer.exit) return { type: TYPE_JSON, body: JSON.stringify({ message }) };
  const type = answer.page ? errorPageTypeFor(accept, contentType) : responseTypeFor(accept);
  return { type, body: renderError(type, message, requestId) };
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Answer with a catalogued error. `extra` adds headers (426's Upgrade, …).
 * When the response has already started, the connection is cut instead: a
 * half-sent body must not look complete. Returns the body bytes sent.
 */
export function respondError(ctx: RequestContext, err: unknown, env: RespondEnv, plan: PluginPlan | null, extra?: HeaderBag | null): number {
  const pe = toProxyError(err);
  ctx.errorCode = pe.code;
  logError(ctx, pe, err, env.log);
  const res = ctx.res;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  const headers = ctx.req.headers;
  const { type, body } = errorPayload(pe.code, pe.publicMessage, ctx.id, firstHeader(headers.accept), firstHeader(headers['content-type']));
  ctx.exitStatus = pe.status;
  const out: Record<string, string | string[]> = { 'content-type': type };
  // The rest of an unread, broken or oversized body is not worth draining: close (nginx lingering close).
  if (ANSWERS[pe.code].closes && !ctx.req.complete) out['connection'] = 'close';
  if (extra) mergeInto(out, extra);
  return send(ctx, pe.status, out, body, env, plan);
}

function logError(ctx: RequestContext, pe: ProxyError, original: unknown, log: Logger): void {
  if (pe.status < 500) {
    if (log.isLevelEnabled('debug')) log.debug({ request_id: ctx.id, code: pe.code, cause: pe.reason ?? undefined, detail: pe.detail }, 'request rejected');
    return;
  }
  if (original instanceof PluginFailure) {
    log.error({ request_id: ctx.id, code: pe.code, cause: pe.reason, plugin: original.plugin, phase: original.phase, err: original.cause }, 'plugin failed');
  } else if (original instanceof ProxyError) {
    log.error({ request_id: ctx.id, code: pe.code, cause: pe.reason ?? undefined, detail: pe.detail }, 'proxy error');
  } else {
    log.error({ request_id: ctx.id, code: pe.code, err: original }, 'unexpected error on the proxy path');
  }
}

/** Answer with what a plugin set through pdk.response.exit (ctx.exitStatus/exitBody/exitHeaders). */
export function respondExit(ctx: RequestContext, env: RespondEnv, plan: PluginPlan | null): number {
  const res = ctx.res;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  const out: Record<string, string | string[]> = {};
  if (ctx.exitHeaders !== null) mergeInto(out, ctx.exitHeaders);
  return send(ctx, ctx.exitStatus, out, ctx.exitBody, env, plan);
}

/**
 * Copy a header bag (lower-case names; undefined = remove) onto outgoing
 * headers. Content-Length and Transfer-Encoding are never taken from a bag:
 * the response writer frames the body it actually sends (docs/ARCHITECTURE.md,
 * "Framing invariants"), so a plugin cannot make the client read past it.
 */
export function mergeInto(out: Record<string, string | string[]>, bag: HeaderBag): void {
  for (const name in bag) {
    const v = bag[name];
    const key = name.toLowerCase();
    if (key === 'content-length' || key === 'transfer-encoding') continue;
    if (v === undefined) delete out[key];
    else out[key] = v;
  }
}

/** Write the response; returns the body bytes sent. */
function send(ctx: RequestContext, status: number, answer: Record<string, string | string[]>, body: string | Buffer | null, env: RespondEnv, plan: PluginPlan | null): number {
  // Header precedence as in Kong (each step writes ngx.header in turn): headers a
  // plugin set before the answer, then the answer's own, then header_filter's.
  let out = answer;
  const early = ctx.responseHeaders;
  if (early !== null) {
    out = {};
    mergeInto(out, early);
    mergeInto(out, answer);
    ctx.responseHeaders = null;
  }
  if (plan !== null) runHeaderFilter(ctx, plan, env.log);
  if (ctx.responseHeaders !== null) mergeInto(out, ctx.responseHeaders);
  if (early !== null) ctx.responseHeaders = early;
  let payload: Buffer | string = body ?? '';
  if (plan !== null && plan.hasBodyFilter) {
    payload = runBodyFilter(ctx, plan, typeof payload === 'string' ? Buffer.from(payload) : payload, true, env.log);
  }
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  out['content-length'] = String(length);
  addGatewayHeaders(ctx, out, env);
  const res = ctx.res;
  try {
    res.writeHead(status, out);
    ctx.sentHeaders = out;
  } catch (err) {
    // A plugin produced an invalid header name/value: answer a clean 500 instead.
    env.log.error({ request_id: ctx.id, err }, 'invalid response header');
    ctx.errorCode = 'INTERNAL';
    ctx.exitStatus = 500;
    const fallback = renderError(TYPE_JSON, ANSWERS.INTERNAL.message, ctx.id);
    const safe: Record<string, string> = { 'content-type': TYPE_JSON, 'content-length': String(Buffer.byteLength(fallback)) };
    addGatewayHeaders(ctx, safe, env);
    res.writeHead(500, safe);
    ctx.sentHeaders = safe;
    res.end(fallback);
    return Buffer.byteLength(fallback);
  }
  res.end(payload);
  return length;
}

/** What Kong adds to every response it generates (kong/runloop/handler.lua header_filter.after, non-proxied branch). */
function addGatewayHeaders(ctx: RequestContext, out: Record<string, string | string[]>, env: RespondEnv): void {
  if (env.latencyTokens) out[HEADER_RESPONSE_LATENCY] = String(Math.round(performance.now() - ctx.startedAt));
  if (env.serverTokens) out['server'] = env.serverHeader;
  else delete out['server'];
  out[HEADER_REQUEST_ID] = ctx.id;
}
