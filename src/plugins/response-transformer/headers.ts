/**
 * Response headers (kong/plugins/response-transformer/header_transformer.lua):
 * remove → rename → replace → add → append. `rename` and `replace` touch
 * only headers present, `add` only those absent; `append` always adds a value.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import type { CompiledResponseTransformer } from './compile.ts';

/** The value the client would get so far: set by a plugin, else the answer's (exit or upstream). */
export function sentHeader(ctx: RequestContext, lname: string): string | string[] | undefined {
  const own = ctx.responseHeaders;
  if (own !== null && Object.hasOwn(own, lname)) return own[lname];
  if (ctx.exitStatus !== 0) {
    const exit = ctx.exitHeaders;
    if (exit === null) return undefined;
    for (const k in exit) if (k.toLowerCase() === lname) return exit[k];
    return undefined;
  }
  return ctx.upstreamResponseHeaders?.[lname];
}

export function transformHeaders(ctx: RequestContext, conf: CompiledResponseTransformer): void {
  const h = conf.headers;
  for (const p of h.remove) pdk.response.clearHeader(ctx, p.lname);
  for (const p of h.rename) {
    const v = sentHeader(ctx, p.lname);
    if (v === undefined || p.value === null) continue;
    const to = p.value.toLowerCase();
    if (to === p.lname) continue; // a case change only: header names are case-insensitive
    pdk.response.setHeader(ctx, to, Array.isArray(v) ? [...v] : v);
    pdk.response.clearHeader(ctx, p.lname);
  }
  for (const p of h.replace) {
    if (p.value !== null && sentHeader(ctx, p.lname) !== undefined) pdk.response.setHeader(ctx, p.lname, p.value);
  }
  for (const p of h.add) {
    if (p.value !== null && sentHeader(ctx, p.lname) === undefined) pdk.response.setHeader(ctx, p.lname, p.value);
  }
  for (const p of h.append) {
    if (p.value === null) continue;
    const cur = sentHeader(ctx, p.lname);
    // kong.response.add_header keeps the values already there.
    pdk.response.setHeader(ctx, p.lname, cur === undefined ? p.value : Array.isArray(cur) ? [...cur, p.value] : [cur, p.value]);
  }
}

/**
 * Kong's is_json_body: some comma-separated part of Content-Type is
 * application/json or application/<x>+json (kong.tools.mime_type includes).
 */
export function isJsonBody(contentType: string | string[] | undefined): boolean {
  if (contentType === undefined) return false;
  const parts = (Array.isArray(contentType) ? contentType.join(',') : contentType).split(',');
  for (const part of parts) {
    const essence = part.split(';')[0]!.trim().toLowerCase();
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(essence);
    if (m === null || m[1] !== 'application') continue;
    if (m[2] === 'json' || m[2]!.endsWith('+json')) return true;
  }
  return false;
}
