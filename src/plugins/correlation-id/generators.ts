/**
 * Kong's three correlation-id generators (kong/plugins/correlation-id/handler.lua).
 *
 * - `uuid`: a random (v4) UUID per request.
 * - `uuid#counter`: one UUID per worker process, then `#` and a counter that
 *   is incremented before use (so the first request of a worker gets `#1`).
 * - `tracker`: `server_addr-server_port-pid-connection-connection_requests-now`,
 *   nginx's variables rebuilt from the socket: the connection serial number
 *   is per process, `connection_requests` counts requests on that keep-alive
 *   connection, `now` is seconds with millisecond precision.
 */
import process from 'node:process';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { RequestContext } from '../../core/context.ts';
import type { Generator } from './schema.ts';

const workerUuid = randomUUID();
let workerCounter = 0;

export function uuidCounter(): string {
  workerCounter++;
  return `${workerUuid}#${workerCounter}`;
}

interface ConnectionInfo {
  serial: number;
  requests: number;
  lastRequest: unknown;
}

/** One entry per socket (released with it); counts requests seen on that connection. */
const connections = new WeakMap<Socket, ConnectionInfo>();
let connectionSerial = 0;

export function tracker(ctx: RequestContext): string {
  const socket = ctx.req.socket;
  let info = connections.get(socket);
  if (info === undefined) {
    info = { serial: ++connectionSerial, requests: 0, lastRequest: null };
    connections.set(socket, info);
  }
  // Count each request once, even if both access and header_filter generate.
  if (info.lastRequest !== ctx.req) {
    info.lastRequest = ctx.req;
    info.requests++;
  }
  const now = (Date.now() / 1000).toFixed(3);
  return `${socket.localAddress ?? ''}-${socket.localPort ?? ''}-${process.pid}-${info.serial}-${info.requests}-${now}`;
}

export function generate(generator: Generator, ctx: RequestContext): string {
  if (generator === 'uuid#counter') return uuidCounter();
  if (generator === 'uuid') return randomUUID();
  return tracker(ctx);
}
