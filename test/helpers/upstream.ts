/**
 * Real upstream servers on 127.0.0.1 port 0 for proxy tests:
 * - startUpstream: node:http (or https) server; the default handler echoes the
 *   request (method, url, headers, body) as JSON; counts connections.
 * - startRawUpstream: a net.Server whose handler writes exact bytes, for
 *   protocol edge cases (garbage answers, resets, silence).
 * - startWebSocketEcho: an RFC 6455 echo server (text/binary frames, close).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { once } from 'node:events';

export interface EchoedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: string;
}

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Requests seen, in arrival order (filled when the body has been read by the default handler). */
  readonly requests: EchoedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, seen: EchoedRequest[]) => void;

/** Echo the request back as JSON (status 200). */
export const echo: UpstreamHandler = (req, res, seen) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const entry: EchoedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    seen.push(entry);
    const payload = JSON.stringify(entry);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
};

export async function startUpstream(handler: UpstreamHandler = echo, tls?: { cert: string; key: string }): Promise<TestUpstream> {
  const requests: EchoedRequest[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse): void => handler(req, res, requests);
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener) : createHttpServer(listener);
  let connections = 0;
  server.on(tls ? 'secureConnection' : 'connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    server,
    requests,
    connections: () => connections,
    close: () => closeServer(server),
  };
}

export interface RawUpstream {
  readonly port: number;
  readonly server: NetServer;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** A TCP server whose handler decides every byte (and when to close). */
export async function startRawUpstream(onConnection: (socket: Socket, index: number) => void): Promise<RawUpstream> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket, count++);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    server,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Read from a raw socket until the request head (and `bodyBytes` more bytes) arrived. */
export function readRequestHead(socket: Socket, bodyBytes = 0): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (c: Buffer): void => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end !== -1 && buf.length >= end + 4 + bodyBytes) {
        socket.off('data', onData);
        resolve(buf);
      }
    };
    socket.on('data', onData);
  });
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

// ------------------------------------------------------------------ WebSocket echo

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §4.2.2 Sec-WebSocket-Accept. */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : len < 65536 ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 255]) : null;
  if (head === null) throw new RangeError('frame too large for the test server');
  return Buffer.concat([head, payload]);
}

export interface WebSocketEcho extends TestUpstream {
  /** Handshake request headers seen. */
  readonly handshakes: Array<Record<string, string | string[] | undefined>>;
}

/** Echoes each message back (prefixed with `echo:` for text); answers close with close. */
export async function startWebSocketEcho(): Promise<WebSocketEcho> {
  const handshakes: Array<Record<string, string | string[] | undefined>> = [];
  const up = await startUpstream((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('websocket only');
  });
  const sockets = new Set<Socket>();
  up.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    handshakes.push(req.headers);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${websocketAccept(key)}\r\n\r\n`);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (buf.length < 2) return;
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        }
        const masked = (buf[1]! & 0x80) !== 0;
        const need = off + (masked ? 4 : 0) + len;
        if (buf.length < need) return;
        let payload = buf.subarray(off + (masked ? 4 : 0), need);
        if (masked) {
          const mask = buf.subarray(off, off + 4);
          payload = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
        }
        buf = buf.subarray(need);
        if (opcode === 8) {
          socket.end(frame(8, payload));
          return;
        }
        if (opcode === 1) socket.write(frame(1, Buffer.concat([Buffer.from('echo:'), payload])));
        else if (opcode === 2) socket.write(frame(2, payload));
        else if (opcode === 9) socket.write(frame(10, payload));
      }
    });
  });
  return {
    ...up,
    handshakes,
    close: async () => {
      for (const s of sockets) s.destroy();
      await up.close();
    },
  };
}
