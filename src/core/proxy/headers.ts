/**
 * Header rules of the proxy hop (RFC 9110 §7.6.1, RFC 9112 §9.6; Kong's
 * kong/runloop/handler.lua access.after and header_filter.before):
 *
 * - Hop-by-hop headers never cross the gateway in either direction:
 *   Connection and every header it names, Keep-Alive, Proxy-Connection,
 *   Proxy-* and `Proxy` (httpoxy), TE, Trailer, Transfer-Encoding, Upgrade.
 *   Framing (Content-Length / chunking) is re-done by each side.
 * - Headers the gateway sets itself (Host, X-Forwarded-*, X-Real-IP, Via,
 *   X-Kong-Request-Id) are removed from the client's set first, so a client
 *   cannot smuggle its own values past an untrusted hop; X-Forwarded-* from a
 *   trusted proxy (trusted_ips) are kept (upstreamHeaders).
 * - A proxied response gets the gateway's latency tokens, Via/Server and the
 *   request id (addProxiedResponseHeaders).
 * - `Expect` is answered by the listener (100-continue) and not forwarded.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderBag, RequestContext } from '../context.ts';
import { HEADER_PROXY_LATENCY, HEADER_REQUEST_ID, HEADER_UPSTREAM_LATENCY } from '../respond.ts';
import type { ProxyEnv } from './env.ts';

/** Client request headers that are never copied to the upstream request as received. */
const NOT_COPIED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  'via',
  'x-real-ip',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-path',
  'x-forwarded-prefix',
  'x-kong-request-id',
]);

/** Connection tokens that name no header to remove. */
function isConnectionOption(token: string): boolean {
  return token === 'keep-alive' || token === 'close' || token === 'upgrade';
}

/**
 * The upstream request's initial headers: the client's, minus hop-by-hop and
 * gateway-owned ones (lower-case names; node already joined duplicates).
 */
export function copyRequestHeaders(headers: IncomingHttpHeaders): HeaderBag {
  const out: HeaderBag = {};
  for (const name in headers) {
    if (NOT_COPIED.has(name) || name.startsWith('proxy-')) continue;
    out[name] = headers[name];
  }
  const connection = headers.connection;
  if (connection !== undefined) removeNamed(out, connection);
  return out;
}

function removeNamed(bag: Record<string, unknown>, connection: string): void {
  // Nearly every message says just `keep-alive` or `close`: no header named, nothing to split.
  if (connection === 'keep-alive' || connection === 'close') return;
  for (const raw of connection.split(',')) {
    const token = raw.trim().toLowerCase();
    if (token !== '' && !isConnectionOption(token)) delete bag[token];
  }
}

/**
 * Drop hop-by-hop headers from an upstream response (mutates; lower-case
 * names as the upstream client parses them). `Upgrade`/`Connection` survive only on a 101.
 */
export function stripResponseHopByHop(headers: Record<string, string | string[] | undefined>, switching: boolean): void {
  const connection = headers['connection'];
  if (connection !== undefined) {
    removeNamed(headers, Array.isArray(connection) ? connection.join(',') : connection);
    if (!switching) delete headers['connection'];
  }
  if (headers['keep-alive'] !== undefined) delete headers['keep-alive'];
  if (headers['transfer-encoding'] !== undefined) delete headers['transfer-encoding'];
  if (headers['te'] !== undefined) delete headers['te'];
  if (headers['trailer'] !== undefined) delete headers['trailer'];
  if (headers['proxy-connection'] !== undefined) delete headers['proxy-connection'];
  if (!switching && headers['upgrade'] !== undefined) delete headers['upgrade'];
}

/** `Host` for the upstream: name plus the port unless it is the scheme's default (Kong balancer set_host_header). */
export function hostHeaderFor(hostname: string, port: number, tls: boolean): string {
  if ((port === 80 && !tls) || (port === 443 && tls)) return hostname;
  return `${hostname}:${port}`;
}

/** What upstreamHeaders needs to know of the request beyond its headers. */
export interface Forwarding {
  /** The client's scheme as the gateway saw it, or a trusted proxy's X-Forwarded-Proto. */
  readonly proto: string;
  /** The client's Host (without port), or a trusted proxy's X-Forwarded-Host. */
  readonly host: string;
  readonly peer: string;
  readonly peerTrusted: boolean;
  readonly listenerPort: number;
  /** The route's stripped prefix, when one was stripped (Kong's X-Forwarded-Prefix). */
  readonly strippedPrefix: string | null;
}

/**
 * The upstream request's headers before the access phase (Kong's
 * kong/runloop/handler.lua access.after): the client's, minus hop-by-hop and
 * gateway-owned ones, plus X-Forwarded-For/Proto/Host/Port/Path/Prefix,
 * X-Real-IP, Via, X-Kong-Request-Id, and Host when the route preserves it.
 */
export function upstreamHeaders(ctx: RequestContext, env: ProxyEnv, f: Forwarding, preserveHost: boolean): HeaderBag {
  const headers = ctx.req.headers;
  const trusted = f.peerTrusted;
  const bag = copyRequestHeaders(headers);
  const xff = headers['x-forwarded-for'];
  bag['x-forwarded-for'] = xff !== undefined ? `${xff}, ${f.peer}` : ctx.clientIp;
  bag['x-forwarded-proto'] = f.proto;
  if (f.host !== '') bag['x-forwarded-host'] = f.host;
  bag['x-forwarded-port'] = (trusted ? first(headers['x-forwarded-port']) : undefined) ?? String(f.listenerPort);
  bag['x-forwarded-path'] = (trusted ? first(headers['x-forwarded-path']) : undefined) ?? ctx.rawPath;
  const prefix = (trusted ? first(headers['x-forwarded-prefix']) : undefined) ?? (f.strippedPrefix !== null && f.strippedPrefix !== '/' ? f.strippedPrefix : undefined);
  if (prefix !== undefined) bag['x-forwarded-prefix'] = prefix;
  bag['x-real-ip'] = ctx.clientIp;
  const via = headers['via'];
  const inbound = ctx.req.httpVersion === '1.1' ? env.viaToken : `${ctx.req.httpVersion} ${env.serverHeader}`;
  bag['via'] = via !== undefined ? `${via}, ${inbound}` : inbound;
  bag['x-kong-request-id'] = ctx.id;
  if (preserveHost && headers.host !== undefined) bag['host'] = headers.host;
  return bag;
}

export function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The gateway's own headers on a response that came from the upstream
 * (kong/runloop/handler.lua header_filter.after, proxied branch): latency
 * tokens, Via/Server, and the request id. Shared by HTTP and WebSocket upgrades.
 */
export function addProxiedResponseHeaders(ctx: RequestContext, env: ProxyEnv, out: Record<string, string | string[]>): void {
  if (env.latencyTokens) {
    out[HEADER_UPSTREAM_LATENCY] = String(Math.round(ctx.upstreamLatency));
    out[HEADER_PROXY_LATENCY] = String(Math.round(ctx.proxyLatency));
  }
  if (env.serverTokens) {
    const via = out['via'];
    out['via'] = via === undefined ? env.viaToken : `${Array.isArray(via) ? via.join(', ') : via}, ${env.viaToken}`;
    if (out['server'] === undefined) out['server'] = env.serverHeader;
  }
  out[HEADER_REQUEST_ID] = ctx.id;
}
