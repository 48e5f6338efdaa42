/** kong.response: answer the client early, or add headers to the client's response. */
import { Buffer } from 'node:buffer';
import type { HeaderBag, RequestContext } from '../core/context.ts';
import { renderError, responseTypeFor } from '../core/error-templates.ts';

/**
 * Answer now without contacting the upstream (Kong's kong.response.exit).
 * An object body is sent as JSON. The runner stops after the current plugin.
 */
export function exit(ctx: RequestContext, status: number, body?: unknown, headers?: HeaderBag | null): void {
  ctx.exitStatus = status;
  if (body === undefined || body === null) ctx.exitBody = null;
  else if (typeof body === 'string' || Buffer.isBuffer(body)) ctx.exitBody = body;
  else {
    ctx.exitBody = JSON.stringify(body);
    if (!headers || headers['content-type'] === undefined) headers = { ...headers, 'content-type': 'application/json; charset=utf-8' };
  }
  ctx.exitHeaders = headers ?? null;
}

/** Set a header on the client's response (replaces the upstream's value). */
export function setHeader(ctx: RequestContext, name: string, value: string | string[]): void {
  if (ctx.responseHeaders === null) ctx.responseHeaders = {};
  ctx.responseHeaders[name] = value;
}

export function addHeader(ctx: RequestContext, name: string, value: string): void {
  if (ctx.responseHeaders === null) ctx.responseHeaders = {};
  const cur = ctx.responseHeaders[name];
  if (cur === undefined) ctx.responseHeaders[name] = value;
  else if (Array.isArray(cur)) cur.push(value);
  else ctx.responseHeaders[name] = [cur, value];
}

/** Remove a header from the client's response. */
export function clearHeader(ctx: RequestContext, name: string): void {
  if (ctx.responseHeaders === null) ctx.responseHeaders = {};
  ctx.responseHeaders[name] = undefined;
}

/** Status of the response being sent (upstream's, or the exit status). */
export function getStatus(ctx: RequestContext): number {
  return ctx.exitStatus !== 0 ? ctx.exitStatus : ctx.responseStatus !== 0 ? ctx.responseStatus : ctx.upstreamStatus;
}

/** Kong's default messages for kong.response.error (kong/pdk/response.lua HTTP_MESSAGES). */
const ERROR_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  429: 'Too many requests',
  500: 'An unexpected error occurred',
  502: 'An invalid response was received from the upstream server',
  503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timed out',
};

/**
 * Answer now with Kong's error template (Kong's kong.response.error): the body
 * type is negotiated from the request's Accept header (JSON when absent) and
 * carries `message` and the request id, exactly like the gateway's own errors.
 */
export function error(ctx: RequestContext, status: number, message?: string | null, headers?: HeaderBag | null): void {
  const accept = ctx.req.headers.accept;
  const type = responseTypeFor(Array.isArray(accept) ? accept[0] : accept);
  ctx.exitStatus = status;
  ctx.exitBody = renderError(type, message ?? ERROR_MESSAGES[status] ?? `The upstream server responded with ${status}`, ctx.id);
  const out: HeaderBag = headers ? { ...headers } : {};
  out['content-type'] = type;
  ctx.exitHeaders = out;
}

/**
 * Where the response comes from (Kong's kong.response.get_source): 'exit' when
 * a plugin or the gateway answered, 'service' once the upstream answered, else 'error'.
 */
export function getSource(ctx: RequestContext): 'exit' | 'service' | 'error' {
  if (ctx.upstreamStatus !== 0) return 'service';
  if (ctx.exitStatus !== 0 && ctx.errorCode === null) return 'exit';
  return 'error';
}

/** Change the status sent to the client (the buffered `response` phase; Kong's kong.response.set_status). */
export function setStatus(ctx: RequestContext, status: number): void {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`code must be a number between 100 and 999 (got ${status})`);
  ctx.responseStatus = status;
}

/**
 * Replace the body sent to the client (the buffered `response` phase). The
 * gateway frames it: Content-Length is the length of this body.
 */
export function setBody(ctx: RequestContext, body: Buffer | string): void {
  ctx.responseBody = typeof body === 'string' ? Buffer.from(body) : body;
}
