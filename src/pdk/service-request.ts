/** kong.service.request: shape what the upstream receives. Header names must be lower-case. */
import { Buffer } from 'node:buffer';
import process from 'node:process';
import type { RequestContext } from '../core/context.ts';
import { FRAMING_FIELDS } from '../core/http1/syntax.ts';

const warned = new Set<string>();

/**
 * Framing and connection fields are the upstream client's (docs/ARCHITECTURE.md,
 * "Framing invariants"): a plugin's value would never be sent, so it is not
 * stored, and the first attempt per name is reported once per process.
 */
function isFraming(name: string): boolean {
  if (!FRAMING_FIELDS.has(name)) return false;
  if (!warned.has(name)) {
    warned.add(name);
    process.emitWarning(`a plugin set the upstream request header '${name}': framing and connection headers are the gateway's and it was ignored`, { code: 'PORTCULLIS_FRAMING_HEADER' });
  }
  return true;
}

export function setHeader(ctx: RequestContext, name: string, value: string): void {
  if (isFraming(name)) return;
  ctx.upstreamHeaders[name] = value;
}

export function addHeader(ctx: RequestContext, name: string, value: string): void {
  if (isFraming(name)) return;
  const cur = ctx.upstreamHeaders[name];
  if (cur === undefined) ctx.upstreamHeaders[name] = value;
  else if (Array.isArray(cur)) cur.push(value);
  else ctx.upstreamHeaders[name] = [cur, value];
}

export function clearHeader(ctx: RequestContext, name: string): void {
  ctx.upstreamHeaders[name] = undefined;
}

export function getHeader(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.upstreamHeaders[name];
  return Array.isArray(v) ? v[0] : v;
}

export function setPath(ctx: RequestContext, path: string): void {
  ctx.upstreamPath = path;
}

/** Replace the raw query string (without '?'). */
export function setRawQuery(ctx: RequestContext, query: string): void {
  ctx.upstreamQuery = query;
}

export function setMethod(ctx: RequestContext, method: string): void {
  ctx.upstreamMethod = method;
}

/** Replace the body sent upstream; content-length is fixed up by the proxy. */
export function setBody(ctx: RequestContext, body: Buffer | string): void {
  ctx.upstreamBody = typeof body === 'string' ? Buffer.from(body) : body;
}
