/**
 * The downstream fast lane (src/core/downstream/fast-lane.ts) on real
 * loopback servers, driven by raw TCP clients that write exact bytes and read
 * exact bytes.
 *
 * The main check is differential: the same handler runs on a node:http server
 * with the fast lane attached and on a plain node:http server; identical raw
 * bytes go to both, and what comes back must be byte-identical (the Date
 * value and chunk boundaries aside, see oneChunk). A client must not be able
 * to tell which path answered it —
 * the fast lane for the plain bodyless HTTP/1.1 request, node:http (after a
 * hand-over with the bytes already read) for everything else. The handler
 * only uses the ProxyResponse subset the proxy uses (writeHead with
 * lower-case names, write, end, destroy).
 *
 * Then what only the fast lane's objects show: FastRequest's fields, the
 * response's 'close' and 'drain', half-close, closeIdle/closeAll, the idle
 * sweep, the header timeout, and writeHead's refusals.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import { once } from 'node:events';
import { ioTurns, waitFor } from '../../../helpers/wait.ts';
import { idleSweep, installClock } from '../../../../src/shared/clock.ts';
import { attachFastLane, sharedReadBuffer, type FastLane, type FastLaneOptions } from '../../../../src/core/downstream/fast-lane.ts';
import { FastRequest, FastResponse } from '../../../../src/core/downstream/fast-messages.ts';
import type { ProxyRequest, ProxyResponse } from '../../../../src/core/context.ts';

// ------------------------------------------------------------------ servers

const MAX_HEADER = 2048;
const KEEP_ALIVE_MS = 5000;
const HOST = 'gw.test';

type Kind = 'fast' | 'node';
type LaneOptions = Partial<Omit<FastLaneOptions, 'onRequest'>>;

/** Listen on 127.0.0.1:0; on teardown cut every connection (fast lane, node's, upgraded) and close. */
async function listen(t: TestContext, server: Server, lane: FastLane | null): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    lane?.closeAll();
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

interface LaneServer {
  server: Server;
  lane: FastLane;
  port: number;
}

/** A node:http server with the fast lane attached; `onNode` answers what is handed over. */
async function startLane(
  t: TestContext,
  onRequest: (req: FastRequest, res: FastResponse) => void,
  options: LaneOptions = {},
  onNode: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(500, { 'content-length': '0' });
    res.end();
  },
): Promise<LaneServer> {
  const server = createServer({ maxHeaderSize: MAX_HEADER, keepAliveTimeout: KEEP_ALIVE_MS });
  const lane = attachFastLane(server, { maxHeaderSize: MAX_HEADER, keepAliveMs: KEEP_ALIVE_MS, headersTimeoutMs: 60_000, ...options, onRequest });
  server.on('request', onNode);
  const port = await listen(t, server, lane);
  return { server, lane, port };
}

async function startPlain(t: TestContext, onRequest: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ maxHeaderSize: MAX_HEADER, keepAliveTimeout: KEEP_ALIVE_MS }, onRequest);
  const port = await listen(t, server, null);
  return { server, port };
}

// ------------------------------------------------------------------ raw client

interface Message {
  status: number;
  head: string;
  body: Buffer;
  /** The message's bytes as received. */
  raw: Buffer;
  chunked: boolean;
  /** A 1xx answer other than 101. */
  interim: boolean;
}

/**
 * The complete answers at the start of `data`, and what follows them.
 * `methods[i]` is the method of the request the i-th final answer is for:
 * HEAD answers have no body. A body without a length ends with the connection.
 * Stops at a 101 (what follows is the upgraded protocol).
 */
function parseMessages(data: Buffer, methods: readonly string[], ended: boolean): { messages: Message[]; rest: Buffer } {
  const messages: Message[] = [];
  let finals = 0;
  let pos = 0;
  while (pos < data.length) {
    const end = data.indexOf('\r\n\r\n', pos, 'latin1');
    if (end < 0) break;
    const head = data.toString('latin1', pos, end);
    const status = Number(head.slice(9, 12));
    let at = end + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      messages.push({ status, head, body: Buffer.alloc(0), raw: data.subarray(pos, at), chunked: false, interim: true });
      pos = at;
      continue;
    }
    const fields = head.toLowerCase();
    let body: Buffer;
    let chunked = false;
    if (status === 101 || methods[finals] === 'HEAD' || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(fields)) {
      chunked = true;
      const parts: Buffer[] = [];
      let done = false;
      for (;;) {
        const eol = data.indexOf('\r\n', at, 'latin1');
        if (eol < 0) break;
        const size = parseInt(data.toString('latin1', at, eol), 16);
        if (size === 0) {
          if (data.length >= eol + 4) {
            at = eol + 4;
            done = true;
          }
          break;
        }
        if (data.length < eol + 2 + size + 2) break;
        parts.push(data.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      if (!done) break;
      body = Buffer.concat(parts);
    } else {
      const cl = /\r\ncontent-length: *(\d+)/.exec(fields);
      if (cl !== null) {
        const n = Number(cl[1]);
        if (data.length < at + n) break;
        body = data.subarray(at, at + n);
        at += n;
      } else {
        if (!ended) break;
        body = data.subarray(at);
        at = data.length;
      }
    }
    messages.push({ status, head, body, raw: data.subarray(pos, at), chunked, interim: false });
    finals++;
    pos = at;
    if (status === 101) break;
  }
  return { messages, rest: data.subarray(pos) };
}

/** The complete final answers at the start of `data`. */
function parseAnswers(data: Buffer, methods: readonly string[], ended: boolean): Message[] {
  return parseMessages(data, methods, ended).messages.filter((m) => !m.interim);
}

/** A raw TCP client (half-open allowed, so it can send FIN and still read). */
class RawClient {
  readonly socket: Socket;
  readonly chunks: Buffer[];
  /** The server closed its side (or the connection is gone). */
  ended: boolean;

  constructor(socket: Socket) {
    this.socket = socket;
    this.chunks = [];
    this.ended = false;
    socket.on('data', (c: Buffer) => this.chunks.push(c));
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.ended = true;
    });
    socket.on('error', () => undefined);
  }

  static async open(t: TestContext | null, port: number): Promise<RawClient> {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.setNoDelay(true);
    const client = new RawClient(socket);
    t?.after(() => socket.destroy());
    await once(socket, 'connect');
    return client;
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return this.data.toString('latin1');
  }

  write(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  answers(methods: readonly string[]): Message[] {
    return parseAnswers(this.data, methods, this.ended);
  }

  /** Wait until `check()` holds; fail when the connection ends first or after `ms`. */
  async until(what: string, check: () => boolean, ms = 1500): Promise<void> {
    const received = (): string => `${what}; received ${JSON.stringify(this.text.slice(0, 600))}`;
    await waitFor(received, () => check() || this.ended, ms);
    if (check()) return;
    await ioTurns(); // the last bytes may come with the close
    if (!check()) assert.fail(`connection closed while waiting for ${received()}`);
  }

  untilClosed(ms = 1500): Promise<void> {
    return this.until('the server to close the connection', () => this.ended, ms);
  }

  untilAnswers(methods: readonly string[], n = methods.length, ms = 1500): Promise<void> {
    return this.until(`${n} answer(s)`, () => this.answers(methods).length >= n, ms);
  }
}

