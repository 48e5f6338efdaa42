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
 *   cannot smuggle its own values past an untrusted hop.
 * - `Expect` is answered by the listener (100-continue) and not forwarded.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderBag } from '../context.ts';

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
