/**
 * WebSocket pass-through (RFC 6455 §4). Kong 3 proxies upgrades on http(s)
 * routes (and ws/wss routes): after the access phase the handshake request
 * is sent on a fresh connection to the upstream (`Connection: keep-alive,
 * Upgrade`, `Upgrade: websocket`, as Kong sets them); a 101 answer is relayed
 * and the two sockets are piped both ways until either side closes. Any other
 * answer is relayed as a normal response and the connection closed.
 *
 * The upstream connection is idle-timed by the service's read_timeout (nginx
 * proxy_read_timeout applies to established WebSocket tunnels too).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { STATUS_CODES } from 'node:http';
import type { HeaderBag } from '../context.ts';
import { ProxyError } from '../errors.ts';
import { mergeInto } from '../respond.ts';
import type { Exchange } from './exchange.ts';
import { balancerFor } from './balancer.ts';
import { hostHeaderFor, stripResponseHopByHop } from './headers.ts';
import { addProxiedResponseHeaders, isTls, pickPeer, sniFrom, trustedCas } from './forward.ts';

const MAX_RESPONSE_HEAD = 64 * 1024;
const UNSAFE_HEADER = /[\r\n\0]/;
const HEAD_END = Buffer.from('\r\n\r\n');

/** Serialise a request or response head; false when a name/value would break the framing. */
function appendHeaders(lines: string[], headers: Record<string, string | string[] | undefined>): boolean {
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (UNSAFE_HEADER.test(name)) return false;
    if (Array.isArray(v)) {
      for (const item of v) {
        if (UNSAFE_HEADER.test(item)) return false;
        lines.push(`${name}: ${item}`);
      }
    } else {
      if (UNSAFE_HEADER.test(v)) return false;
      lines.push(`${name}: ${v}`);
    }
  }
  return true;
}

interface ParsedHead {
  status: number;
  headers: Record<string, string | string[]>;
}

/** Parse an HTTP/1.x response head (status line + fields); null when it is not one. */
export function parseResponseHead(text: string): ParsedHead | null {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (m === null) return null;
  const headers: Record<string, string | string[]> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [prev, value];
  }
  return { status: Number(m[1]), headers };
}

export function proxyWebSocket(ex: Exchange): void {
  const ctx = ex.ctx;
  const env = ex.env;
  const service = ctx.service!;
  const client = ex.tunnelSocket!;
  const upstreamEntry = ex.runtime.upstreams.get(service.host);
  if (upstreamEntry !== undefined) ex.balancer = balancerFor(upstreamEntry);
  const peer = pickPeer(ex);
  if (peer === null) {
    ex.answerError(new ProxyError('UPSTREAM_UNAVAILABLE', `upstream '${service.host}' has no healthy targets`));
    return;
  }
  const tls = isTls(service.protocol);
  const headers = ctx.upstreamHeaders;
  if (headers['host'] === undefined) headers['host'] = hostHeaderFor(peer.hostName, peer.port, tls);
  headers['connection'] = 'keep-alive, Upgrade';
  headers['upgrade'] = 'websocket';
  // A buffered body makes no sense on a handshake; Content-Length is not sent.
  headers['content-length'] = undefined;

  let target = ctx.upstreamPath;
  if (ctx.upstreamQuery !== '') target += '?' + ctx.upstreamQuery;
  const lines = [`${ctx.upstreamMethod} ${target} HTTP/1.1`];
  if (!appendHeaders(lines, headers) || /[\s]/.test(target)) {
    ex.answerError(new ProxyError('INTERNAL', 'handshake request cannot be serialised'));
    return;
  }
  lines.push('', '');
  const head = lines.join('\r\n');

  ctx.proxyLatency = performance.now() - ctx.startedAt;
  ex.upstreamStartedAt = performance.now();
  const hostHeader = headers['host'];
  let upstream: Socket;
  if (tls) {
    const servername = sniFrom(typeof hostHeader === 'string' ? hostHeader : peer.hostName);
    const ca = trustedCas(ex.runtime, service);
    upstream = tlsConnect({
      host: peer.host,
      port: peer.port,
      ...(servername !== null ? { servername } : {}),
      rejectUnauthorized: service.tls_verify === true,
      ...(ca !== null ? { ca } : {}),
      ALPNProtocols: ['http/1.1'],
    });
  } else {
    upstream = netConnect({ host: peer.host, port: peer.port });
  }
  env.tunnels.add(upstream);
  let connected = false;
  let settled = false;
  let buffered: Buffer = Buffer.alloc(0);

  const fail = (err: ProxyError): void => {
    if (settled) return;
    settled = true;
    upstream.destroy();
    env.metrics?.upstreamError(service, err.code);
    if (!ex.clientGone) ex.answerError(err);
  };

  upstream.setTimeout(service.connect_timeout);
  upstream.once(tls ? 'secureConnect' : 'connect', () => {
    connected = true;
    upstream.setTimeout(service.read_timeout);
    upstream.write(head);
    if (ex.tunnelHead !== null && ex.tunnelHead.length > 0) upstream.write(ex.tunnelHead);
  });
  upstream.on('timeout', () => {
    if (!settled) fail(new ProxyError('UPSTREAM_TIMEOUT', connected ? 'no handshake answer within read_timeout' : 'connect_timeout elapsed'));
    else {
      upstream.destroy();
      client.destroy();
    }
  });
  upstream.on('error', (err) => {
    if (!settled) fail(new ProxyError('UPSTREAM_INVALID_RESPONSE', `${(err as { code?: string }).code ?? ''} ${err.message}`.trim()));
    else client.destroy();
  });
  upstream.on('close', () => {
    env.tunnels.delete(upstream);
    if (!settled) fail(new ProxyError('UPSTREAM_INVALID_RESPONSE', 'upstream closed before answering the handshake'));
    // Let whatever the upstream sent last reach the client before closing it.
    else client.end();
  });
  client.on('close', () => upstream.destroy());
  client.on('error', () => upstream.destroy());

  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf(HEAD_END);
    if (end === -1) {
      if (buffered.length > MAX_RESPONSE_HEAD) fail(new ProxyError('UPSTREAM_INVALID_RESPONSE', 'handshake response head too large'));
      return;
    }
    upstream.off('data', onData);
    const parsed = parseResponseHead(buffered.subarray(0, end).toString('latin1'));
    if (parsed === null) {
      fail(new ProxyError('UPSTREAM_INVALID_RESPONSE', 'handshake response is not HTTP/1.x'));
      return;
    }
    settled = true;
    if (ex.clientGone) {
      upstream.destroy();
      return;
    }
    relay(ex, upstream, parsed, buffered.subarray(end + 4));
  };
  upstream.on('data', onData);
}