/** Date values differ between runs; node's and the fast lane's own `Date:` line is what is normalised. */
function normalise(text: string): string {
  return text.replace(/\r\nDate: [^\r\n]*/g, '\r\nDate: <now>');
}

/**
 * `text` with each complete chunked body in one chunk. Chunk boundaries carry
 * no meaning (RFC 9112 §7.1), and node:http merges the chunks written in one
 * tick (it corks the socket until the next tick) where the fast lane sends
 * one chunk per write(); the differential compares everything else byte for byte.
 */
function oneChunk(text: string, methods: readonly string[]): string {
  const { messages, rest } = parseMessages(Buffer.from(text, 'latin1'), methods, true);
  let out = '';
  for (const m of messages) {
    if (!m.chunked) out += m.raw.toString('latin1');
    else {
      const body = m.body.toString('latin1');
      out += m.head + '\r\n\r\n' + (body.length > 0 ? `${body.length.toString(16)}\r\n${body}\r\n` : '') + '0\r\n\r\n';
    }
  }
  return out + rest.toString('latin1');
}

function request(method: string, target: string, fields: string[] = [], body = ''): string {
  return `${method} ${target} HTTP/1.1\r\nHost: ${HOST}\r\n${fields.map((f) => f + '\r\n').join('')}\r\n${body}`;
}

const get = (target: string, ...fields: string[]): string => request('GET', target, fields);

// ------------------------------------------------------------------ the handler

const FIXED_DATE = 'Thu, 01 Jan 1970 00:00:00 GMT';

