/**
 * The key a `consistent-hashing` upstream hashes a request on: `hash_on`,
 * then `hash_fallback` when the first gives nothing, else the empty string
 * (kong/runloop/balancer/init.lua get_value_to_hash). Computed once per
 * request, on its first try; retries keep it.
 *
 * With `hash_on: cookie` and no such cookie in the request, the gateway
 * makes one (a UUID, as Kong) and sets it on the response
 * (`<name>=<uuid>; Path=<hash_on_cookie_path>; Same-Site=Lax; HttpOnly`,
 * Kong's set_cookie, spelling included), so the client's next requests
 * carry it and keep their target.
 */
import { randomUUID } from 'node:crypto';
import type { UpstreamEntity } from '../../../schema/entities/types.ts';
import type { RequestContext } from '../../context.ts';

interface HashInput {
  readonly on: string;
  /** Header name (lower case), query argument or capture group, per `on`. */
  readonly name: string | null;
}

export interface HashSpec {
  readonly first: HashInput;
  readonly fallback: HashInput | null;
  readonly cookie: string | null;
  readonly cookiePath: string;
}

function input(on: string, header: string | null | undefined, queryArg: string | null | undefined, capture: string | null | undefined, cookie: string | null | undefined): HashInput {
  let name: string | null = null;
  if (on === 'header') name = (header ?? '').toLowerCase();
  else if (on === 'query_arg') name = queryArg ?? null;
  else if (on === 'uri_capture') name = capture ?? null;
  else if (on === 'cookie') name = cookie ?? null;
  return { on, name };
}

/** The compiled hash inputs of an upstream (null: it does not hash). */
export function compileHash(u: UpstreamEntity): HashSpec | null {
  if (u.algorithm !== 'consistent-hashing') return null;
  const on = u.hash_on ?? 'none';
  const fb = u.hash_fallback ?? 'none';
  return {
    first: input(on, u.hash_on_header, u.hash_on_query_arg, u.hash_on_uri_capture, u.hash_on_cookie),
    fallback: on === 'none' || fb === 'none' ? null : input(fb, u.hash_fallback_header, u.hash_fallback_query_arg, u.hash_fallback_uri_capture, u.hash_on_cookie),
    cookie: u.hash_on_cookie ?? null,
    cookiePath: u.hash_on_cookie_path ?? '/',
  };
}

/** nginx $cookie_<name>: the first cookie of that name. */
export function cookieValue(header: string | string[] | undefined, name: string): string | null {
  if (header === undefined) return null;
  const text = Array.isArray(header) ? header.join('; ') : header;
  let i = 0;
  while (i < text.length) {
    while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 59) i++;
    const end = text.indexOf(';', i);
    const pair = end === -1 ? text.slice(i) : text.slice(i, end);
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
    if (end === -1) break;
    i = end + 1;
  }
  return null;
}

function decode(s: string): string {
  const plus = s.replaceAll('+', ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/**
 * ngx.req.get_uri_args()[name], normalised as Kong does: an argument
 * without `=` is `true`, several values are sorted and joined with ",".
 */
export function queryArgValue(query: string, name: string): string | null {
  if (query === '') return null;
  let values: string[] | null = null;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq === -1 ? part : part.slice(0, eq));
    if (key !== name) continue;
    (values ??= []).push(eq === -1 ? 'true' : decode(part.slice(eq + 1)));
  }
  if (values === null) return null;
  return values.length === 1 ? values[0]! : values.sort().join(',');
}

function valueOf(inp: HashInput, ctx: RequestContext, spec: HashSpec, out: { hashCookie: string | null }): string | null {
  switch (inp.on) {
    case 'consumer':
      return ctx.consumer?.id ?? ctx.credential?.id ?? null;
    case 'ip':
      return ctx.clientIp;
    case 'header': {
      const v = ctx.req.headers[inp.name!];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    }
    case 'cookie': {
      const v = cookieValue(ctx.req.headers.cookie, inp.name!);
      if (v !== null) return v;
      const made = randomUUID();
      out.hashCookie = `${spec.cookie}=${made}; Path=${spec.cookiePath}; Same-Site=Lax; HttpOnly`;
      return made;
    }
    case 'path':
      return ctx.path;
    case 'query_arg':
      return queryArgValue(ctx.query, inp.name!);
    case 'uri_capture':
      return ctx.uriCaptures?.[inp.name!] ?? null;
    default:
      return null;
  }
}

/**
 * The request's hash key; `out.hashCookie` receives the Set-Cookie value when
 * the gateway made the cookie up.
 */
export function hashKey(spec: HashSpec, ctx: RequestContext, out: { hashCookie: string | null }): string {
  const first = valueOf(spec.first, ctx, spec, out);
  if (first !== null) return first;
  if (spec.fallback === null) return '';
  return valueOf(spec.fallback, ctx, spec, out) ?? '';
}

/** Kong's set_cookie: the gateway's cookie replaces an upstream Set-Cookie of the same name, else is added. */
export function setHashCookie(headers: Record<string, string | string[] | undefined>, cookie: string): void {
  const prefix = cookie.slice(0, cookie.indexOf('=') + 1);
  const current = headers['set-cookie'];
  if (current === undefined) {
    headers['set-cookie'] = cookie;
    return;
  }
  const list = Array.isArray(current) ? current : [current];
  const i = list.findIndex((c) => c.startsWith(prefix));
  if (i === -1) list.push(cookie);
  else list[i] = cookie;
  headers['set-cookie'] = list;
}
