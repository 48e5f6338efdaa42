/**
 * The contract between the proxy (proxy/exchange.ts) and
 * the upstream HTTP/1.1 client (h1-pool.ts). The callback names follow
 * undici's DispatchHandler so the handler reads the same way, but only what
 * the proxy uses is here.
 *
 * Order of calls for one dispatch:
 *   onRequestStart                     a connection is ready; the request is about to be written
 *   onBodySent*                        request body chunks handed to the socket
 *   onRequestSent                      the whole request went out
 *   onResponseStart                    status and headers (1xx interim responses are skipped)
 *   onResponseData*                    body bytes, de-chunked
 *   onResponseEnd | onResponseError    exactly one of them, last
 *   | onUpgrade                        (or, for an upgrade request answered with 101, this one)
 * onResponseError may come at any point, even before onRequestStart (the
 * connection failed: nothing was sent). Its err.code is a cause from
 * src/core/errors.ts (UPSTREAM_*, REQUEST_BODY_*) or Node's socket/DNS code.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export type HeaderValues = Record<string, string | string[] | undefined>;

export interface UpstreamController {
  readonly paused: boolean;
  readonly aborted: boolean;
  /** Stop the exchange: the connection is closed and onResponseError(reason) follows. */
  abort(reason: Error): void;
  /** Stop delivering response data until resume(). */
  pause(): void;
  resume(): void;
}

export interface UpstreamRequest {
  method: string;
  /** Request target, already escaped (origin form). */
  path: string;
  /**
   * Lower-case names; `host` included. Framing and connection fields
   * (Content-Length, Transfer-Encoding, Connection, Upgrade, Keep-Alive, TE,
   * Trailer, Proxy-Connection) are ignored: the client writes its own.
   */
  headers: HeaderValues;
  /** Nothing, a buffered body, or a stream sent as it arrives. */
  body: Buffer | Readable | null;
  /** A stream body's length in bytes (sent with Content-Length, enforced), or -1: sent chunked. */
  bodyLength: number;
  /**
   * Ask the upstream to switch to this protocol (`Upgrade: websocket`). The
   * request goes on a new connection that is never reused; a 101 answer hands
   * the socket to onUpgrade, any other is an ordinary response.
   */
  upgrade: string | null;
}

export interface UpstreamHandler {
  onRequestStart(controller: UpstreamController, context: unknown): void;
  onBodySent(chunk: Buffer): void;
  onRequestSent(): void;
  /**
   * Lower-case names; a repeated field is a list. Hop-by-hop fields are not
   * included, except a Connection that names other fields (to be removed too).
   */
  onResponseStart(controller: UpstreamController, statusCode: number, headers: HeaderValues, statusMessage: string): void;
  onResponseData(controller: UpstreamController, chunk: Buffer): void;
  onResponseEnd(controller: UpstreamController, trailers: HeaderValues): void;
  /**
   * A 101 answered an upgrade request: `socket` now carries the new protocol
   * and belongs to the handler, `head` holds bytes of it already read. Nothing
   * else is called for this dispatch.
   */
  onUpgrade(controller: UpstreamController, statusCode: number, headers: HeaderValues, socket: Socket, head: Buffer): void;
  onResponseError(controller: UpstreamController, err: Error): void;
}