/** Reads the body (empty on the fast lane), then answers what it saw. */
async function echo(req: ProxyRequest, res: ProxyResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = `${req.method} ${req.url} HTTP/${req.httpVersion} body=${Buffer.concat(chunks).toString('latin1')}`;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** One behaviour per path; only the ProxyResponse subset is used. */
function behave(req: ProxyRequest, res: ProxyResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  switch (path) {
    case '/length':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end('hello');
      return;
    case '/chunked':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('ab');
      res.write(Buffer.from('cde'));
      res.write('');
      res.end();
      return;
    case '/chunked-end':
      res.writeHead(200, {});
      res.write('ab');
      res.end('cd');
      return;
    case '/chunked-later':
      res.writeHead(200, { 'x-step': 'later' });
      res.write('first;');
      setTimeout(() => {
        res.write('second;');
        res.end();
      }, 15);
      return;
    case '/empty':
      res.writeHead(200, { 'x-empty': '' });
      res.end();
      return;
    case '/empty-length':
      res.writeHead(200, { 'content-length': '0' });
      res.end();
      return;
    case '/204':
      res.writeHead(204, { 'x-why': 'no content' });
      res.end();
      return;
    case '/304':
      res.writeHead(304, { etag: '"v1"' });
      res.end('ignored');
      return;
    case '/close':
      res.writeHead(200, { 'content-length': '3', connection: 'close' });
      res.end('bye');
      return;
    case '/multi':
      res.writeHead(200, { 'set-cookie': ['a=1; Path=/', 'b=2'], 'x-multi': ['one', 'two', 'three'], vary: 'accept, origin', 'content-length': '0' });
      res.end();
      return;
    case '/date':
      res.writeHead(200, { date: FIXED_DATE, 'content-length': '2' });
      res.end('ok');
      return;
    case '/status/418':
      res.writeHead(418, { 'content-length': '0' });
      res.end();
      return;
    case '/status/599':
      res.writeHead(599, { 'content-length': '0' });
      res.end();
      return;
    case '/te':
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.write('abc');
      res.end();
      return;
    case '/head-write':
      res.writeHead(200, {});
      res.write('abc');
      res.end('def');
      return;
    case '/invalid': {
      let refused = 0;
      const refusedHeaders: Array<Record<string, string | string[]>> = [{ 'bad name': 'x' }, { 'x-a': 'a\r\nb' }, { 'x-list': ['ok', 'b\nad'] }, { 'x-nul': 'a\x00' }, { 'x\u00e9': 'v' }];
      for (const headers of refusedHeaders) {
        try {
          // The same status as the answer below: node keeps the reason phrase of a refused writeHead ("502 OK" after a refused 200).
          res.writeHead(502, headers);
        } catch (err) {
          if (err instanceof TypeError) refused++;
        }
      }
      const body = `${refused} refused, headersSent=${res.headersSent}`;
      res.writeHead(502, { 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    case '/destroy':
      res.destroy();
      return;
    case '/destroy-mid':
      res.writeHead(200, {});
      res.write('partial');
      setTimeout(() => res.destroy(), 20);
      return;
    case '/later':
      setTimeout(() => answer(req, res), 20);
      return;
    case '/implicit-end':
      res.end('implicit');
      return;
    case '/implicit-status':
      res.statusCode = 404;
      res.end();
      return;
    case '/sentinel':
      res.writeHead(200, { 'content-length': '8' });
      res.end('sentinel');
      return;
    default:
      answer(req, res);
  }
}

/** echo(), cut when the request is aborted (node:http rejects the body iterator then). */
function answer(req: ProxyRequest, res: ProxyResponse): void {
  echo(req, res).catch(() => res.destroy());
}

// ------------------------------------------------------------------ the differential harness

interface Side {
  port: number;
  /** What the server saw: `METHOD url` per request reaching the handler, `upgrade url`, `clientError CODE`. */
  events: string[];
  /** Per request reaching the handler: served by the fast lane or by node:http. */
  served: Kind[];
}

interface Pair {
  plain: Side;
  lane: Side;
}

/** The same handler on a fast-lane server and on a plain node:http server. */
async function startPair(t: TestContext, withClientError: boolean): Promise<Pair> {
  const make = (): Side => ({ port: 0, events: [], served: [] });
  const plain = make();
  const lane = make();
  const seen = (side: Side, kind: Kind, req: ProxyRequest): void => {
    if (req.url === '/sentinel') return;
    side.events.push(`${req.method} ${req.url}`);
    side.served.push(kind);
  };
  const instrument = (server: Server, side: Side): void => {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      seen(side, 'node', req);
      behave(req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      side.events.push(`upgrade ${req.url}`);
      socket.end('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nhead=' + head.toString('latin1'));
    });
    if (withClientError) {
      server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
        side.events.push(`clientError ${err.code}`);
        if (err.code === 'ECONNRESET' || !socket.writable) {
          socket.destroy();
          return;
        }
        const body = `bad request: ${err.code}`;
        socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
      });
    }
  };
  const plainServer = createServer({ maxHeaderSize: MAX_HEADER, keepAliveTimeout: KEEP_ALIVE_MS });
  instrument(plainServer, plain);
  plain.port = await listen(t, plainServer, null);

  const laneServer = createServer({ maxHeaderSize: MAX_HEADER, keepAliveTimeout: KEEP_ALIVE_MS });
  const fastLane = attachFastLane(laneServer, {
    maxHeaderSize: MAX_HEADER,
    keepAliveMs: KEEP_ALIVE_MS,
    headersTimeoutMs: 60_000,
    onRequest: (req, res) => {
      seen(lane, 'fast', req);
      behave(req, res);
    },
  });
  instrument(laneServer, lane);
  lane.port = await listen(t, laneServer, fastLane);
  return { plain, lane };
}

type Step = string | Buffer | { pause: number } | { until: string } | { answers: number } | { fin: true };

interface Case {
  name: string;
  steps: Step[];
  /** The method of each request answered, in order (HEAD answers have no body). */
  answers: string[];
  /** The final statuses node gives (checks the case itself). */
  statuses: number[];
  /** The server closes the connection after these answers; otherwise one more request on it is answered too. */
  close?: boolean;
  /** How the fast-lane server served each request reaching the handler. */
  served: Kind[];
  /** Extra checks on the (identical) answer text. */
  check?: (text: string) => void;
  todo?: string;
  /** How long to wait for each expected event. */
  waitMs?: number;
}

const SENTINEL = `GET /sentinel HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`;

/** Run the case's steps on a new connection; the normalised bytes received until the server closed. */
async function exchange(port: number, c: Case): Promise<string> {
  const client = await RawClient.open(null, port);
  const ms = c.waitMs ?? 1500;
  try {
    for (const step of c.steps) {
      if (typeof step === 'string' || Buffer.isBuffer(step)) client.write(step);
      else if ('pause' in step) await ioTurns(step.pause + 2); // the server reads what came so far on its own
      else if ('until' in step) await client.until(JSON.stringify(step.until), () => client.text.includes(step.until), ms);
      else if ('answers' in step) await client.untilAnswers(c.answers, step.answers, ms);
      else client.socket.end();
    }
    await client.untilAnswers(c.answers, c.answers.length, ms);
    if (!c.close) {
      // The connection must still be usable: one more request, which closes it.
      client.write(SENTINEL);
    }
    await client.untilClosed(ms);
    return normalise(client.text);
  } finally {
    client.socket.destroy();
  }
}

async function differential(pair: Pair, c: Case): Promise<void> {
  for (const side of [pair.plain, pair.lane]) {
    side.events.length = 0;
    side.served.length = 0;
  }
  const plain = await exchange(pair.plain.port, c);
  const statuses = parseAnswers(Buffer.from(plain, 'latin1'), [...c.answers, 'GET'], true).map((a) => a.status);
  assert.deepEqual(statuses, c.close ? c.statuses : [...c.statuses, 200], `node's answers (the case itself): ${JSON.stringify(plain)}`);
  const fast = await exchange(pair.lane.port, c);
  const methods = [...c.answers, 'GET'];
  assert.equal(oneChunk(fast, methods), oneChunk(plain, methods), 'the fast-lane server answers byte for byte as node:http (chunk boundaries aside)');
  assert.deepEqual(pair.lane.events, pair.plain.events, 'the handler, upgrade and clientError listeners saw the same');
  assert.deepEqual(pair.lane.served, c.served, 'which path served each request');
  c.check?.(fast);
}

async function runCases(t: TestContext, withClientError: boolean, cases: readonly Case[]): Promise<void> {
  const pair = await startPair(t, withClientError);
  for (const c of cases) {
    await t.test(c.name, c.todo === undefined ? {} : { todo: c.todo }, () => differential(pair, c));
  }
}

function count(text: string, re: RegExp): number {
  return text.match(re)?.length ?? 0;
}

// ------------------------------------------------------------------ differential: requests the fast lane serves

const FAST_CASES: Case[] = [
  { name: 'a plain GET, answered by the default handler', steps: [get('/?q=1&r=%20')], answers: ['GET'], statuses: [200], served: ['fast'] },
  { name: 'writeHead with content-length, then end(body)', steps: [get('/length')], answers: ['GET'], statuses: [200], served: ['fast'] },
  {
    name: 'writeHead without content-length, write() chunks, end(): chunked framing',
    steps: [get('/chunked')],
    answers: ['GET'],
    statuses: [200],
    served: ['fast'],
    // The fast lane sends one chunk per write() (node merges those of one tick; see oneChunk).
    check: (text) => assert.match(text, /\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n/),
  },
  { name: 'chunked: write() then end(body)', steps: [get('/chunked-end')], answers: ['GET'], statuses: [200], served: ['fast'] },
  { name: 'chunked: body written over time', steps: [get('/chunked-later')], answers: ['GET'], statuses: [200], served: ['fast'] },
  { name: 'end() without a body after writeHead without length: an empty chunked body', steps: [get('/empty')], answers: ['GET'], statuses: [200], served: ['fast'] },
  { name: 'end() without a body after content-length: 0', steps: [get('/empty-length')], answers: ['GET'], statuses: [200], served: ['fast'] },
  {
    name: '204: no body and no Transfer-Encoding',
    steps: [get('/204')],
    answers: ['GET'],
    statuses: [204],
    served: ['fast'],
    check: (text) => assert.doesNotMatch(text.split('\r\n\r\n')[0]!, /transfer-encoding/i),
  },
  {
    name: '304: no body (even when the handler ends with one) and no Transfer-Encoding',
    steps: [get('/304')],
    answers: ['GET'],
    statuses: [304],
    served: ['fast'],
    check: (text) => {
      assert.doesNotMatch(text, /ignored/);
      assert.doesNotMatch(text.split('\r\n\r\n')[0]!, /transfer-encoding/i);
    },
  },
  {
    name: 'a connection: close header set by the handler closes the connection after the answer',
    steps: [get('/close')],
    answers: ['GET'],
    statuses: [200],
    close: true,
    served: ['fast'],
  },
  {
    name: 'multi-value headers: one line per value',
    steps: [get('/multi')],
    answers: ['GET'],
    statuses: [200],
    served: ['fast'],
    check: (text) => assert.match(text, /\r\nset-cookie: a=1; Path=\/\r\nset-cookie: b=2\r\nx-multi: one\r\nx-multi: two\r\nx-multi: three\r\n/),
  },
  {
    name: 'a date header set by the handler: no second Date',
    steps: [get('/date')],
    answers: ['GET'],
    statuses: [200],
    served: ['fast'],
    check: (text) => assert.equal(count(text.split('\r\n\r\n')[0]!, /\r\ndate:/gi), 1),
  },
  { name: 'a status with a reason phrase (418) and one without (599)', steps: [get('/status/418'), { answers: 1 }, get('/status/599')], answers: ['GET', 'GET'], statuses: [418, 599], served: ['fast', 'fast'] },
  {
    name: 'writeHead with an invalid name or value throws, nothing is sent, and a valid writeHead still answers',
    steps: [get('/invalid')],
    answers: ['GET'],
    statuses: [502],
    served: ['fast'],
    check: (text) => assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*?\r\n\r\n5 refused, headersSent=falseHTTP\//),
  },
  { name: 'destroy() before answering: the connection closes with nothing sent', steps: [get('/destroy')], answers: [], statuses: [], close: true, served: ['fast'] },
  { name: 'destroy() in the middle of a chunked body', steps: [get('/destroy-mid')], answers: [], statuses: [], close: true, served: ['fast'] },
  { name: 'HEAD with content-length: no body', steps: [request('HEAD', '/length')], answers: ['HEAD'], statuses: [200], served: ['fast'] },
  { name: 'HEAD where the handler writes chunks: no body, no Transfer-Encoding', steps: [request('HEAD', '/head-write')], answers: ['HEAD'], statuses: [200], served: ['fast'] },
  { name: 'HEAD answered by the default handler', steps: [request('HEAD', '/')], answers: ['HEAD'], statuses: [200], served: ['fast'] },
  { name: 'HEAD with a chunked answer', steps: [request('HEAD', '/chunked')], answers: ['HEAD'], statuses: [200], served: ['fast'] },
  {
    name: 'the client sends Connection: close: the answer says so and the connection closes',
    steps: [get('/length', 'Connection: close')],
    answers: ['GET'],
    statuses: [200],
    close: true,
    served: ['fast'],
    check: (text) => assert.match(text, /\r\nConnection: close\r\n/),
  },
  { name: 'Connection: close with a chunked answer', steps: [get('/chunked', 'Connection: close')], answers: ['GET'], statuses: [200], close: true, served: ['fast'] },
  { name: 'Connection: close with a delayed answer', steps: [get('/later', 'connection: keep-alive, CLOSE')], answers: ['GET'], statuses: [200], close: true, served: ['fast'] },
  { name: 'Connection: keep-alive sent by the client', steps: [get('/', 'Connection: keep-alive')], answers: ['GET'], statuses: [200], served: ['fast'] },
  { name: 'POST and DELETE without a body (Content-Length: 0 or none)', steps: [request('POST', '/p', ['Content-Length: 0']), { answers: 1 }, request('DELETE', '/d')], answers: ['POST', 'DELETE'], statuses: [200, 200], served: ['fast', 'fast'] },
  {
    name: 'pipelined requests in one write are answered in order',
    steps: [get('/later') + request('HEAD', '/length') + get('/chunked') + get('/a?1') + request('OPTIONS', '/o')],
    answers: ['GET', 'HEAD', 'GET', 'GET', 'OPTIONS'],
    statuses: [200, 200, 200, 200, 200],
    served: ['fast', 'fast', 'fast', 'fast', 'fast'],
  },
  {
    name: 'pipelined requests larger in all than maxHeaderSize, behind a slow answer, all answered in order',
    steps: [get('/later') + Array.from({ length: 40 }, (_, i) => get(`/p/${i}`, `X-Pad: ${'p'.repeat(40)}`)).join('')],
    answers: Array.from({ length: 41 }, () => 'GET'),
    statuses: Array.from({ length: 41 }, () => 200),
    served: Array.from({ length: 41 }, (): Kind => 'fast'),
  },
  {
    name: 'a request head arriving byte by byte',
    steps: [...get('/split?x=1', 'Accept: */*')].flatMap((ch): Step[] => [ch, { pause: 1 }]),
    answers: ['GET'],
    statuses: [200],
    served: ['fast'],
  },
  {
    name: 'a head split between the CR and LF of its last line, then a second request split in its request line',
    steps: [get('/s1').slice(0, -1), { pause: 10 }, '\n' + get('/s2').slice(0, 5), { pause: 10 }, get('/s2').slice(5)],
    answers: ['GET', 'GET'],
    statuses: [200, 200],
    served: ['fast', 'fast'],
  },
  {
    name: 'keep-alive: several requests one after the other on one connection',
    steps: [get('/k1'), { answers: 1 }, request('HEAD', '/k2'), { answers: 2 }, get('/chunked'), { answers: 3 }, get('/k4')],
    answers: ['GET', 'HEAD', 'GET', 'GET'],
    statuses: [200, 200, 200, 200],
    served: ['fast', 'fast', 'fast', 'fast'],
  },
  {
    name: 'a request followed at once by FIN: an answer written at once still arrives, then the connection closes',
    steps: [get('/length'), { fin: true }],
    answers: ['GET'],
    statuses: [200],
    close: true,
    served: ['fast'],
  },
  {
    name: 'a request followed at once by FIN: a later answer is abandoned (httpAllowHalfOpen off)',
    steps: [get('/later'), { fin: true }],
    answers: [],
    statuses: [],
    close: true,
    served: ['fast'],
  },
  {
    name: 'a request pipelined after Connection: close is not answered',
    steps: [get('/length', 'Connection: close') + get('/never')],
    answers: ['GET'],
    statuses: [200],
    close: true,
    served: ['fast'],
  },
];

test('differential: requests the fast lane serves are answered byte for byte as node:http answers them', async (t) => {
  await runCases(t, false, FAST_CASES);
});

// ------------------------------------------------------------------ differential: requests handed over to node:http

const pad = (total: number): string => {
  // A GET whose head (with its CRLFCRLF) is `total` bytes long.
  const base = get('/pad', 'X-Pad: ');
  return get('/pad', 'X-Pad: ' + 'x'.repeat(total - base.length));
};

const HANDOVER_CASES: Case[] = [
  { name: 'POST with a Content-Length body', steps: [request('POST', '/post', ['Content-Length: 5'], 'hello')], answers: ['POST'], statuses: [200], served: ['node'] },
  {
    name: 'POST with a body, then a GET on the same connection (node keeps the connection)',
    steps: [request('POST', '/post', ['Content-Length: 5'], 'hello') + get('/after')],
    answers: ['POST', 'GET'],
    statuses: [200, 200],
    served: ['node', 'node'],
  },
  {
    name: 'a GET served by the fast lane, then a pipelined POST handed over with its body',
    steps: [get('/first') + request('POST', '/post', ['Content-Length: 11'], 'hello world')],
    answers: ['GET', 'POST'],
    statuses: [200, 200],
    served: ['fast', 'node'],
  },
  {
    name: 'GET, later a POST, later a GET: node keeps the connection after the hand-over',
    steps: [get('/g1'), { answers: 1 }, request('PUT', '/put', ['Content-Length: 3'], 'abc'), { answers: 2 }, get('/g2')],
    answers: ['GET', 'PUT', 'GET'],
    statuses: [200, 200, 200],
    served: ['fast', 'node', 'node'],
  },
  {
    name: 'a POST whose body arrives after its head',
    steps: [request('POST', '/post', ['Content-Length: 6']), { pause: 20 }, 'ab', { pause: 10 }, 'cdef'],
    answers: ['POST'],
    statuses: [200],
    served: ['node'],
  },
  {
    name: 'a chunked POST',
    steps: [request('POST', '/chunked-post', ['Transfer-Encoding: chunked'], '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')],
    answers: ['POST'],
    statuses: [200],
    served: ['node'],
  },
  { name: 'HTTP/1.0: node answers and closes', steps: [`GET /old HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`], answers: ['GET'], statuses: [200], close: true, served: ['node'] },
  { name: 'HTTP/1.0 with a chunked-style handler: a body delimited by the close', steps: [`GET /chunked HTTP/1.0\r\n\r\n`], answers: ['GET'], statuses: [200], close: true, served: ['node'] },
  {
    name: 'HTTP/1.0 with Connection: keep-alive',
    steps: [`GET /old HTTP/1.0\r\nHost: ${HOST}\r\nConnection: keep-alive\r\n\r\n`],
    answers: ['GET'],
    statuses: [200],
    served: ['node'],
  },
  {
    name: 'Expect: 100-continue: node sends 100 Continue, then reads the body',
    steps: [request('POST', '/expect', ['Content-Length: 5', 'Expect: 100-continue']), { until: 'HTTP/1.1 100 Continue\r\n\r\n' }, 'hello'],
    answers: ['POST'],
    statuses: [200],
    served: ['node'],
  },
  {
    name: 'Upgrade: websocket reaches the server\'s upgrade listener, with the bytes sent after the head',
    steps: [get('/ws', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13') + 'early-bytes'],
    answers: ['GET'],
    statuses: [101],
    close: true,
    served: [],
    check: (text) => assert.match(text, /head=early-bytes$/),
  },
  {
    name: 'Upgrade after a request served by the fast lane on the same connection',
    steps: [get('/first'), { answers: 1 }, get('/ws2', 'Connection: Upgrade', 'Upgrade: websocket')],
    answers: ['GET', 'GET'],
    statuses: [200, 101],
    close: true,
    served: ['fast'],
  },
  { name: 'a head larger than maxHeaderSize: node answers 431', steps: [get('/', `X-Big: ${'b'.repeat(3000)}`)], answers: ['GET'], statuses: [431], close: true, served: [] },
  {
    name: 'a head larger than maxHeaderSize arriving in pieces: node answers 431',
    steps: [get('/', `X-Big: ${'b'.repeat(3000)}`).slice(0, 2500), { pause: 20 }, get('/', `X-Big: ${'b'.repeat(3000)}`).slice(2500)],
    answers: ['GET'],
    statuses: [431],
    close: true,
    served: [],
  },
  { name: 'a head just under maxHeaderSize is served by the fast lane', steps: [pad(MAX_HEADER)], answers: ['GET'], statuses: [200], served: ['fast'] },
  { name: 'a head just over maxHeaderSize that node still accepts is served by node', steps: [pad(MAX_HEADER + 20)], answers: ['GET'], statuses: [200], served: ['node'] },
  { name: 'duplicate Host', steps: [get('/', 'Host: other.test')], answers: ['GET'], statuses: [200], served: ['node'] },
  { name: 'a repeated Authorization (node keeps the first)', steps: [get('/', 'Authorization: a', 'Authorization: b')], answers: ['GET'], statuses: [200], served: ['node'] },
  { name: 'an absolute-form target', steps: [`GET http://${HOST}/abs?x=1 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], answers: ['GET'], statuses: [200], served: ['node'] },
  { name: 'an asterisk-form OPTIONS', steps: [`OPTIONS * HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], answers: ['OPTIONS'], statuses: [200], served: ['node'] },
  { name: 'a method the fast lane does not know (PROPFIND)', steps: [request('PROPFIND', '/dav')], answers: ['PROPFIND'], statuses: [200], served: ['node'] },
];

test('differential: requests handed over to node:http are answered as node answers them, on the same connection', async (t) => {
  await runCases(t, false, HANDOVER_CASES);
});

// ------------------------------------------------------------------ differential: malformed requests

const MALFORMED: Case[] = [
  { name: 'a malformed request line', steps: [`GET / HTTP/1.1 junk\r\nHost: ${HOST}\r\n\r\n`], answers: ['GET'], statuses: [400], close: true, served: [] },
  { name: 'an unknown method', steps: [request('HELLO', '/')], answers: ['GET'], statuses: [400], close: true, served: [] },
  { name: 'a lower-case method', steps: [request('get', '/')], answers: ['GET'], statuses: [400], close: true, served: [] },
  { name: 'an obs-fold header line', steps: [get('/', 'X-Folded: a', ' b')], answers: ['GET'], statuses: [400], close: true, served: [] },
  { name: 'a space before the colon', steps: [get('/', 'X-Bad : a')], answers: ['GET'], statuses: [400], close: true, served: [] },
  { name: 'a non-ASCII byte in the target', steps: [get('/caf\xe9')], answers: ['GET'], statuses: [400], close: true, served: [] },
  // Not a parse error: node answers this one itself, without clientError.
  { name: 'HTTP/1.1 without Host', steps: ['GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'], answers: ['GET'], statuses: [400], close: true, served: [] },
  { name: 'Content-Length with Transfer-Encoding', steps: [request('POST', '/', ['Content-Length: 3', 'Transfer-Encoding: chunked'], '0\r\n\r\n')], answers: ['POST'], statuses: [400], close: true, served: [] },
  { name: 'a NUL in a header value', steps: [get('/', 'X-Nul: a\x00b')], answers: ['GET'], statuses: [400], close: true, served: [] },
  { name: 'a head larger than maxHeaderSize', steps: [get('/', `X-Big: ${'b'.repeat(3000)}`)], answers: ['GET'], statuses: [0], close: true, served: [] },
  {
    name: 'a GET served by the fast lane, then a malformed request on the same connection',
    steps: [get('/first'), { answers: 1 }, get('/', 'X-Bad : a')],
    answers: ['GET', 'GET'],
    statuses: [200, 400],
    close: true,
    served: ['fast'],
  },
];

/** node's answer to an oversized head is 431 without a clientError listener, the listener's answer (400) with one. */
const malformed = (withListener: boolean): Case[] =>
  MALFORMED.map((c) => ({ ...c, statuses: c.statuses.map((s) => (s === 0 ? (withListener ? 400 : 431) : s)) }));

test('differential: malformed requests get node\'s own answer (no clientError listener)', async (t) => {
  await runCases(t, false, malformed(false));
});

test('differential: malformed requests reach the server\'s clientError listener, which answers them', async (t) => {
  const cases = malformed(true).map((c) => ({
    ...c,
    check: (text: string) => {
      c.check?.(text);
      if (c.name !== 'HTTP/1.1 without Host') assert.match(text, /bad request: HPE_[A-Z_]+$/);
    },
  }));
  await runCases(t, true, cases);
});

test('differential: a request with bare LF line ends gets node\'s 400 at once', async (t) => {
  const pair = await startPair(t, false);
  await differential(pair, { name: 'bare LF', steps: [`GET / HTTP/1.1\nHost: ${HOST}\n\n`], answers: ['GET'], statuses: [400], close: true, served: [], waitMs: 600 });
});

test('differential: a garbage request line is answered at once, before any blank line', async (t) => {
  const pair = await startPair(t, true);
  await differential(pair, { name: 'garbage', steps: ['HELLO THERE\r\n'], answers: ['GET'], statuses: [400], close: true, served: [], waitMs: 600 });
});

test(
  'differential: end() without writeHead frames the answer as node does (Content-Length of the body)',
  async (t) => {
    const pair = await startPair(t, false);
    await differential(pair, { name: 'implicit head', steps: [get('/implicit-end'), { answers: 1 }, get('/implicit-status')], answers: ['GET', 'GET'], statuses: [200, 404], served: ['fast', 'fast'] });
  },
);

test('differential: a client that half-closes in the middle of a head gets node\'s 400', async (t) => {
  const pair = await startPair(t, false);
  await differential(pair, { name: 'partial head + FIN', steps: [`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`, { pause: 10 }, { fin: true }], answers: ['GET'], statuses: [400], close: true, served: [] });
});

test('differential: half-closing in the middle of a head reaches the clientError listener', async (t) => {
  const pair = await startPair(t, true);
  await differential(pair, { name: 'partial head + FIN', steps: [`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`, { pause: 10 }, { fin: true }], answers: ['GET'], statuses: [400], close: true, served: [] });
});

// ------------------------------------------------------------------ FastRequest

test('a FastRequest carries the method, target, HTTP/1.1, the connection\'s socket, and a complete, empty body', async (t) => {
  const seen: Array<{ req: FastRequest; body: Buffer[]; again: Buffer[] }> = [];
  const { port } = await startLane(t, (req, res) => {
    void (async () => {
      const body: Buffer[] = [];
      for await (const chunk of req) body.push(chunk);
      const again: Buffer[] = [];
      for await (const chunk of req) again.push(chunk);
      seen.push({ req, body, again });
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    })();
  });
  const client = await RawClient.open(t, port);
  client.write(request('DELETE', '/items/7?x=1', ['Accept: */*', 'Content-Length: 0']));
  await client.untilAnswers(['DELETE']);
  assert.equal(seen.length, 1);
  const { req, body, again } = seen[0]!;
  assert.ok(req instanceof FastRequest);
  assert.equal(req.method, 'DELETE');
  assert.equal(req.url, '/items/7?x=1');
  assert.equal(req.httpVersion, '1.1');
  assert.equal(req.complete, true);
  assert.equal(req.readableLength, 0);
  assert.equal(req.readableDidRead, false);
  assert.equal(req.isPaused(), false);
  assert.deepEqual(req.headers, { host: HOST, accept: '*/*', 'content-length': '0' });
  assert.deepEqual(req.rawHeaders, ['Host', HOST, 'Accept', '*/*', 'Content-Length', '0']);
  assert.equal(req.socket.remoteAddress, '127.0.0.1');
  assert.equal(req.socket.remotePort, client.socket.localPort);
  assert.deepEqual(body, []);
  assert.deepEqual(again, []);
});

test('req.headers and req.rawHeaders of a FastRequest are those of node:http\'s IncomingMessage for the same bytes', async (t) => {
  type View = { headers: unknown; rawHeaders: string[] };
  const fast: View[] = [];
  const plain: View[] = [];
  const ok = (res: ProxyResponse): void => {
    res.writeHead(204, {});
    res.end();
  };
  const lane = await startLane(t, (req, res) => {
    fast.push({ headers: req.headers, rawHeaders: req.rawHeaders });
    ok(res);
  });
  const node = await startPlain(t, (req, res) => {
    plain.push({ headers: req.headers, rawHeaders: req.rawHeaders });
    ok(res);
  });
  const heads = [
    get('/', 'Set-Cookie: a=1', 'set-cookie: b=2'),
    get('/', 'Cookie: a=1', 'COOKIE: b=2', 'cookie: c=3'),
    get('/', 'X-Forwarded-For: 10.0.0.1', 'x-forwarded-for: 10.0.0.2', 'Accept: text/html', 'ACCEPT: */*', 'Accept-Encoding: gzip', 'accept-encoding: br'),
    get('/', 'X-Spaces:   a  b   ', 'X-Tabs:\t\tc\t', 'X-Empty:', 'X-MiXeD: v'),
    get('/', 'X-Latin1: caf\xe9', 'User-Agent: ua/1.0', 'Authorization: Bearer abc.def', 'Content-Type: text/plain'),
    get('/', 'Connection: keep-alive', 'Connection: te', 'Via: 1.1 a', 'via: 1.1 b'),
  ];
  for (const text of heads) {
    for (const port of [lane.port, node.port]) {
      const client = await RawClient.open(t, port);
      client.write(text);
      await client.untilAnswers(['GET']);
      client.socket.destroy();
    }
  }
  assert.equal(fast.length, heads.length, 'every head served by the fast lane');
  for (let i = 0; i < heads.length; i++) {
    assert.deepStrictEqual(fast[i]!.headers, plain[i]!.headers, JSON.stringify(heads[i]));
    assert.deepStrictEqual(fast[i]!.rawHeaders, plain[i]!.rawHeaders, JSON.stringify(heads[i]));
  }
});

// ------------------------------------------------------------------ the response's 'close' and 'drain'

interface CloseRecord {
  closes: number;
  finishedAtClose: boolean | null;
  destroyedAtClose: boolean | null;
}

function watchClose(res: ProxyResponse): CloseRecord {
  const rec: CloseRecord = { closes: 0, finishedAtClose: null, destroyedAtClose: null };
  res.on('close', () => {
    rec.closes++;
    rec.finishedAtClose = res.writableFinished;
    rec.destroyedAtClose = res.destroyed;
  });
  return rec;
}

async function until(what: string, check: () => boolean, ms = 1500): Promise<void> {
  await waitFor(what, check, ms);
}

test('\'close\' fires once per response, after it finished (writableFinished true), on a kept-alive connection', async (t) => {
  const records: CloseRecord[] = [];
  const { port } = await startLane(t, (req, res) => {
    records.push(watchClose(res));
    behave(req, res);
  });
  const client = await RawClient.open(t, port);
  const methods = ['GET', 'GET', 'HEAD', 'GET'];
  client.write(get('/length'));
  await client.untilAnswers(methods, 1);
  client.write(get('/chunked-later'));
  await client.untilAnswers(methods, 2);
  client.write(request('HEAD', '/chunked') + get('/', 'Connection: close'));
  await client.untilAnswers(methods, 4);
  await client.untilClosed();
  await ioTurns();
  assert.deepEqual(records, Array.from({ length: 4 }, () => ({ closes: 1, finishedAtClose: true, destroyedAtClose: false })));
});

test('a client that disconnects in the middle of a response: \'close\' once, writableFinished false, later writes are dropped (as node:http)', async (t) => {
  const held: Array<{ res: ProxyResponse; rec: CloseRecord }> = [];
  const handler = (_req: ProxyRequest, res: ProxyResponse): void => {
    held.push({ res, rec: watchClose(res) });
    res.writeHead(200, {});
    res.write('first');
  };
  const lane = await startLane(t, handler);
  const node = await startPlain(t, handler);
  for (const port of [lane.port, node.port]) {
    const client = await RawClient.open(t, port);
    client.write(get('/'));
    await client.until('the first chunk', () => client.text.includes('first'));
    client.socket.destroy();
    const { rec } = held.at(-1)!;
    await until('\'close\' on the response', () => rec.closes > 0);
    assert.deepEqual(rec, { closes: 1, finishedAtClose: false, destroyedAtClose: true }, port === lane.port ? 'fast lane' : 'node');
  }
  const { res, rec } = held[0]!;
  assert.ok(res instanceof FastResponse);
  assert.equal(res.write('more'), false);
  res.end('last');
  res.end();
  await ioTurns();
  assert.equal(rec.closes, 1);
  assert.equal(res.writableFinished, false);
});

test('backpressure: write() to a client that does not read returns false; \'drain\' comes once the client reads', async (t) => {
  const chunk = Buffer.alloc(256 * 1024, 120);
  const CHUNKS = 128; // 32 MiB: more than loopback socket buffers hold
  const state = { firstFalse: -1, drained: false, ended: false };
  const { port } = await startLane(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length * CHUNKS) });
    for (let i = 0; i < CHUNKS; i++) if (!res.write(chunk) && state.firstFalse < 0) state.firstFalse = i;
    res.once('drain', () => {
      state.drained = true;
      res.end();
      state.ended = true;
    });
  });
  const socket = connect({ port, host: '127.0.0.1' });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(get('/big'));
  await until('the handler to write', () => state.firstFalse >= 0);
  await ioTurns(20);
  assert.equal(state.drained, false, 'no \'drain\' while the client does not read');
  let received = 0;
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => {
    received += c.length;
    if (chunks.length < 1) chunks.push(c);
  });
  const expected = chunk.length * CHUNKS;
  await until('the whole body', () => received > expected, 3000);
  assert.equal(state.drained, true);
  assert.equal(state.ended, true);
  const headLength = chunks[0]!.indexOf('\r\n\r\n') + 4;
  assert.equal(received, headLength + expected);
});

