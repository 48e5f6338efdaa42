/**
 * Shared pieces of the attack suites (test/security/*.test.ts):
 *
 * - the gateway as users run it: `portcullis start --workers 2` as a child
 *   process (cluster primary + 2 proxy workers, SQLite), and the in-process
 *   single-worker gateway of test/helpers/gateway.ts; both configured only
 *   through the Admin API;
 * - a raw TCP client with a small STRICT HTTP/1.1 response reader: one
 *   Content-Length (digits only) or `Transfer-Encoding: chunked` (never both),
 *   strict chunk lines, and a check that nothing follows a complete response
 *   on the connection — extra bytes are the symptom of a poisoned connection;
 * - a strict HTTP/1.1 request reader for the recording / malicious upstreams.
 *
 * Nothing here trusts the gateway: every read has a deadline, so a hang is a
 * failed assertion, not a stuck suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway } from '../helpers/gateway.ts';
import { ioTurns, waitFor } from '../helpers/wait.ts';

// ------------------------------------------------------------------ gateways

export interface Gw {
  readonly label: string;
  readonly proxyPort: number;
  readonly adminUrl: string;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function adminCall(adminUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(adminUrl + path, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/** `portcullis start --workers N` as a real process tree (what `npm start` runs). */
export async function startProcessGateway(workers = 2): Promise<Gw> {
  const dataDir = await mkdtemp(join(tmpdir(), 'portcullis-sec-'));
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, [MAIN, 'start', '--workers', String(workers), '--data-dir', dataDir, '--log-level', 'info'], {
    env: {
      ...process.env,
      KONG_PROXY_LISTEN: `127.0.0.1:${proxyPort}`,
      KONG_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      PORTCULLIS_SESSION_SECRET: 'security-test-secret-0123456789abcdef',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let started = false;
  const onOutput = (d: Buffer): void => {
    out += d.toString();
    if (out.includes('Portcullis started')) started = true;
    if (out.length > 256 * 1024) out = out.slice(-64 * 1024);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  // A bound on a hang, not a timing window: a 2-worker start takes ~25 s on a loaded 2-core machine.
  const deadline = Date.now() + 90_000;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  // The banner comes once every worker is ready (configuration made earlier may not reach them).
  try {
    await waitFor(
      () => `the gateway to start:\n${out}`,
      () => {
        if (child.exitCode !== null) throw new Error(`gateway exited early:\n${out}`);
        return started;
      },
      Math.max(0, deadline - Date.now()),
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    label: `portcullis start --workers ${workers}`,
    proxyPort,
    adminUrl,
    admin: (m, p, b) => adminCall(adminUrl, m, p, b),
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The in-process gateway of test/helpers/gateway.ts (one worker, SQLite). */
export async function startInProcessGateway(): Promise<Gw> {
  const gw = await startGateway({ logLevel: 'warn' });
  return {
    label: 'in-process (1 worker)',
    proxyPort: Number(new URL(gw.proxyUrl).port),
    adminUrl: gw.adminUrl,
    admin: async (m, p, b) => {
      const r = await gw.admin(m, p, b);
      await gw.settle();
      return { status: r.status, body: r.body };
    },
    close: () => gw.close(),
  };
}

export const GATEWAYS: ReadonlyArray<{ label: string; start: () => Promise<Gw> }> = [
  { label: 'portcullis start --workers 2', start: () => startProcessGateway(2) },
  { label: 'in-process (1 worker)', start: startInProcessGateway },
];

/**
 * Close a gateway, but never hang the suite on it: a gateway that cannot shut
 * down within 20 s (a connection it lost track of) fails the suite's `after`.
 */
export async function closeBounded(gw: Gw | undefined): Promise<void> {
  if (gw === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 20_000)));
  const result = await Promise.race([gw.close().then(() => 'closed' as const), timeout]);
  clearTimeout(timer);
  if (result === 'timeout') throw new Error(`${gw.label}: close() did not finish within 20 s`);
}

/** Admin API call that must succeed (2xx). */
export async function must(gw: Gw, method: string, path: string, body?: unknown): Promise<any> {
  const r = await gw.admin(method, path, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * Wait until `path` answers `status` on 8 fresh connections in a row: with
 * workers, each applies configuration snapshots on its own, and the last
 * entity created is live only when everything created before it is.
 */
export async function converge(gw: Gw, path: string, status = 200, host = 'probe.example'): Promise<void> {
  const deadline = Date.now() + 60_000;
  let streak = 0;
  let last = 'no answer';
  while (streak < 8) {
    if (Date.now() > deadline) throw new Error(`configuration did not reach the proxy (${path}): last answer ${last}`);
    const c = await RawClient.connect(gw.proxyPort).catch(() => null);
    if (c === null) {
      streak = 0;
      await sleep(100);
      continue;
    }
    c.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const r = await c.readResponse(5000).catch((err: Error) => {
      last = err.message;
      return null;
    });
    c.destroy();
    if (r !== null) last = r.head.split('\r\n')[0]!;
    if (r !== null && r.status === status) streak++;
    else {
      streak = 0;
      await sleep(100);
    }
  }
}

// ------------------------------------------------------------------ strict response reader

export interface Response {
  status: number;
  version: string;
  /** Lower-case name → values, in order. */
  fields: Map<string, string[]>;
  body: Buffer;
  raw: Buffer;
  head: string;
}

export class FramingError extends Error {
  override name = 'FramingError';
}

export function header(r: Response, name: string): string | undefined {
  const v = r.fields.get(name);
  return v === undefined ? undefined : v.join(', ');
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3}) [\x09\x20-\x7e\x80-\xff]*$/;
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x09\x20-\x7e\x80-\xff]*?)[ \t]*$/;

/**
 * Parse one complete response at the start of `data`. Returns null when more
 * bytes are needed (`ended`: the peer closed, so a close-delimited body ends
 * here). Throws FramingError on anything a strict client must not accept.
 * `noBody`: the request was HEAD (or the answer is 1xx/204/304).
 */
export function parseResponse(data: Buffer, ended: boolean, noBody = false): { response: Response; used: number } | null {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) {
    if (ended && data.length > 0) throw new FramingError(`connection closed inside a response head: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
    return null;
  }
  const head = data.toString('latin1', 0, end);
  const lines = head.split('\r\n');
  const m = STATUS_LINE.exec(lines[0]!);
  if (m === null) throw new FramingError(`not a status line: ${JSON.stringify(lines[0]!.slice(0, 200))}`);
  const fields = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const f = FIELD_LINE.exec(line);
    if (f === null) throw new FramingError(`invalid field line: ${JSON.stringify(line.slice(0, 200))}`);
    const name = f[1]!.toLowerCase();
    const list = fields.get(name) ?? [];
    list.push(f[2]!);
    fields.set(name, list);
  }
  const status = Number(m[1]);
  const version = lines[0]!.slice(5, 8);
  const cl = fields.get('content-length');
  const te = fields.get('transfer-encoding');
  if (cl !== undefined && te !== undefined) throw new FramingError(`response carries both Content-Length (${cl.join(', ')}) and Transfer-Encoding (${te.join(', ')})`);
  if (cl !== undefined && (cl.length !== 1 || !/^\d{1,15}$/.test(cl[0]!))) throw new FramingError(`invalid Content-Length: ${JSON.stringify(cl)}`);
  if (te !== undefined && (te.length !== 1 || te[0]!.toLowerCase() !== 'chunked')) throw new FramingError(`unexpected Transfer-Encoding: ${JSON.stringify(te)}`);
  let pos = end + 4;
  const done = (body: Buffer, used: number) => ({ response: { status, version, fields, body, raw: data.subarray(0, used), head }, used });
  if (noBody || (status >= 100 && status < 200) || status === 204 || status === 304) return done(Buffer.alloc(0), pos);
  if (cl !== undefined) {
    const n = Number(cl[0]);
    if (data.length - pos < n) {
      if (ended) throw new FramingError(`connection closed after ${data.length - pos} of ${n} body bytes`);
      return null;
    }
    return done(data.subarray(pos, pos + n), pos + n);
  }
  if (te !== undefined) {
    const parts: Buffer[] = [];
    for (;;) {
      const eol = data.indexOf('\r\n', pos);
      if (eol === -1) {
        if (data.indexOf('\n', pos) !== -1) throw new FramingError('bare LF in a chunk size line');
        if (ended) throw new FramingError('connection closed inside a chunked body');
        return null;
      }
      const sizeLine = data.toString('latin1', pos, eol);
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeLine)) throw new FramingError(`invalid chunk size line ${JSON.stringify(sizeLine)}`);
      const size = parseInt(sizeLine, 16);
      pos = eol + 2;
      if (size === 0) {
        // No trailers from a gateway: the last chunk is followed by CRLF.
        if (data.length < pos + 2) {
          if (ended) throw new FramingError('connection closed after the last chunk');
          return null;
        }
        if (data.toString('latin1', pos, pos + 2) !== '\r\n') throw new FramingError('trailer section after the last chunk');
        return done(Buffer.concat(parts), pos + 2);
      }
      if (data.length < pos + size + 2) {
        if (ended) throw new FramingError('connection closed inside a chunk');
        return null;
      }
      if (data.toString('latin1', pos + size, pos + size + 2) !== '\r\n') throw new FramingError('chunk data not followed by CRLF');
      parts.push(data.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
  // Close-delimited.
  if (!ended) return null;
  return done(data.subarray(pos), data.length);
}

/** A raw TCP connection to the proxy with strict reads. */
export class RawClient {
  readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  ended = false;
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return new RawClient(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(cond: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Bytes received and not consumed yet. */
  pending(): Buffer {
    return this.buf;
  }

  /** Read exactly one complete response (strictly framed); throws on timeout or bad framing. */
  async readResponse(ms = 5000, noBody = false): Promise<Response> {
    let result: { response: Response; used: number } | null = null;
    const ok = await this.until(() => {
      result = parseResponse(this.buf, this.ended, noBody);
      return result !== null;
    }, ms);
    if (!ok || result === null) {
      const got = this.buf.toString('latin1');
      throw new Error(`no complete response within ${ms} ms (connection ${this.ended ? 'closed' : 'open'}); received ${JSON.stringify(got.slice(0, 600))}`);
    }
    const r = result as unknown as { response: Response; used: number };
    this.buf = this.buf.subarray(r.used);
    return r.response;
  }

  /**
   * After a complete response: nothing more may arrive on this connection
   * within `ms` (anything that does is an unrequested response — poisoning).
   */
  async assertNoExtraBytes(ms = 200, what = 'connection'): Promise<void> {
    await this.until(() => this.buf.length > 0, ms);
    if (this.buf.length > 0) {
      throw new Error(`unrequested bytes on the ${what} after a complete response: ${JSON.stringify(this.buf.toString('latin1').slice(0, 600))}`);
    }
  }

  /** Wait for the peer to close; returns whether it did, and throws when bytes arrive meanwhile. */
  async expectClose(ms = 3000): Promise<void> {
    await this.until(() => this.ended || this.buf.length > 0, ms);
    if (this.buf.length > 0) {
      // Let the rest of a second response arrive, for the message.
      await ioTurns(20);
      throw new Error(`expected the connection to close, but more bytes came: ${JSON.stringify(this.buf.toString('latin1').slice(0, 600))}`);
    }
    if (!this.ended) throw new Error(`the connection was still open ${ms} ms after the response`);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ------------------------------------------------------------------ strict request reader (upstream side)

export interface SeenRequest {
  /** Index of the upstream TCP connection it arrived on. */
  conn: number;
  /** Position on that connection (0 = first). */
  seq: number;
  method: string;
  target: string;
  version: string;
  /** Lower-case name → values, in order. */
  fields: Map<string, string[]>;
  body: Buffer;
  /** How the body was framed. */
  framing: 'none' | 'content-length' | 'chunked';
  /** Set when the request was not strictly well-framed (the reader then stops reading the connection). */
  malformed: string | null;
  rawHead: string;
}

export function field(r: SeenRequest, name: string): string | undefined {
  const v = r.fields.get(name);
  return v === undefined ? undefined : v.join(', ');
}

const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/(1\.[01])$/;

/**
 * Parse one request at the start of `data` strictly (RFC 9112): null when
 * incomplete; a `malformed` request (and `used` = everything) when the bytes
 * cannot be one well-framed request.
 */
export function parseRequest(data: Buffer, conn: number, seq: number): { request: SeenRequest; used: number } | null {
  const end = data.indexOf('\r\n\r\n');
  const bad = (reason: string, head = data.toString('latin1', 0, Math.min(data.length, 2000))): { request: SeenRequest; used: number } => ({
    request: { conn, seq, method: '', target: '', version: '', fields: new Map(), body: Buffer.alloc(0), framing: 'none', malformed: reason, rawHead: head },
    used: data.length,
  });
  if (end === -1) {
    if (data.length > 64 * 1024) return bad('request head too large');
    return null;
  }
  const head = data.toString('latin1', 0, end);
  const lines = head.split('\r\n');
  if (/\r(?!\n)|(?<!\r)\n/.test(head)) return bad('bare CR or LF in the head', head);
  const m = REQUEST_LINE.exec(lines[0]!);
  if (m === null) return bad(`invalid request line ${JSON.stringify(lines[0])}`, head);
  const fields = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const f = FIELD_LINE.exec(line);
    if (f === null) return bad(`invalid field line ${JSON.stringify(line)}`, head);
    const name = f[1]!.toLowerCase();
    const list = fields.get(name) ?? [];
    list.push(f[2]!);
    fields.set(name, list);
  }
  const base = { conn, seq, method: m[1]!, target: m[2]!, version: m[3]!, fields, rawHead: head, malformed: null };
  const cl = fields.get('content-length');
  const te = fields.get('transfer-encoding');
  let pos = end + 4;
  if (cl !== undefined && te !== undefined) return bad(`both Content-Length ${JSON.stringify(cl)} and Transfer-Encoding ${JSON.stringify(te)}`, head);
  if (te !== undefined) {
    if (te.length !== 1 || te[0]!.toLowerCase() !== 'chunked') return bad(`Transfer-Encoding ${JSON.stringify(te)}`, head);
    if (m[3] !== '1.1') return bad('Transfer-Encoding in an HTTP/1.0 request', head);
    const parts: Buffer[] = [];
    for (;;) {
      const eol = data.indexOf('\r\n', pos);
      if (eol === -1) return null;
      const sizeLine = data.toString('latin1', pos, eol);
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeLine)) return bad(`chunk size line ${JSON.stringify(sizeLine)}`, head);
      const size = parseInt(sizeLine, 16);
      pos = eol + 2;
      if (size === 0) {
        if (data.length < pos + 2) return null;
        if (data.toString('latin1', pos, pos + 2) !== '\r\n') return bad('trailers after the last chunk', head);
        return { request: { ...base, body: Buffer.concat(parts), framing: 'chunked' }, used: pos + 2 };
      }
      if (data.length < pos + size + 2) return null;
      if (data.toString('latin1', pos + size, pos + size + 2) !== '\r\n') return bad('chunk data not followed by CRLF', head);
      parts.push(data.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
  if (cl !== undefined) {
    if (cl.length !== 1 || !/^\d{1,15}$/.test(cl[0]!)) return bad(`Content-Length ${JSON.stringify(cl)}`, head);
    const n = Number(cl[0]);
    if (data.length < pos + n) return null;
    return { request: { ...base, body: data.subarray(pos, pos + n), framing: 'content-length' }, used: pos + n };
  }
  return { request: { ...base, body: Buffer.alloc(0), framing: 'none' }, used: pos };
}

export interface RawServer {
  readonly port: number;
  /** Every request seen (malformed ones included), in arrival order. */
  readonly requests: SeenRequest[];
  /** Connections accepted. */
  connections(): number;
  close(): Promise<void>;
}

export type Answer =
  /** Write these bytes; keep reading the connection as HTTP. */
  | { write: string | Buffer; then?: 'keep' | 'close' | 'tunnel' };

/**
 * A raw upstream that reads requests strictly and lets `answer` decide the
 * bytes of each response. After `then: 'tunnel'`, every later byte on the
 * connection goes to `onTunnel` and is not parsed as HTTP. A malformed
 * request is recorded and answered 400 + close (so it is never silently lost).
 * `onLeftover`: bytes left unparsed when a connection closes.
 */
export async function startRawServer(
  answer: (req: SeenRequest, socket: Socket) => Answer,
  hooks: { onTunnel?: (conn: number, data: Buffer) => void; onLeftover?: (conn: number, data: Buffer) => void } = {},
): Promise<RawServer> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createNetServer((socket) => {
    const conn = count++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    let seq = 0;
    let mode: 'http' | 'tunnel' | 'closed' = 'http';
    socket.on('close', () => {
      sockets.delete(socket);
      if (mode === 'http' && buf.length > 0) hooks.onLeftover?.(conn, buf);
    });
    socket.on('data', (chunk: Buffer) => {
      if (mode === 'tunnel') {
        hooks.onTunnel?.(conn, chunk);
        return;
      }
      if (mode === 'closed') return;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        if (buf.length === 0) return;
        const parsed = parseRequest(buf, conn, seq);
        if (parsed === null) return;
        buf = buf.subarray(parsed.used);
        const req = parsed.request;
        seq++;
        requests.push(req);
        if (req.malformed !== null) {
          mode = 'closed';
          socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          return;
        }
        const a = answer(req, socket);
        socket.write(typeof a.write === 'string' ? Buffer.from(a.write, 'latin1') : a.write);
        if (a.then === 'close') {
          mode = 'closed';
          socket.end();
          return;
        }
        if (a.then === 'tunnel') {
          mode = 'tunnel';
          if (buf.length > 0) hooks.onTunnel?.(conn, buf);
          buf = Buffer.alloc(0);
          return;
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', r));
  return {
    port: (server.address() as { port: number }).port,
    requests,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A small 200 with a Content-Length body. */
export function ok(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/** Unique marker for one test's requests. */
let counter = 0;
export function mark(prefix = 't'): string {
  return `${prefix}${process.pid}x${++counter}`;
}
