/** kong.service.response: the upstream's response as it arrived (header_filter, response and log phases). */
import type { RequestContext } from '../core/context.ts';

/** The upstream's status, or null before it answered. */
export function getStatus(ctx: RequestContext): number | null {
  return ctx.upstreamStatus !== 0 ? ctx.upstreamStatus : null;
}

/** First value of an upstream response header (name lower-case). */
export function getHeader(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.upstreamResponseHeaders?.[name];
  return Array.isArray(v) ? v[0] : v;
}

export function getHeaders(ctx: RequestContext): Readonly<Record<string, string | string[] | undefined>> {
  return ctx.upstreamResponseHeaders ?? {};
}

/**
 * The whole upstream body: only in the buffered `response` phase (null
 * elsewhere — a streamed body is never held whole).
 */
export function getRawBody(ctx: RequestContext): Buffer | null {
  return ctx.serviceBody;
}