test('the client half-closing (FIN) in the middle of a response destroys it: \'close\' with writableFinished false, as node:http does', async (t) => {
  const recs: CloseRecord[] = [];
  const handler = (_req: ProxyRequest, res: ProxyResponse): void => {
    recs.push(watchClose(res));
    res.writeHead(200, {});
    res.write('part');
  };
  const lane = await startLane(t, handler);
  const node = await startPlain(t, handler);
  const seen: string[] = [];
  for (const port of [lane.port, node.port]) {
    const client = await RawClient.open(t, port);
    client.write(get('/'));
    await client.until('the first chunk', () => client.text.includes('part'));
    client.socket.end();
    await client.untilClosed();
    await until('\'close\' on the response', () => recs.length > 0 && recs.at(-1)!.closes > 0);
    seen.push(normalise(client.text));
  }
  assert.deepEqual(recs[0], { closes: 1, finishedAtClose: false, destroyedAtClose: true });
  assert.equal(recs[1]!.closes, 1);
  assert.equal(recs[1]!.finishedAtClose, false);
  assert.equal(seen[0], seen[1]);
});

test(
  'a client that sends its request and half-closes still gets the whole answer already ended by the handler (as node:http)',
  async (t) => {
    const body = Buffer.alloc(32 * 1024 * 1024, 97);
    const handler = (_req: ProxyRequest, res: ProxyResponse): void => {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    };
    const lane = await startLane(t, handler);
    const node = await startPlain(t, handler);
    const received: number[] = [];
    for (const port of [node.port, lane.port]) {
      const client = await RawClient.open(t, port);
      client.write(get('/big'));
      client.socket.end();
      await client.untilClosed(3000);
      if (port === node.port) assert.equal(client.answers(['GET'])[0]?.body.length, body.length, 'node delivers the whole answer');
      received.push(client.data.length);
      client.socket.destroy();
    }
    // Same head length on both (the Date value has a fixed width).
    assert.equal(received[1], received[0], `bytes received: node ${received[0]}, fast lane ${received[1]}`);
  },
);

