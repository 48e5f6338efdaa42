/**
 * hide_credentials: take the key out of what the upstream receives — the
 * header, the query argument (every other byte of the query kept as sent),
 * and, with key_in_body, the form or JSON body argument
 * (Kong: kong.service.request.clear_header / set_query / set_body).
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** Drop `a=b` pairs named `name` from a urlencoded string. */
function withoutArg(encoded: string, name: string): string {
  return encoded
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=');
      return decodeName(eq === -1 ? part : part.slice(0, eq)) !== name;
    })
    .join('&');
}

export function hideFromQuery(ctx: RequestContext, name: string): void {
  if (ctx.upstreamQuery === '') return;
  pdk.serviceRequest.setRawQuery(ctx, withoutArg(ctx.upstreamQuery, name));
}

export function hideFromBody(ctx: RequestContext, name: string): void {
  const body = ctx.upstreamBody ?? ctx.requestBody;
  if (body === null) return;
  const type = (pdk.request.getHeader(ctx, 'content-type') ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) {
    pdk.serviceRequest.setBody(ctx, withoutArg(body.toString('utf8'), name));
  } else if (type.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
      delete (parsed as Record<string, unknown>)[name];
      pdk.serviceRequest.setBody(ctx, JSON.stringify(parsed));
    } catch {
      // not JSON after all: no key was read from it either
    }
  }
}
