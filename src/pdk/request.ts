/** kong.request: read the client's request (as received, not as modified for upstream). */
import { Buffer } from 'node:buffer';
import type { RequestContext } from '../core/context.ts';

/** First value of a request header (name must be lower-case). */
export function getHeader(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** All values of a request header, in order (rawHeaders keep duplicates that node joins or drops). */
export function getHeaderValues(ctx: RequestContext, name: string): string[] {
  const raw = ctx.req.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  }
  return out;
}

export function getQuery(ctx: RequestContext): URLSearchParams {
  if (ctx.queryArgs === null) ctx.queryArgs = new URLSearchParams(ctx.query);
  return ctx.queryArgs;
}

export function getQueryArg(ctx: RequestContext, name: string): string | null {
  return getQuery(ctx).get(name);
}

/** Cookie value by name from the Cookie header(s), or null. */
export function getCookie(ctx: RequestContext, name: string): string | null {
  const header = ctx.req.headers.cookie;
  if (!header) return null;
  return parseCookie(header, name);
}

export function parseCookie(header: string, name: string): string | null {
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const key = header.slice(start, eq).trim();
      if (key === name) return header.slice(eq + 1, end).trim();
    }
    start = end + 1;
  }
  return null;
}

const MAX_BODY_DEFAULT = 8 * 1024 * 1024;

/**
 * Read (buffer) the client's body. Marks it as buffered so the proxy sends
 * `ctx.requestBody` (or a plugin's replacement) upstream instead of streaming.
 * Rejects bodies over `limit` bytes.
 */
export async function getRawBody(ctx: RequestContext, limit = MAX_BODY_DEFAULT): Promise<Buffer> {
  if (ctx.requestBody !== null) return ctx.requestBody;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RangeError('request body too large');
    chunks.push(chunk as Buffer);
  }
  ctx.requestBody = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return ctx.requestBody;
}

/** Parsed form or JSON body args (Kong's kong.request.get_body), or null when the type is neither. */
export async function getBodyArgs(ctx: RequestContext): Promise<Record<string, unknown> | null> {
  const type = (getHeader(ctx, 'content-type') ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const body = await getRawBody(ctx);
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) out[k] = v;
    return out;
  }
  if (type.startsWith('application/json')) {
    const body = await getRawBody(ctx);
    if (body.length === 0) return {};
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  return null;
}