// ------------------------------------------------------------------ closeIdle, closeAll, timeouts

test('closeIdle() closes idle keep-alive connections and new ones; an answer in progress still finishes, then its connection closes', async (t) => {
  const held: ProxyResponse[] = [];
  const { lane, port } = await startLane(t, (req, res) => {
    if (req.url === '/hold') held.push(res);
    else behave(req, res);
  });
  const idle = await RawClient.open(t, port);
  idle.write(get('/length'));
  await idle.untilAnswers(['GET']);
  const busy = await RawClient.open(t, port);
  busy.write(get('/hold'));
  await until('the held request', () => held.length === 1);

  lane.closeIdle();
  await idle.untilClosed();
  assert.equal(idle.answers(['GET']).length, 1);
  assert.match(idle.text, /\r\n\r\nhello$/, 'nothing more on the idle connection');
  await ioTurns();
  assert.equal(busy.ended, false, 'the busy connection stays open');

  const late = await RawClient.open(t, port);
  late.write(get('/length'));
  await late.untilClosed();
  assert.equal(late.text, '', 'a connection accepted after closeIdle() is closed unanswered');

  held[0]!.writeHead(200, { 'content-length': '2' });
  held[0]!.end('ok');
  await busy.untilAnswers(['GET']);
  await busy.untilClosed();
  assert.equal(busy.answers(['GET'])[0]!.body.toString(), 'ok');
});