/** Write the upstream's answer to the client, then tunnel (101) or relay the body and close. */
function relay(ex: Exchange, upstream: Socket, parsed: ParsedHead, rest: Buffer): void {
  const ctx = ex.ctx;
  const env = ex.env;
  const client = ex.tunnelSocket!;
  const switching = parsed.status === 101;
  ctx.upstreamStatus = parsed.status;
  ctx.upstreamLatency = performance.now() - ex.upstreamStartedAt;
  ctx.upstreamResponseHeaders = parsed.headers;
  ex.source = 'service';
  const out = parsed.headers;
  // A refusal is relayed byte for byte: its framing header stays as the upstream sent it.
  const framing = out['transfer-encoding'];
  stripResponseHopByHop(out, switching);
  if (!switching && framing !== undefined) out['transfer-encoding'] = framing;
  if (ctx.responseHeaders !== null) mergeInto(out, ctx.responseHeaders as HeaderBag);
  addProxiedResponseHeaders(ctx, env, out);
  if (!switching) out['connection'] = 'close';
  const lines = [`HTTP/1.1 ${parsed.status} ${STATUS_CODES[parsed.status] ?? 'Unknown'}`];
  if (!appendHeaders(lines, out)) {
    upstream.destroy();
    ex.answerError(new ProxyError('UPSTREAM_INVALID_RESPONSE', 'unrelayable handshake response header'));
    return;
  }
  lines.push('', '');
  ex.tunnelStatus = parsed.status;
  client.write(lines.join('\r\n'));
  if (switching) {
    if (rest.length > 0) client.write(rest);
    env.tunnels.add(client);
    client.once('close', () => env.tunnels.delete(client));
    upstream.pipe(client);
    client.pipe(upstream);
    return;
  }
  // Not upgraded: relay the body until its framing says it is complete (or the upstream closes).
  const declared = Number(Array.isArray(out['content-length']) ? out['content-length'][0] : out['content-length']);
  const chunked = framing !== undefined;
  let remaining = Number.isFinite(declared) ? declared : -1;
  const done = (): void => {
    upstream.destroy();
    client.end();
  };
  const forward = (chunk: Buffer): boolean => {
    if (remaining >= 0) {
      if (chunk.length > remaining) chunk = chunk.subarray(0, remaining);
      remaining -= chunk.length;
    }
    ex.bytesOut += chunk.length;
    client.write(chunk);
    if (remaining === 0) return true;
    // Last-chunk of a chunked body (RFC 9112 §7.1) without trailers.
    return chunked && chunk.length >= 5 && chunk.subarray(chunk.length - 5).toString('latin1') === '0\r\n\r\n';
  };
  if ((rest.length > 0 && forward(rest)) || remaining === 0) {
    done();
    return;
  }
  upstream.on('data', (chunk: Buffer) => {
    if (forward(chunk)) done();
  });
  upstream.once('end', () => client.end());
}
