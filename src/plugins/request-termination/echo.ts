/**
 * The request copy request-termination sends back with `echo`
 * (kong/plugins/request-termination/handler.lua, 3.9.3: message,
 * kong{node_id, worker_pid, hostname}, request{scheme, host, port, headers,
 * query, body, raw_body, method, path, uri_captures}, matched_route,
 * matched_service), with the shapes of Kong's PDK getters.
 */
import process from 'node:process';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';

/** kong.request.get_headers(): lower-cased names, a list for a repeated header. */
export function requestHeaders(ctx: RequestContext): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = value;
  }
  return out;
}

/** kong.request.get_query(): `true` for an argument without `=`, a list when repeated. */
export function requestQuery(ctx: RequestContext): Record<string, string | boolean | (string | boolean)[]> {
  const out: Record<string, string | boolean | (string | boolean)[]> = {};
  if (ctx.query === '') return out;
  for (const part of ctx.query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq === -1 ? part : part.slice(0, eq));
    if (key === '') continue;
    const value: string | boolean = eq === -1 ? true : decode(part.slice(eq + 1));
    const cur = out[key];
    if (cur === undefined) out[key] = value;
    else if (Array.isArray(cur)) cur.push(value);
    else out[key] = [cur, value];
  }
  return out;
}

/**
 * kong.request.get_uri_captures(): `unnamed` the numbered groups from 1 (an
 * array; a group that did not take part is false, as ngx.re.match gives it),
 * `named` the named ones; both empty without a regex path.
 */
export function uriCaptures(ctx: RequestContext): { unnamed: Array<string | false>; named: Record<string, string> } {
  const unnamed: Array<string | false> = [];
  const named: Record<string, string> = {};
  const c = ctx.uriCaptures;
  if (c === null) return { unnamed, named };
  for (const [k, v] of Object.entries(c)) {
    if (/^\d+$/.test(k)) {
      const i = Number(k);
      if (i === 0) continue; // the whole match: Kong's array starts at 1
      while (unnamed.length < i - 1) unnamed.push(false);
      unnamed[i - 1] = v;
    } else named[k] = v;
  }
  for (let i = 0; i < unnamed.length; i++) if (unnamed[i] === undefined) unnamed[i] = false;
  return { unnamed, named };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** The whole echo document; body/raw_body read (buffered) from the client. */
export async function echoDocument(ctx: RequestContext, message: string | undefined): Promise<Record<string, unknown>> {
  let raw = '';
  let body: Record<string, unknown> | null = null;
  try {
    raw = (await pdk.request.getRawBody(ctx)).toString('utf8');
    body = await pdk.request.getBodyArgs(ctx);
  } catch {
    // Kong: get_body / get_raw_body return nil on failure; the fields are then absent.
  }
  return {
    message,
    kong: {
      node_id: pdk.node.getId(),
      worker_pid: process.pid,
      hostname: pdk.node.getHostname(),
    },
    request: {
      scheme: ctx.scheme,
      host: ctx.host,
      port: ctx.port,
      headers: requestHeaders(ctx),
      query: requestQuery(ctx),
      body: body ?? undefined,
      raw_body: raw,
      method: ctx.method,
      path: ctx.path,
      uri_captures: uriCaptures(ctx),
    },
    matched_route: ctx.route ?? undefined,
    matched_service: ctx.service ?? undefined,
  };
}