test(
  'closeIdle(): an answer in progress finishes with Connection: close',
  async (t) => {
    const held: ProxyResponse[] = [];
    const { lane, port } = await startLane(t, (_req, res) => {
      held.push(res);
    });
    const busy = await RawClient.open(t, port);
    busy.write(get('/hold'));
    await until('the held request', () => held.length === 1);
    lane.closeIdle();
    held[0]!.writeHead(200, { 'content-length': '2' });
    held[0]!.end('ok');
    await busy.untilAnswers(['GET']);
    await busy.untilClosed();
    const head = busy.answers(['GET'])[0]!.head;
    assert.match(head, /\r\nConnection: close(\r\n|$)/);
    assert.doesNotMatch(head, /keep-alive/i);
  },
);

test('closeAll() cuts every connection, idle or answering; the answer in progress gets \'close\' with writableFinished false', async (t) => {
  const held: Array<{ res: ProxyResponse; rec: CloseRecord }> = [];
  const { lane, port } = await startLane(t, (req, res) => {
    if (req.url === '/hold') {
      held.push({ res, rec: watchClose(res) });
      res.writeHead(200, {});
      res.write('partial');
    } else behave(req, res);
  });
  const idle = await RawClient.open(t, port);
  idle.write(get('/length'));
  await idle.untilAnswers(['GET']);
  const busy = await RawClient.open(t, port);
  busy.write(get('/hold'));
  await busy.until('the first chunk', () => busy.text.includes('partial'));

  lane.closeAll();
  await idle.untilClosed();
  await busy.untilClosed();
  const { res, rec } = held[0]!;
  await until('\'close\' on the response', () => rec.closes > 0);
  assert.deepEqual(rec, { closes: 1, finishedAtClose: false, destroyedAtClose: true });
  assert.doesNotThrow(() => res.end('late'));
  assert.doesNotMatch(busy.text, /0\r\n\r\n$/, 'the chunked answer was cut, not finished');
});

