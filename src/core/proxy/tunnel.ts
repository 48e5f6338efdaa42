/**
 * WebSocket tunnels (RFC 6455 §4). Kong 3 proxies upgrades on http(s) and
 * ws(s) routes: after the access phase the handshake goes upstream through
 * the same HTTP/1.1 client as every request (an upgrade dispatch, h1-pool.ts / h1-connection.ts:
 * a connection of its own, `Connection: keep-alive, Upgrade` as Kong sends
 * it). An answer other than 101 is an ordinary response, relayed by
 * exchange.ts through the ServerResponse bound to the client's socket, which
 * is then closed. A 101 lands here: its head is written to the client, and
 * only then do the client's bytes that followed its handshake go upstream —
 * before a 101 they are not the upstream's to read (a refused upgrade would
 * otherwise run them as a second, unchecked request: docs/ARCHITECTURE.md,
 * "Framing invariants"). The two sockets are then piped both ways until
 * either side closes, idle-timed by the service's read_timeout (nginx
 * proxy_read_timeout applies to established tunnels too).
 */
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HeaderBag, RequestContext } from '../context.ts';
import { ProxyError } from '../errors.ts';
import { mergeInto } from '../respond.ts';
import { responseHead } from '../http1/syntax.ts';
import type { HeaderValues } from '../upstream/types.ts';
import type { ResponseSource } from '../metrics.ts';
import type { ProxyEnv } from './env.ts';
import { addProxiedResponseHeaders, stripResponseHopByHop } from './headers.ts';

/** What of a request's exchange (exchange.ts) a tunnel reads and records. */
export interface TunnelOwner {
  readonly ctx: RequestContext;
  readonly env: ProxyEnv;
  readonly clientGone: boolean;
  readonly upstreamStartedAt: number;
  /** The client's raw socket, and its bytes after the handshake (held until now). */
  readonly tunnelSocket: Duplex | null;
  tunnelHead: Buffer | null;
  tunnelStatus: number;
  bytesOut: number;
  source: ResponseSource;
  answerError(err: unknown): void;
}

export function openTunnel(ex: TunnelOwner, upstream: Socket, headers: HeaderValues, rest: Buffer): void {
  const ctx = ex.ctx;
  const env = ex.env;
  const client = ex.tunnelSocket!;
  ctx.upstreamStatus = 101;
  ctx.upstreamLatency = performance.now() - ex.upstreamStartedAt;
  ctx.upstreamResponseHeaders = headers as Record<string, string | string[]>;
  ex.source = 'service';
  if (ex.clientGone || client.destroyed) {
    upstream.destroy();
    return;
  }
  const upgrade = headers['upgrade'];
  const out = headers as Record<string, string | string[]>;
  stripResponseHopByHop(out, true);
  if (ctx.responseHeaders !== null) mergeInto(out, ctx.responseHeaders as HeaderBag);
  addProxiedResponseHeaders(ctx, env, out);
  // The connection fields of a 101 are the codec's: the protocol the upstream switched to, nothing else.
  out['connection'] = 'Upgrade';
  if (typeof upgrade === 'string') out['upgrade'] = upgrade;
  else delete out['upgrade'];
  const head = typeof upgrade === 'string' ? responseHead(101, 'Switching Protocols', out) : null;
  if (head === null) {
    upstream.destroy();
    env.metrics?.upstreamError(ctx.service, 'UPSTREAM_INVALID_RESPONSE');
    ex.answerError(new ProxyError('UPSTREAM_UNRELAYABLE_RESPONSE', typeof upgrade === 'string' ? 'unrelayable 101 response header' : '101 without an Upgrade field'));
    return;
  }
  ex.tunnelStatus = 101;
  client.write(head, 'latin1');
  if (rest.length > 0) {
    ex.bytesOut += rest.length;
    client.write(rest);
  }
  const early = ex.tunnelHead;
  ex.tunnelHead = null;
  if (early !== null && early.length > 0) upstream.write(early);

  env.tunnels.add(client);
  env.tunnels.add(upstream);
  const closeBoth = (): void => {
    upstream.destroy();
    client.destroy();
  };
  upstream.setTimeout(ctx.service!.read_timeout, closeBoth);
  upstream.on('error', closeBoth);
  client.on('error', closeBoth);
  // Let whatever one side sent last reach the other before closing it.
  upstream.on('close', () => {
    env.tunnels.delete(upstream);
    client.end();
  });
  client.on('close', () => {
    env.tunnels.delete(client);
    upstream.destroy();
  });
  upstream.pipe(client);
  client.pipe(upstream);
  upstream.resume();
}
