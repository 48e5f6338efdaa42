/**
 * The cache key, byte for byte as Kong builds it
 * (kong/plugins/proxy-cache/cache_key.lua):
 *
 *   sha256_hex(prefix "|" method "|" uri "|" params_digest "|" headers_digest)
 *
 * - prefix: "<consumer_id>:<route_id>" for an authenticated request on a
 *   route, "<route_id>" on a route, "default" otherwise — so responses are
 *   never shared between routes or between consumers;
 * - uri: nginx's $request (the request line) with everything from the first
 *   `?` removed — kept exactly, quirks included (without a query string it
 *   still ends in " HTTP/1.1"), lower-cased when ignore_uri_case is set;
 * - params_digest: "name=value" for each query argument, joined with ":";
 *   every argument in name order when vary_query_params is unset, else only
 *   those listed, in the listed order; repeated arguments join their sorted
 *   values with ","; an argument without "=" is just its name;
 * - headers_digest: the same over the request headers named in vary_headers
 *   (none when unset); header names are matched case-insensitively.
 */
import { createHash } from 'node:crypto';

export type ArgValue = string | true | string[];

/** Kong's get_uri_args: decoded, repeated names as lists, no "=" as true; at most 100 arguments. */
export function queryArgs(query: string): Map<string, ArgValue> {
  const out = new Map<string, ArgValue>();
  if (query === '') return out;
  let count = 0;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    if (++count > 100) break;
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (name === '') continue;
    const value: string | true = eq === -1 ? true : decode(pair.slice(eq + 1));
    const prev = out.get(name);
    if (prev === undefined) out.set(name, value);
    else {
      // A valueless repeat counts as an empty value in the list.
      const v = value === true ? '' : value;
      if (Array.isArray(prev)) prev.push(v);
      else out.set(name, [prev === true ? '' : prev, v]);
    }
  }
  return out;
}

function decode(s: string): string {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

function component(name: string, v: ArgValue | undefined): string | null {
  if (v === undefined) return null;
  if (v === true) return name;
  if (Array.isArray(v)) return `${name}=${[...v].sort().join(',')}`;
  return `${name}=${v}`;
}

export function paramsDigest(args: Map<string, ArgValue>, vary: readonly string[] | null): string {
  const names = vary !== null && vary.length > 0 ? vary : [...args.keys()].sort();
  const parts: string[] = [];
  for (const n of names) {
    const c = component(n, args.get(n));
    if (c !== null) parts.push(c);
  }
  return parts.join(':');
}

/** `values(lowerCaseName)`: every value of that request header, in order. */
export function headersDigest(values: (name: string) => string[], vary: readonly string[] | null): string {
  if (vary === null || vary.length === 0) return '';
  const parts: string[] = [];
  for (const n of vary) {
    const all = values(n.toLowerCase());
    const c = component(n, all.length === 0 ? undefined : all.length === 1 ? all[0] : all);
    if (c !== null) parts.push(c);
  }
  return parts.join(':');
}

export function prefix(consumerId: string | null, routeId: string | null): string {
  if (consumerId !== null && routeId !== null) return `${consumerId}:${routeId}`;
  if (routeId !== null) return routeId;
  return 'default';
}

export function buildCacheKey(pfx: string, method: string, uri: string, params: string, headers: string): string {
  return createHash('sha256').update(`${pfx}|${method}|${uri}|${params}|${headers}`).digest('hex');
}