// The keep-alive sweep is the process's one idle sweep (src/shared/clock.ts), ticking once a second;
// these tests drive its ticks (idleSweep.run()) instead of waiting for them. The real timer may add one
// tick while a test runs: every check holds with or without it.

test('an idle keep-alive connection is kept for keepAliveMs, then closed unanswered by the sweep', async (t) => {
  const { port } = await startLane(t, behave, { keepAliveMs: 3000 });
  const client = await RawClient.open(t, port);
  client.write(get('/length'));
  await client.untilAnswers(['GET']);
  assert.match(client.text, /\r\nConnection: keep-alive\r\nKeep-Alive: timeout=3\r\n/);
  idleSweep.run();
  idleSweep.run();
  await ioTurns();
  assert.equal(client.ended, false, 'closed before keepAliveMs');
  idleSweep.run();
  idleSweep.run();
  await client.untilClosed();
  assert.match(client.text, /\r\n\r\nhello$/, 'closed without another answer');
});

test('a connection in use is not closed by the keep-alive sweep', async (t) => {
  const { port } = await startLane(t, behave, { keepAliveMs: 1500 });
  const client = await RawClient.open(t, port);
  const methods = Array.from({ length: 6 }, () => 'GET');
  for (let i = 1; i <= 6; i++) {
    client.write(get(`/n${i}`));
    await client.untilAnswers(methods, i);
    if (i < 6) idleSweep.run(); // a second between requests: 5 s of requests in all
  }
  await ioTurns();
  assert.equal(client.ended, false, 'still open after 5 sweeps of requests a second apart');
});

test('a head still incomplete after headersTimeoutMs: the connection is closed unanswered when more bytes come', async (t) => {
  let now = 1_000_000;
  t.after(installClock({ now: () => now }));
  const { port } = await startLane(t, behave, { headersTimeoutMs: 200 });
  const client = await RawClient.open(t, port);
  const text = get('/slow', `X-Slow: ${'s'.repeat(40)}`);
  const start = now;
  let closedAt = -1;
  for (const ch of text) {
    client.write(ch);
    await ioTurns(3);
    if (client.ended) {
      closedAt = now;
      break;
    }
    now += 40;
  }
  await client.untilClosed();
  assert.equal(client.text, '');
  // The first byte read starts the head's clock; the first read more than 200 ms (of the test's clock) later closes it.
  assert.ok(closedAt - start >= 240 && closedAt - start <= 400, `closed after ${closedAt - start} ms of the test's clock`);
});

// ------------------------------------------------------------------ writeHead refusals and the response API

test('writeHead with an invalid header name or a value with CR, LF or NUL throws and writes nothing; a valid writeHead then answers', async (t) => {
  const refusals: string[] = [];
  const sent: boolean[] = [];
  const { port } = await startLane(t, (_req, res) => {
    const bad: Array<Record<string, string | string[]>> = [
      { 'bad name': 'x' },
      { '': 'x' },
      { 'x:y': 'x' },
      { 'x-crlf': 'a\r\nInjected: yes' },
      { 'x-cr': 'a\rb' },
      { 'x-lf': 'a\nb' },
      { 'x-nul': 'a\x00b' },
      { 'x-list': ['fine', 'bad\r\nvalue'] },
      { 'x-ok': 'fine', 'x-then-bad': 'a\nb' },
    ];
    for (const headers of bad) {
      try {
        res.writeHead(503, headers);
        refusals.push('accepted ' + JSON.stringify(headers));
      } catch (err) {
        refusals.push(err instanceof TypeError ? 'TypeError' : String(err));
      }
      sent.push(res.headersSent);
    }
    res.writeHead(200, { 'content-length': '2', 'x-ok': 'fine' });
    try {
      res.writeHead(500, {});
      refusals.push('second writeHead accepted');
    } catch {
      refusals.push('second writeHead refused');
    }
    res.end('ok');
  });
  const client = await RawClient.open(t, port);
  client.write(get('/'));
  await client.untilAnswers(['GET']);
  assert.deepEqual(refusals, [...Array.from({ length: 9 }, () => 'TypeError'), 'second writeHead refused']);
  assert.deepEqual(sent, Array.from({ length: 9 }, () => false));
  assert.equal(normalise(client.text), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-ok: fine\r\nDate: <now>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nok');
});

test('after end(), write() returns false and sends nothing; a second end() is ignored', async (t) => {
  const results: boolean[] = [];
  const { port } = await startLane(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '2' });
    results.push(res.write('o'));
    res.end('k');
    results.push(res.write('late'));
    res.end('later');
  });
  const client = await RawClient.open(t, port);
  client.write(get('/') + get('/'));
  await client.untilAnswers(['GET', 'GET']);
  await ioTurns();
  assert.deepEqual(results, [true, false, true, false]);
  const answers = client.answers(['GET', 'GET']);
  assert.deepEqual(answers.map((a) => a.body.toString()), ['ok', 'ok']);
  assert.equal(client.text.endsWith('\r\n\r\nok'), true, 'nothing after the second answer');
});

// Issue 9: framing is the writer's. A Transfer-Encoding or a Content-Length
// that does not match the body, given by whoever builds the answer, must not
// let the client read bytes of this response as the start of the next one.
test('framing is the writer\'s: a handler\'s Transfer-Encoding is not written; a body past its Content-Length is never sent', async (t) => {
  const { port } = await startLane(t, (req, res) => {
    if (req.url === '/te') {
      res.writeHead(200, { 'transfer-encoding': 'gzip, chunked', 'x-a': '1' });
      res.write('abc');
      res.end();
    } else if (req.url === '/long') {
      res.writeHead(200, { 'content-length': '2' });
      res.write('abcHTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\npwned!');
      res.end();
    } else {
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    }
  });
  const client = await RawClient.open(t, port);
  client.write(request('GET', '/te'));
  await client.untilAnswers(['GET']);
  const text = client.text;
  assert.equal(count(text, /transfer-encoding/gi), 1, text);
  assert.match(text, /\r\nTransfer-Encoding: chunked\r\n/);
  assert.match(text, /\r\n\r\n3\r\nabc\r\n0\r\n\r\n$/);

  const other = await RawClient.open(t, port);
  other.write(request('GET', '/long'));
  await other.untilClosed();
  assert.doesNotMatch(other.text, /pwned/, 'bytes past the Content-Length reached the client');
});

test('accepted connections are read into the lane\'s shared buffer on this Node: no \'data\' listener, and a request that follows a 1 KiB partial read is answered', async (t) => {
  assert.equal(sharedReadBuffer, true, 'net.Socket no longer has the onread slots the lane fills: reads fall back to one allocation each');
  let socket: Socket | null = null;
  const { port } = await startLane(t, (req, res) => {
    socket = req.socket;
    res.writeHead(200, { 'content-length': String(req.headers['x-pad']?.length ?? 0) });
    res.end(String(req.headers['x-pad'] ?? ''));
  });
  const client = await RawClient.open(t, port);
  const pad = 'p'.repeat(1024);
  const whole = request('GET', '/a', [`X-Pad: ${pad}`]);
  // The first read ends inside the head: what was read must survive the next read into the same buffer.
  client.write(whole.slice(0, 700));
  await ioTurns(20);
  client.write(whole.slice(700));
  await client.untilAnswers(['GET']);
  assert.ok(client.text.endsWith(pad), 'the padded header came back whole');
  assert.equal((socket as Socket | null)?.listenerCount('data'), 0, 'the lane reads through the shared buffer, not \'data\' events');
});

test('after a hand-over to node:http, bytes of an upgraded connection still reach its reader (\'data\' events)', async (t) => {
  const { server, port } = await startLane(t, (_req, res) => res.end());
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(chunk.toString('latin1').toUpperCase()));
  });
  const client = await RawClient.open(t, port);
  client.write(request('GET', '/ws', ['Connection: upgrade', 'Upgrade: echo']));
  await waitFor('the 101', () => client.text.includes('\r\n\r\n'));
  for (const word of ['first', 'second', 'third']) {
    client.write(Buffer.from(word, 'latin1'));
    await waitFor(`the echo of ${word}`, () => client.text.endsWith(word.toUpperCase()));
  }
  assert.match(client.text, /^HTTP\/1\.1 101 /);
});

test('a handed-over socket that is paused (a tunnel unpiped from its other side) still sees the client\'s FIN, as a socket read the usual way does', async (t) => {
  const { server, port } = await startLane(t, (_req, res) => res.end());
  let ended = false;
  let sink: PassThrough | null = null;
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
    sink = new PassThrough();
    socket.pipe(sink);
    socket.on('end', () => (ended = true));
  });
  const client = await RawClient.open(t, port);
  client.write(request('GET', '/ws', ['Connection: upgrade', 'Upgrade: echo']));
  await waitFor('the 101', () => client.text.includes('\r\n\r\n') && sink !== null);
  // The other side goes away: pipe() unpipes, which pauses the socket.
  (sink as PassThrough | null)!.destroy();
  await ioTurns(5);
  client.socket.end();
  await waitFor('\'end\' on the server\'s socket', () => ended);
});
