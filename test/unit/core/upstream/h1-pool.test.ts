/**
 * The upstream HTTP/1.1 keep-alive pool (src/core/upstream/h1-pool.ts)
 * against real loopback upstreams: raw TCP servers that write exact bytes for
 * protocol edge cases, node:http(s) servers where a real server is enough.
 * What is checked is what the gateway's users would notice: bytes on the
 * wire, connection reuse, retries, backpressure, failures and their codes.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ioTurns, waitFor } from '../../../helpers/wait.ts';
import { idleSweep } from '../../../../src/shared/clock.ts';
import { H1Pool, type H1PoolOptions } from '../../../../src/core/upstream/h1-pool.ts';
import { type HeaderValues, type UpstreamController, type UpstreamHandler, type UpstreamRequest } from '../../../../src/core/upstream/types.ts';
import { closedPort, startRawUpstream, startUpstream, type RawUpstream } from '../../../helpers/upstream.ts';
import { defaultCertificate } from '../../../../src/core/proxy/default-cert.ts';

type CodedError = Error & { code?: string };

// ------------------------------------------------------------------ fixtures

interface Hooks {
  onRequestStart(c: UpstreamController): void;
  onBodySent(chunk: Buffer): void;
  onResponseStart(c: UpstreamController, status: number): void;
  onResponseData(c: UpstreamController, chunk: Buffer): void;
}

/** An UpstreamHandler that records every call; `finished` resolves on onResponseEnd / onResponseError. */
class Recorder implements UpstreamHandler {
  readonly events: string[] = [];
  readonly chunks: Buffer[] = [];
  readonly sent: Buffer[] = [];
  status = 0;
  headers: HeaderValues = {};
  reason = '';
  error: CodedError | null = null;
  controller: UpstreamController | null = null;
  upgraded: { socket: Socket; head: Buffer } | null = null;
  readonly finished: Promise<void>;
  private settle: () => void = () => undefined;
  private readonly hooks: Partial<Hooks>;

  constructor(hooks: Partial<Hooks> = {}) {
    this.hooks = hooks;
    this.finished = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  private note(event: string): void {
    if (this.events.includes('end') || this.events.some((e) => e.startsWith('error'))) this.events.push('AFTER-LAST:' + event);
    else this.events.push(event);
  }

  onRequestStart(controller: UpstreamController): void {
    this.controller = controller;
    this.note('requestStart');
    this.hooks.onRequestStart?.(controller);
  }
  onBodySent(chunk: Buffer): void {
    this.sent.push(Buffer.from(chunk));
    this.note('bodySent');
    this.hooks.onBodySent?.(chunk);
  }
  onRequestSent(): void {
    this.note('requestSent');
  }
  onUpgrade(controller: UpstreamController, statusCode: number, headers: HeaderValues, socket: Socket, head: Buffer): void {
    this.controller = controller;
    this.status = statusCode;
    this.headers = headers;
    this.upgraded = { socket, head };
    this.note(`upgrade ${statusCode}`);
    this.settle();
  }
  onResponseStart(controller: UpstreamController, statusCode: number, headers: HeaderValues, statusMessage: string): void {
    this.status = statusCode;
    this.headers = headers;
    this.reason = statusMessage;
    this.note(`responseStart ${statusCode}`);
    this.hooks.onResponseStart?.(controller, statusCode);
  }
  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    this.note('data');
    this.hooks.onResponseData?.(controller, chunk);
  }
  onResponseEnd(): void {
    this.note('end');
    this.settle();
  }
  onResponseError(_controller: UpstreamController, err: Error): void {
    this.error = err;
    this.note(`error ${(err as CodedError).code ?? err.message}`);
    this.settle();
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
  /** Events without the repeated data/bodySent entries. */
  get outline(): string[] {
    return this.events.filter((e, i, all) => !((e === 'data' || e === 'bodySent') && all[i - 1] === e));
  }
  /** `finished`, or a clear failure instead of a test that hangs. */
  async done(ms = 1500): Promise<this> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no onResponseEnd/onResponseError within ${ms} ms; events: ${this.events.join(', ')}`)), ms);
    });
    try {
      await Promise.race([this.finished, late]);
    } finally {
      clearTimeout(timer);
    }
    return this;
  }
}

function makePool(t: TestContext, port: number, options: Partial<H1PoolOptions> = {}): H1Pool {
  const pool = new H1Pool({
    host: '127.0.0.1',
    port,
    tls: null,
    connectTimeoutMs: 1000,
    keepAliveMs: 60_000,
    maxHeaderBytes: 16 * 1024,
    ...options,
  });
  t.after(() => pool.destroy());
  return pool;
}

/** A request; a stream body's length is taken from the content-length given, as forward.ts does with the client's. */
function req(method: string, path = '/', headers: HeaderValues = {}, body: UpstreamRequest['body'] = null): UpstreamRequest {
  const cl = headers['content-length'];
  const bodyLength = body !== null && !Buffer.isBuffer(body) && typeof cl === 'string' ? Number(cl) : -1;
  return { method, path, headers: { host: 'upstream.test', ...headers }, body, bodyLength, upgrade: null };
}

function send(pool: H1Pool, request: UpstreamRequest, hooks: Partial<Hooks> = {}): Recorder {
  const r = new Recorder(hooks);
  pool.dispatch(request, r);
  return r;
}

async function raw(t: TestContext, onConnection: (socket: Socket, index: number) => void): Promise<RawUpstream> {
  const up = await startRawUpstream(onConnection);
  t.after(() => up.close());
  return up;
}

/** Until `check()` holds (or fail after `ms`). */
function until(check: () => boolean, ms: number, what: string): Promise<number> {
  return waitFor(what, check, ms);
}

/** Length of a complete chunked body at the start of `s`, or -1 when more bytes are needed. */
function chunkedLength(s: string): number {
  let at = 0;
  for (;;) {
    const eol = s.indexOf('\r\n', at);
    if (eol < 0) return -1;
    const size = parseInt(s.slice(at, eol), 16);
    at = eol + 2;
    if (size === 0) {
      const end = s.indexOf('\r\n\r\n', at - 2);
      return end < 0 ? -1 : end + 4;
    }
    at += size + 2;
    if (at > s.length) return -1;
  }
}

/** Calls `onRequest` with each complete request (head and body, as raw latin1 text) read from the socket. */
function eachRequest(socket: Socket, onRequest: (raw: string, index: number) => void): void {
  let buf = '';
  let index = 0;
  socket.on('data', (c: Buffer) => {
    buf += c.toString('latin1');
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end + 4);
      let total = end + 4;
      const cl = /\r\ncontent-length: *(\d+)\r\n/i.exec(head);
      if (cl !== null) total += Number(cl[1]);
      else if (/\r\ntransfer-encoding: *chunked\r\n/i.test(head)) {
        const n = chunkedLength(buf.slice(end + 4));
        if (n < 0) return;
        total += n;
      }
      if (buf.length < total) return;
      const one = buf.slice(0, total);
      buf = buf.slice(total);
      onRequest(one, index++);
    }
  });
}

function ok(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/** A raw upstream answering every request on every connection with `answer(raw)`; records requests per connection. */
async function keepAliveUpstream(t: TestContext, answer: (raw: string) => string = () => ok('hi')): Promise<RawUpstream & { seen: string[][] }> {
  const seen: string[][] = [];
  const up = await raw(t, (socket, index) => {
    seen[index] = [];
    eachRequest(socket, (r) => {
      seen[index]!.push(r);
      socket.write(answer(r));
    });
  });
  return Object.assign(up, { seen });
}

// ------------------------------------------------------------------ requests and reuse

test('a request is answered and the next one reuses the same keep-alive connection', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const pool = makePool(t, up.port);
  const a = await send(pool, req('GET', '/first')).done();
  assert.deepEqual(a.outline, ['requestStart', 'requestSent', 'responseStart 200', 'data', 'end']);
  assert.equal(JSON.parse(a.body).url, '/first');
  assert.deepEqual(pool.stats, { running: 0, pending: 0, connections: 1, idle: 1 });
  const b = await send(pool, req('GET', '/second')).done();
  assert.equal(b.status, 200);
  assert.equal(JSON.parse(b.body).url, '/second');
  assert.equal(up.connections(), 1);
  assert.deepEqual(pool.stats, { running: 0, pending: 0, connections: 1, idle: 1 });
});

test('concurrent requests each get their own connection, then all of them are reused', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const pool = makePool(t, up.port);
  const first = [send(pool, req('GET', '/1')), send(pool, req('GET', '/2')), send(pool, req('GET', '/3'))];
  assert.equal(pool.stats.pending, 3);
  await Promise.all(first.map((r) => r.done()));
  assert.equal(up.connections(), 3);
  assert.equal(pool.stats.idle, 3);
  const again = [send(pool, req('GET', '/4')), send(pool, req('GET', '/5')), send(pool, req('GET', '/6'))];
  await Promise.all(again.map((r) => r.done()));
  assert.ok(again.every((r) => r.status === 200));
  assert.equal(up.connections(), 3);
});

test('the upstream sees the request line and headers exactly as given, repeated headers as repeated lines', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  await send(pool, { method: 'GET', path: '/a/b?c=1&d', headers: { host: 'example.test:8080', 'x-multi': ['1', '2'], 'x-skipped': undefined, accept: '*/*' }, body: null, bodyLength: -1, upgrade: null }).done();
  assert.equal(up.seen[0]![0], 'GET /a/b?c=1&d HTTP/1.1\r\nhost: example.test:8080\r\nx-multi: 1\r\nx-multi: 2\r\naccept: */*\r\n\r\n');
});

test('POST, PUT and PATCH without a body send content-length: 0; GET, DELETE and a given length do not add one', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  for (const method of ['POST', 'PUT', 'PATCH', 'GET', 'DELETE', 'OPTIONS']) await send(pool, req(method, '/x')).done();
  await send(pool, req('POST', '/given', { 'content-length': '0' })).done();
  const heads = up.seen[0]!;
  assert.equal(heads.length, 7);
  for (const [i, method] of ['POST', 'PUT', 'PATCH'].entries()) assert.equal(heads[i], `${method} /x HTTP/1.1\r\nhost: upstream.test\r\ncontent-length: 0\r\n\r\n`);
  for (const [i, method] of ['GET', 'DELETE', 'OPTIONS'].entries()) assert.equal(heads[i + 3], `${method} /x HTTP/1.1\r\nhost: upstream.test\r\n\r\n`);
  assert.equal(heads[6], 'POST /given HTTP/1.1\r\nhost: upstream.test\r\ncontent-length: 0\r\n\r\n');
});

test('a Buffer body goes out after the head with its content-length; the handler hears it was sent', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  const body = Buffer.from('{"a":1}');
  const r = await send(pool, req('POST', '/json', { 'content-type': 'application/json', 'content-length': String(body.length) }, body)).done();
  assert.deepEqual(r.outline, ['requestStart', 'bodySent', 'requestSent', 'responseStart 200', 'data', 'end']);
  assert.deepEqual(r.sent, [body]);
  assert.equal(up.seen[0]![0], 'POST /json HTTP/1.1\r\nhost: upstream.test\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{"a":1}');
  // The connection stays usable after a body.
  await send(pool, req('GET')).done();
  assert.equal(up.connections(), 1);
});

test('a streamed body with a content-length is relayed as it arrives, unframed', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  const stream = new PassThrough();
  const r = send(pool, req('PUT', '/upload', { 'content-length': '11' }, stream), {
    onBodySent: () => {
      if (r.sent.length === 1) setImmediate(() => stream.end('world'));
    },
  });
  stream.write('hello ');
  await r.done();
  assert.deepEqual(r.outline, ['requestStart', 'bodySent', 'requestSent', 'responseStart 200', 'data', 'end']);
  assert.equal(Buffer.concat(r.sent).toString(), 'hello world');
  assert.equal(up.seen[0]![0], 'PUT /upload HTTP/1.1\r\nhost: upstream.test\r\ncontent-length: 11\r\n\r\nhello world');
  await send(pool, req('GET')).done();
  assert.equal(up.connections(), 1, 'the connection is reused after a streamed body');
});

test('a streamed body without a content-length is sent chunked, one chunk per piece, with the last chunk', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  const stream = new PassThrough();
  const pieces = ['hello ', 'x'.repeat(300), 'world'];
  let next = 1;
  const r = send(pool, req('POST', '/stream', { 'content-type': 'text/plain' }, stream), {
    onBodySent: () => {
      setImmediate(() => {
        if (next < pieces.length) stream.write(pieces[next++]);
        else stream.end(Buffer.alloc(0)); // an empty write must not end the chunked body early
      });
    },
  });
  stream.write(pieces[0]);
  await r.done();
  assert.equal(r.status, 200);
  assert.equal(Buffer.concat(r.sent).toString(), pieces.join(''));
  const framing = r.sent.map((c) => `${c.length.toString(16)}\r\n${c.toString('latin1')}\r\n`).join('') + '0\r\n\r\n';
  assert.equal(up.seen[0]![0], 'POST /stream HTTP/1.1\r\nhost: upstream.test\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n' + framing);
  assert.ok(framing.includes('\r\n12c\r\n'), 'sizes are hex');
  await send(pool, req('GET')).done();
  assert.equal(up.connections(), 1);
});

test('a chunked streamed body is decoded correctly by a real HTTP server', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const pool = makePool(t, up.port);
  const stream = new PassThrough();
  const r = send(pool, req('POST', '/echo', {}, stream));
  stream.write('a');
  setImmediate(() => stream.end('bc'));
  await r.done();
  const echoed = JSON.parse(r.body) as { body: string; headers: HeaderValues };
  assert.equal(echoed.body, 'abc');
  assert.equal(echoed.headers['transfer-encoding'], 'chunked');
});

test('a streamed body that ends short of its content-length fails with REQUEST_BODY_LENGTH_MISMATCH', async (t) => {
  let closed = false;
  const up = await raw(t, (socket) => socket.resume().on('close', () => (closed = true)));
  const pool = makePool(t, up.port);
  const stream = new PassThrough();
  const r = send(pool, req('POST', '/', { 'content-length': '10' }, stream));
  stream.end('abc');
  await r.done();
  assert.equal(r.error?.code, 'REQUEST_BODY_LENGTH_MISMATCH');
  assert.match(r.error!.message, /7 bytes short/);
  assert.ok(!r.events.includes('requestSent'));
  await until(() => closed, 1000, 'the upstream connection to be closed');
  assert.equal(pool.stats.connections, 0);
});

test('a streamed body longer than its content-length fails with REQUEST_BODY_LENGTH_MISMATCH', async (t) => {
  const up = await raw(t, () => undefined);
  const pool = makePool(t, up.port);
  const stream = new PassThrough();
  const r = send(pool, req('POST', '/', { 'content-length': '2' }, stream));
  stream.end('abc');
  await r.done();
  assert.equal(r.error?.code, 'REQUEST_BODY_LENGTH_MISMATCH');
  assert.equal(r.sent.length, 0, 'the overlong chunk is not written');
});

test('a body stream destroyed with an error fails with REQUEST_BODY_ABORTED, the cause attached', async (t) => {
  const up = await raw(t, () => undefined);
  const pool = makePool(t, up.port);
  const stream = new PassThrough();
  const cause = new Error('client went away');
  const r = send(pool, req('POST', '/', {}, stream), { onBodySent: () => stream.destroy(cause) });
  stream.write('part');
  await r.done();
  assert.equal(r.error?.code, 'REQUEST_BODY_ABORTED');
  assert.equal(r.error?.cause, cause);
  assert.deepEqual(r.outline, ['requestStart', 'bodySent', `error REQUEST_BODY_ABORTED`]);
  await until(() => pool.stats.connections === 0, 1000, 'the connection to be closed');
});

test('a body stream closed without an error before its end fails with REQUEST_BODY_ABORTED', async (t) => {
  const up = await raw(t, () => undefined);
  const pool = makePool(t, up.port);
  const stream = new PassThrough();
  const r = send(pool, req('PUT', '/', { 'content-length': '100' }, stream), { onRequestStart: () => setImmediate(() => stream.destroy()) });
  await r.done();
  assert.equal(r.error?.code, 'REQUEST_BODY_ABORTED');
});

test('a header value with CR LF, an invalid header name, method or target is refused and nothing is written', async (t) => {
  let received = 0;
  const up = await raw(t, (socket) => socket.on('data', (c: Buffer) => (received += c.length)));
  const pool = makePool(t, up.port);
  const bad: UpstreamRequest[] = [
    req('GET', '/', { 'x-evil': 'a\r\nx-injected: 1' }),
    req('GET', '/', { 'x-evil': ['fine', 'bad\n'] }),
    req('GET', '/', { 'x-nul': 'a\0b' }),
    req('GET', '/', { 'bad name': '1' }),
    req('GET', '/', { 'x:y': '1' }),
    req('GET', '/', { '': '1' }),
    req('GE T', '/'),
    req('GET', '/a b'),
    req('GET', '/a\r\nx: 1'),
    req('GET', ''),
  ];
  for (const request of bad) {
    const r = await send(pool, request).done();
    assert.equal(r.error?.code, 'UPSTREAM_INVALID_REQUEST', JSON.stringify(request));
    assert.deepEqual(r.events, [`error UPSTREAM_INVALID_REQUEST`], 'no onRequestStart');
  }
  await ioTurns();
  assert.equal(received, 0, 'nothing reached the upstream');
  assert.equal(pool.stats.running, 0);
  assert.equal(pool.stats.pending, 0);
  assert.ok(up.connections() <= 1, 'at most one connection (none is needed to refuse a request)');
});

test('obs-text and tabs in header values are allowed', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  const r = await send(pool, req('GET', '/caf\xe9', { 'x-latin': 'caf\xe9\tok' })).done();
  assert.equal(r.status, 200);
  assert.equal(up.seen[0]![0], 'GET /caf\xe9 HTTP/1.1\r\nhost: upstream.test\r\nx-latin: caf\xe9\tok\r\n\r\n');
});

test('an invalid request fails on a later tick, also when an idle connection is ready', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  await send(pool, req('GET')).done();
  assert.equal(pool.stats.idle, 1);
  const r = send(pool, req('GET', '/', { 'x-evil': 'a\r\nb' }));
  assert.deepEqual(r.events, [], 'called back from inside dispatch()');
  await r.done();
  assert.equal(r.error?.code, 'UPSTREAM_INVALID_REQUEST');
});

test('HEAD: the answer has no body even with a Content-Length, and the connection is reused', async (t) => {
  const up = await keepAliveUpstream(t, (r) => (r.startsWith('HEAD') ? 'HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n' : ok('body')));
  const pool = makePool(t, up.port);
  const head = await send(pool, req('HEAD', '/')).done();
  assert.deepEqual(head.outline, ['requestStart', 'requestSent', 'responseStart 200', 'end']);
  assert.equal(head.headers['content-length'], '1234');
  const get = await send(pool, req('GET', '/')).done();
  assert.equal(get.body, 'body');
  assert.equal(up.connections(), 1);
});

test('a HEAD answer that wrongly carries a body is complete at its head, and the connection is not reused', async (t) => {
  const up = await keepAliveUpstream(t, () => ok('body'));
  const pool = makePool(t, up.port);
  const r = await send(pool, req('HEAD', '/')).done();
  assert.deepEqual(r.outline, ['requestStart', 'requestSent', 'responseStart 200', 'end']);
  assert.equal(pool.stats.idle, 0);
  await send(pool, req('GET')).done();
  assert.equal(up.connections(), 2);
});

test('an answer complete before the streamed body ends is reported, and the connection is not reused', async (t) => {
  const up = await raw(t, (socket) => {
    let answered = false;
    socket.on('data', () => {
      if (!answered) socket.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n');
      answered = true;
    });
  });
  const pool = makePool(t, up.port);
  const stream = new PassThrough();
  const r = send(pool, req('POST', '/upload', { 'content-length': '1000' }, stream));
  stream.write('first part');
  await r.done();
  assert.equal(r.status, 413);
  assert.deepEqual(r.outline, ['requestStart', 'bodySent', 'responseStart 413', 'end']);
  stream.end('x'.repeat(990)); // the rest goes nowhere and fails nothing
  await until(() => pool.stats.connections === 0, 1000, 'the connection to be closed');
  assert.ok(!r.events.some((e) => e.startsWith('AFTER-LAST')));
});

test('1xx interim responses are not reported; the final response is', async (t) => {
  const up = await keepAliveUpstream(t, () => 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n' + ok('final'));
  const pool = makePool(t, up.port);
  const r = await send(pool, req('GET')).done();
  assert.deepEqual(r.outline, ['requestStart', 'requestSent', 'responseStart 200', 'data', 'end']);
  assert.equal(r.body, 'final');
  assert.equal(r.headers['link'], undefined);
});

test('a chunked response from a real server arrives de-chunked and the connection is reused', async (t) => {
  const up = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
    res.write('one,');
    setImmediate(() => res.end('two'));
  });
  t.after(() => up.close());
  const pool = makePool(t, up.port);
  const r = await send(pool, req('GET')).done();
  assert.equal(r.body, 'one,two');
  assert.equal(r.headers['transfer-encoding'], undefined, 'framing fields are not handed on (hop-by-hop)');
  assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  await send(pool, req('GET')).done();
  assert.equal(up.connections(), 1);
});

test('Connection: close, HTTP/1.0 and close-delimited answers are not reused', async (t) => {
  const answers = [
    ok('a', 'connection: close\r\n'),
    'HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\nb',
    'HTTP/1.1 200 OK\r\n\r\nc',
  ];
  const up = await raw(t, (socket, index) => {
    eachRequest(socket, () => {
      if (index === 2) socket.end(answers[index]);
      else socket.write(answers[index]!);
    });
  });
  const pool = makePool(t, up.port);
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await send(pool, req('GET')).done();
    assert.equal(r.error, null);
    bodies.push(r.body);
    await until(() => pool.stats.connections === 0, 1000, 'the connection to be closed');
  }
  assert.deepEqual(bodies, ['a', 'b', 'c']);
  assert.equal(up.connections(), 3);
});

test('a malformed answer fails with UPSTREAM_BAD_RESPONSE and is not retried, even on a reused connection', async (t) => {
  const up = await raw(t, (socket) => eachRequest(socket, (_r, i) => socket.write(i === 0 ? ok('fine') : 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx')));
  const pool = makePool(t, up.port);
  await send(pool, req('GET')).done();
  const r = await send(pool, req('GET')).done();
  assert.equal(r.error?.code, 'UPSTREAM_BAD_RESPONSE');
  assert.deepEqual(r.outline, ['requestStart', 'requestSent', `error UPSTREAM_BAD_RESPONSE`]);
  assert.equal(up.connections(), 1);
  await until(() => pool.stats.connections === 0, 1000, 'the connection to be closed');
});

test('a response head over maxHeaderBytes fails with UPSTREAM_HEADERS_OVERFLOW', async (t) => {
  const up = await keepAliveUpstream(t, () => ok('x', `x-big: ${'b'.repeat(2000)}\r\n`));
  const pool = makePool(t, up.port, { maxHeaderBytes: 1024 });
  const r = await send(pool, req('GET')).done();
  assert.equal(r.error?.code, 'UPSTREAM_HEADERS_OVERFLOW');
});

// ------------------------------------------------------------------ connection failures

test('a refused connection fails with ECONNREFUSED and onRequestStart is never called', async (t) => {
  const pool = makePool(t, await closedPort());
  const r = await send(pool, req('GET')).done();
  assert.equal(r.error?.code, 'ECONNREFUSED');
  assert.deepEqual(r.events, ['error ECONNREFUSED']);
  assert.deepEqual(pool.stats, { running: 0, pending: 0, connections: 0, idle: 0 });
});

test('a connection not established within connectTimeoutMs fails with UPSTREAM_CONNECT_TIMEOUT (TLS handshake never answered)', async (t) => {
  // The timer covers TCP and TLS. A TCP connect that hangs cannot be made reliably on a loopback-only
  // machine (see the skipped test below); a TLS upstream that accepts TCP but never answers the
  // ClientHello exercises the same timer deterministically.
  const silent = await raw(t, () => undefined);
  const pool = makePool(t, silent.port, { tls: { servername: null, rejectUnauthorized: false, ca: null }, connectTimeoutMs: 200 });
  const started = Date.now();
  const r = await send(pool, req('GET')).done();
  const elapsed = Date.now() - started;
  assert.equal(r.error?.code, 'UPSTREAM_CONNECT_TIMEOUT');
  assert.deepEqual(r.events, [`error UPSTREAM_CONNECT_TIMEOUT`]);
  assert.ok(elapsed >= 190 && elapsed < 1000, `failed after ${elapsed} ms`);
  assert.deepEqual(pool.stats, { running: 0, pending: 0, connections: 0, idle: 0 });
});

test('a TCP connect that never completes fails with UPSTREAM_CONNECT_TIMEOUT', {
  skip: 'no reliable hanging TCP connect on loopback: node:net always accepts (no full backlog can be built), and non-routable addresses (10.255.255.1) either fail at once with ENETUNREACH or, in this sandbox, are accepted by a transparent proxy; covered by the TLS handshake test above',
}, () => undefined);

test('the upstream closing in the middle of the body fails with UPSTREAM_CLOSED after onResponseStart', async (t) => {
  const up = await raw(t, (socket) => eachRequest(socket, () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc')));
  const pool = makePool(t, up.port);
  const r = await send(pool, req('GET')).done();
  assert.deepEqual(r.outline, ['requestStart', 'requestSent', 'responseStart 200', 'data', `error UPSTREAM_CLOSED`]);
  assert.equal(r.body, 'abc');
  assert.equal(up.connections(), 1, 'not retried');
});

test('the upstream closing in the middle of a chunked body fails with UPSTREAM_CLOSED', async (t) => {
  const up = await raw(t, (socket) => eachRequest(socket, () => socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n')));
  const pool = makePool(t, up.port);
  const r = await send(pool, req('GET')).done();
  assert.equal(r.error?.code, 'UPSTREAM_CLOSED');
  assert.equal(r.body, 'abc');
});

test('the upstream closing before answering a fresh connection fails and is not retried', async (t) => {
  const up = await raw(t, (socket) => eachRequest(socket, () => socket.end()));
  const pool = makePool(t, up.port);
  const r = await send(pool, req('GET')).done();
  assert.equal(r.error?.code, 'UPSTREAM_CLOSED');
  assert.equal(up.connections(), 1);
});

test('an idle connection the upstream closed is noticed, and the next request gets a new one', async (t) => {
  const up = await raw(t, (socket) =>
    eachRequest(socket, () => {
      socket.write(ok('hi'));
      setTimeout(() => socket.end(), 20);
    }),
  );
  const pool = makePool(t, up.port);
  await send(pool, req('GET')).done();
  await until(() => pool.stats.connections === 0, 1000, 'the pool to notice the close');
  assert.equal(pool.stats.idle, 0);
  const r = await send(pool, req('GET')).done();
  assert.equal(r.body, 'hi');
  assert.equal(r.events.filter((e) => e === 'requestStart').length, 1, 'not a retry: the closed connection was never used');
  assert.equal(up.connections(), 2);
});

/** Connection 0 answers its first request, then resets (or closes) on the next one; other connections answer. */
async function resetOnReuse(t: TestContext, how: 'reset' | 'close' = 'reset'): Promise<RawUpstream & { seen: string[] }> {
  const seen: string[] = [];
  const up = await raw(t, (socket, index) =>
    eachRequest(socket, (r, i) => {
      seen.push(`conn ${index}: ${r.split('\r\n')[0]}`);
      if (index === 0 && i === 1) {
        if (how === 'reset') socket.resetAndDestroy();
        else socket.end();
      } else socket.write(ok(`conn ${index}`));
    }),
  );
  return Object.assign(up, { seen });
}

test('a GET on a reused connection that the upstream resets is sent again once, on a new connection', async (t) => {
  const up = await resetOnReuse(t);
  const pool = makePool(t, up.port);
  await send(pool, req('GET', '/warm')).done();
  const r = await send(pool, req('GET', '/again')).done();
  assert.equal(r.error, null);
  assert.equal(r.body, 'conn 1');
  assert.deepEqual(r.outline, ['requestStart', 'requestSent', 'requestStart', 'requestSent', 'responseStart 200', 'data', 'end']);
  assert.deepEqual(up.seen, ['conn 0: GET /warm HTTP/1.1', 'conn 0: GET /again HTTP/1.1', 'conn 1: GET /again HTTP/1.1']);
});

test('a GET on a reused connection that the upstream closes (FIN) without answering is sent again too', async (t) => {
  const up = await resetOnReuse(t, 'close');
  const pool = makePool(t, up.port);
  await send(pool, req('GET', '/warm')).done();
  const r = await send(pool, req('GET', '/again')).done();
  assert.equal(r.error, null);
  assert.equal(r.body, 'conn 1');
  assert.equal(r.events.filter((e) => e === 'requestStart').length, 2);
});

test('a PUT with a Buffer body is resent too (idempotent, replayable body)', async (t) => {
  const up = await resetOnReuse(t);
  const pool = makePool(t, up.port);
  await send(pool, req('GET', '/warm')).done();
  const body = Buffer.from('data');
  const r = await send(pool, req('PUT', '/doc', { 'content-length': '4' }, body)).done();
  assert.equal(r.body, 'conn 1');
  assert.equal(r.sent.length, 2, 'the body was sent once per attempt');
});

test('a POST with a body on a reused connection that the upstream resets is not resent and fails', async (t) => {
  const up = await resetOnReuse(t);
  const pool = makePool(t, up.port);
  await send(pool, req('GET', '/warm')).done();
  const r = await send(pool, req('POST', '/order', { 'content-length': '5' }, Buffer.from('order'))).done();
  assert.ok(r.error !== null);
  assert.ok(['ECONNRESET', 'UPSTREAM_CLOSED'].includes(r.error.code!), r.error.code);
  assert.equal(r.events.filter((e) => e === 'requestStart').length, 1);
  assert.equal(up.connections(), 1, 'no new connection was made');
});

test('a PUT with a streamed body is not resent (the body cannot be replayed)', async (t) => {
  const up = await resetOnReuse(t);
  const pool = makePool(t, up.port);
  await send(pool, req('GET', '/warm')).done();
  const stream = new PassThrough();
  const r = send(pool, req('PUT', '/doc', { 'content-length': '4' }, stream));
  stream.end('data');
  await r.done();
  assert.ok(r.error !== null);
  assert.equal(up.connections(), 1);
});

test('a reused connection that dies after part of the answer is not retried', async (t) => {
  const up = await raw(t, (socket) =>
    eachRequest(socket, (_r, i) => {
      if (i === 0) socket.write(ok('first'));
      else socket.end('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nse');
    }),
  );
  const pool = makePool(t, up.port);
  await send(pool, req('GET')).done();
  const r = await send(pool, req('GET')).done();
  assert.equal(r.error?.code, 'UPSTREAM_CLOSED');
  assert.equal(r.events.filter((e) => e === 'requestStart').length, 1);
  assert.equal(up.connections(), 1);
});

test('a request is resent only once: a second failure on the new connection is reported', async (t) => {
  const up = await raw(t, (socket, index) =>
    eachRequest(socket, (_r, i) => {
      if (index === 0 && i === 0) socket.write(ok('warm'));
      else socket.resetAndDestroy();
    }),
  );
  const pool = makePool(t, up.port);
  await send(pool, req('GET')).done();
  const r = await send(pool, req('GET')).done();
  assert.ok(r.error !== null);
  assert.equal(r.events.filter((e) => e === 'requestStart').length, 2);
  assert.equal(up.connections(), 2);
});

// ------------------------------------------------------------------ backpressure

test('pause() in onResponseData stops delivery; resume() delivers the rest in order', async (t) => {
  const up = await raw(t, (socket) =>
    eachRequest(socket, () => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\npart1');
      setTimeout(() => socket.write('part2'), 20);
      setTimeout(() => socket.write('part3', () => (sentAll = true)), 40);
    }),
  );
  let sentAll = false;
  const pool = makePool(t, up.port);
  let paused = false;
  const r = send(pool, req('GET'), {
    onResponseData: (c) => {
      if (!paused) {
        paused = true;
        c.pause();
      }
    },
  });
  await until(() => paused, 1000, 'the first body chunk');
  assert.ok(r.controller!.paused);
  await until(() => sentAll, 1000, 'the upstream to send everything');
  await ioTurns(); // and the bytes to reach the pool's socket
  assert.deepEqual(r.outline, ['requestStart', 'requestSent', 'responseStart 200', 'data']);
  assert.equal(r.chunks.length, 1);
  r.controller!.resume();
  await r.done();
  assert.equal(r.body, 'part1part2part3');
  assert.equal(r.events.at(-1), 'end');
  assert.equal(pool.stats.idle, 1);
});

test('pause() in onResponseStart holds back a body that came in the same packet', async (t) => {
  const up = await keepAliveUpstream(t, () => 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n');
  const pool = makePool(t, up.port);
  const r = send(pool, req('GET'), { onResponseStart: (c) => c.pause() });
  await until(() => r.status !== 0, 1000, 'the response head');
  await ioTurns();
  assert.equal(r.chunks.length, 0);
  r.controller!.resume();
  await r.done();
  assert.equal(r.body, 'abcdef');
});

test('a response that completes while paused is reported complete only after resume()', async (t) => {
  const up = await keepAliveUpstream(t, () => ok('whole'));
  const pool = makePool(t, up.port);
  const r = send(pool, req('GET'), { onResponseData: (c) => c.pause() });
  await until(() => r.chunks.length === 1, 1000, 'the body');
  await ioTurns();
  assert.ok(!r.events.includes('end'));
  assert.equal(pool.stats.running, 1);
  r.controller!.resume();
  await r.done();
  assert.equal(r.body, 'whole');
  assert.equal(r.events.at(-1), 'end');
  assert.equal(pool.stats.running, 0);
});

test('a connection whose response completed while paused serves the next request', async (t) => {
  const up = await keepAliveUpstream(t, () => ok('whole'));
  const pool = makePool(t, up.port);
  const a = send(pool, req('GET'), { onResponseData: (c) => c.pause() });
  await until(() => a.chunks.length === 1, 1000, 'the body');
  a.controller!.resume();
  await a.done();
  assert.equal(pool.stats.idle, 1);
  const b = await send(pool, req('GET')).done(1000);
  assert.equal(b.body, 'whole');
  assert.equal(up.connections(), 1);
});

test('a close-delimited body paused mid-way is completed by the upstream close only after resume()', async (t) => {
  const up = await raw(t, (socket) =>
    eachRequest(socket, () => {
      socket.write('HTTP/1.1 200 OK\r\n\r\nfirst,');
      setTimeout(() => socket.end('last', () => (sentAll = true)), 20);
    }),
  );
  let sentAll = false;
  const pool = makePool(t, up.port);
  const r = send(pool, req('GET'), { onResponseData: (c) => (r.chunks.length === 1 ? c.pause() : undefined) });
  await until(() => r.chunks.length === 1, 1000, 'the first chunk');
  await until(() => sentAll, 1000, 'the upstream to send the rest and close');
  await ioTurns(); // the rest and the close have arrived
  assert.deepEqual(r.outline, ['requestStart', 'requestSent', 'responseStart 200', 'data']);
  r.controller!.resume();
  await r.done();
  assert.equal(r.body, 'first,last');
  assert.equal(r.events.at(-1), 'end');
  assert.equal(r.error, null);
});

test('a close-delimited body whose bytes and close all arrived before pause() completes after resume()', async (t) => {
  const up = await raw(t, (socket) => eachRequest(socket, () => socket.end('HTTP/1.1 200 OK\r\n\r\nall at once')));
  const pool = makePool(t, up.port);
  const r = send(pool, req('GET'), { onResponseData: (c) => c.pause() });
  await until(() => r.chunks.length === 1, 1000, 'the body');
  await ioTurns();
  assert.ok(!r.events.includes('end'));
  assert.equal(r.error, null, 'the close while paused is not an error');
  r.controller!.resume();
  await r.done();
  assert.equal(r.body, 'all at once');
  assert.equal(r.events.at(-1), 'end');
});

test('a paused Content-Length body cut short by the upstream fails with UPSTREAM_CLOSED after resume()', async (t) => {
  const up = await raw(t, (socket) => eachRequest(socket, () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this')));
  const pool = makePool(t, up.port);
  const r = send(pool, req('GET'), { onResponseData: (c) => c.pause() });
  await until(() => r.chunks.length === 1, 1000, 'the body');
  await ioTurns();
  r.controller!.resume();
  await r.done();
  assert.equal(r.error?.code, 'UPSTREAM_CLOSED');
});

test('body chunks handed to the handler stay intact after later reads (the handler may keep them, as res.write does)', async (t) => {
  // 64 KiB pieces of distinct bytes: a chunk that is a view of a reused read buffer would be overwritten by the next read.
  const pieces = Array.from({ length: 12 }, (_, i) => Buffer.alloc(64 * 1024, 65 + i));
  const expected = Buffer.concat(pieces);
  const up = await raw(t, (socket) =>
    eachRequest(socket, () => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${expected.length}\r\n\r\n`);
      let i = 0;
      const next = (): void => {
        if (i < pieces.length) socket.write(pieces[i++]!, () => setImmediate(next));
      };
      next();
    }),
  );
  const pool = makePool(t, up.port);
  const kept: Buffer[] = [];
  let pauses = 0;
  const r = send(pool, req('GET'), {
    onResponseData: (c, chunk) => {
      kept.push(chunk); // no copy
      if (kept.length % 3 === 0 && pauses < 4) {
        pauses++;
        c.pause();
        setTimeout(() => c.resume(), 5); // held-back bytes must survive too
      }
    },
  });
  await r.done();
  assert.equal(r.error, null);
  assert.ok(kept.length > 1);
  assert.ok(Buffer.concat(kept).equals(expected), 'a kept chunk changed after its callback returned');
});

// ------------------------------------------------------------------ abort

test('abort(reason) in onResponseStart closes the connection and onResponseError gets exactly that reason', async (t) => {
  let serverSawClose = false;
  const up = await raw(t, (socket) => {
    socket.on('close', () => (serverSawClose = true));
    eachRequest(socket, () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n' + 'x'.repeat(1000)));
  });
  const pool = makePool(t, up.port);
  const reason = new Error('client went away');
  const r = await send(pool, req('GET'), { onResponseStart: (c) => c.abort(reason) }).done();
  assert.equal(r.error, reason);
  assert.deepEqual(r.outline, ['requestStart', 'requestSent', 'responseStart 200', 'error client went away']);
  assert.ok(r.controller!.aborted);
  await until(() => serverSawClose, 1000, 'the upstream to see the close');
  assert.deepEqual(pool.stats, { running: 0, pending: 0, connections: 0, idle: 0 });
});

test('abort(reason) mid-body stops the data and the connection is not reused', async (t) => {
  const up = await raw(t, (socket) =>
    eachRequest(socket, () => {
      socket.on('close', () => (upstreamClosed = true));
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
      setTimeout(() => socket.writable && socket.write('defghij'), 30);
    }),
  );
  let upstreamClosed = false;
  const pool = makePool(t, up.port);
  const reason = Object.assign(new Error('read timeout'), { code: 'UPSTREAM_READ_TIMEOUT' });
  const r = await send(pool, req('GET'), { onResponseData: (c) => c.abort(reason) }).done();
  assert.equal(r.error, reason);
  await until(() => upstreamClosed, 1000, 'the upstream to see the close');
  await ioTurns();
  assert.equal(r.chunks.length, 1);
  assert.ok(!r.events.some((e) => e.startsWith('AFTER-LAST')));
  const next = await send(pool, req('GET')).done();
  assert.equal(next.status, 200);
  assert.equal(up.connections(), 2);
});

test('abort() in onRequestStart fails the request with that reason and sends nothing', async (t) => {
  let received = 0;
  const up = await raw(t, (socket) => socket.on('data', (c: Buffer) => (received += c.length)));
  const pool = makePool(t, up.port);
  const reason = new Error('client left while connecting');
  const r = await send(pool, req('GET'), { onRequestStart: (c) => c.abort(reason) }).done();
  assert.equal(r.error, reason);
  assert.deepEqual(r.events, ['requestStart', 'error client left while connecting']);
  await ioTurns();
  assert.equal(received, 0);
});

test('abort() after the end is a no-op', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  const r = await send(pool, req('GET')).done();
  r.controller!.abort(new Error('too late'));
  r.controller!.pause();
  r.controller!.resume();
  assert.equal(r.events.at(-1), 'end');
  assert.equal(pool.stats.idle, 1);
  await send(pool, req('GET')).done();
  assert.equal(up.connections(), 1);
});

// ------------------------------------------------------------------ unsolicited bytes and idle timeout

test('bytes the upstream sends after a complete response (a later packet) stop that connection being reused', async (t) => {
  const up = await raw(t, (socket) =>
    eachRequest(socket, () => {
      socket.write(ok('hi'));
      setTimeout(() => socket.writable && socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nspoof'), 20);
    }),
  );
  const pool = makePool(t, up.port);
  await send(pool, req('GET')).done();
  await until(() => pool.stats.connections === 0, 1000, 'the out-of-step connection to be closed');
  const r = await send(pool, req('GET')).done();
  assert.equal(r.body, 'hi');
  assert.equal(up.connections(), 2);
});

test('bytes after a complete response in the same packet stop that connection being reused', async (t) => {
  const up = await keepAliveUpstream(t, () => ok('hi') + 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nspoof');
  const pool = makePool(t, up.port);
  const a = await send(pool, req('GET')).done();
  assert.equal(a.body, 'hi');
  assert.equal(a.events.at(-1), 'end');
  assert.equal(pool.stats.idle, 0);
  const b = await send(pool, req('GET')).done();
  assert.equal(b.body, 'hi');
  assert.equal(up.connections(), 2);
});

test("an upstream's Keep-Alive: timeout=1 hint gets the idle connection closed within ~1 s; without a hint it stays", async (t) => {
  const hinted = await keepAliveUpstream(t, () => ok('hi', 'keep-alive: timeout=1\r\n'));
  const plain = await keepAliveUpstream(t);
  const hintedPool = makePool(t, hinted.port);
  const plainPool = makePool(t, plain.port);
  await Promise.all([send(hintedPool, req('GET')).done(), send(plainPool, req('GET')).done()]);
  assert.equal(hintedPool.stats.idle, 1);
  // The sweep runs once a second (SWEEP_MS): driven here instead of waited for.
  idleSweep.run();
  assert.equal(hintedPool.stats.idle, 0, 'closed at the first sweep after a second');
  await until(() => hintedPool.stats.connections === 0, 1000, 'the hinted connection to be closed');
  assert.deepEqual(plainPool.stats, { running: 0, pending: 0, connections: 1, idle: 1 });
});

test('keepAliveMs bounds how long an idle connection is kept', async (t) => {
  const up = await keepAliveUpstream(t);
  // The sweep (once a second) is driven here; the real timer may add one tick: the checks hold either way.
  const pool = makePool(t, up.port, { keepAliveMs: 4000 });
  await send(pool, req('GET')).done();
  idleSweep.run();
  idleSweep.run();
  assert.equal(pool.stats.idle, 1, 'kept for 2-3 s');
  idleSweep.run();
  idleSweep.run();
  assert.equal(pool.stats.idle, 0, 'closed after 4 s');
  await until(() => pool.stats.connections === 0, 1000, 'the idle connection to be closed');
});

// ------------------------------------------------------------------ close and destroy

test('close() waits for a running request to finish, then closes its connection', async (t) => {
  const upstream: { answer: (() => void) | null } = { answer: null };
  const up = await raw(t, (socket) => eachRequest(socket, () => (upstream.answer = () => socket.write(ok('late')))));
  const pool = makePool(t, up.port);
  const r = send(pool, req('GET'));
  await until(() => upstream.answer !== null, 1000, 'the request to arrive');
  let closed = false;
  const closing = pool.close().then(() => (closed = true));
  await ioTurns();
  assert.equal(closed, false);
  assert.ok(!r.events.some((e) => e.startsWith('error')));
  upstream.answer!();
  await r.done();
  assert.equal(r.body, 'late');
  await closing;
  await until(() => pool.stats.connections === 0, 1000, 'the connection to be closed');
});

test('close() with nothing running resolves at once and closes idle connections', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  await send(pool, req('GET')).done();
  await pool.close();
  await until(() => pool.stats.connections === 0, 1000, 'the idle connection to be closed');
});

test('dispatch after close() fails with UPSTREAM_POOL_CLOSED on a later tick, never inside dispatch()', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  await pool.close();
  const r = send(pool, req('GET'));
  assert.deepEqual(r.events, []);
  await r.done();
  assert.equal(r.error?.code, 'UPSTREAM_POOL_CLOSED');
  assert.deepEqual(r.events, [`error UPSTREAM_POOL_CLOSED`]);
  assert.equal(up.connections(), 0);
});

test('destroy() fails running requests with UPSTREAM_POOL_CLOSED', async (t) => {
  const up = await raw(t, (socket) => eachRequest(socket, () => undefined));
  const pool = makePool(t, up.port);
  const a = send(pool, req('GET', '/a'));
  const b = send(pool, req('GET', '/b'));
  await until(() => pool.stats.running === 2, 1000, 'both requests to run');
  await pool.destroy();
  await Promise.all([a.done(), b.done()]);
  assert.equal(a.error?.code, 'UPSTREAM_POOL_CLOSED');
  assert.equal(b.error?.code, 'UPSTREAM_POOL_CLOSED');
  assert.deepEqual(pool.stats, { running: 0, pending: 0, connections: pool.stats.connections, idle: 0 });
  await until(() => pool.stats.connections === 0, 1000, 'the connections to be closed');
});

test('destroy() while a request waits for its connection fails it at once', async (t) => {
  const silent = await raw(t, () => undefined);
  const pool = makePool(t, silent.port, { tls: { servername: null, rejectUnauthorized: false, ca: null }, connectTimeoutMs: 1500 });
  const r = send(pool, req('GET'));
  await ioTurns();
  assert.equal(pool.stats.pending, 1);
  await pool.destroy();
  await r.done(500);
  assert.equal(r.error?.code, 'UPSTREAM_POOL_CLOSED');
});

// ------------------------------------------------------------------ TLS

async function tlsUpstream(t: TestContext): Promise<{ port: number; cert: string; connections: () => number; sessionsReused: () => number }> {
  const pair = await defaultCertificate(); // self-signed CN=localhost, SAN localhost / 127.0.0.1
  const up = await startUpstream(undefined, pair);
  let reused = 0;
  up.server.on('secureConnection', (s: TLSSocket) => {
    if (s.isSessionReused()) reused++;
  });
  t.after(() => up.close());
  return { port: up.port, cert: pair.cert, connections: up.connections, sessionsReused: () => reused };
}

test('TLS upstream without verification (rejectUnauthorized false) answers, and the connection is reused', async (t) => {
  const up = await tlsUpstream(t);
  const pool = makePool(t, up.port, { tls: { servername: null, rejectUnauthorized: false, ca: null } });
  const a = await send(pool, req('GET', '/tls')).done();
  assert.equal(a.error, null);
  assert.equal(a.status, 200);
  assert.equal(JSON.parse(a.body).url, '/tls');
  await send(pool, req('GET')).done();
  assert.equal(up.connections(), 1);
});

test('TLS with verification refuses an untrusted self-signed certificate', async (t) => {
  const up = await tlsUpstream(t);
  const pool = makePool(t, up.port, { tls: { servername: 'localhost', rejectUnauthorized: true, ca: null } });
  const r = await send(pool, req('GET')).done();
  assert.ok(r.error !== null);
  assert.match(r.error.code ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  assert.deepEqual(r.events, [`error ${r.error.code}`], 'nothing was sent');
  assert.equal(pool.stats.connections, 0);
});

test('TLS with verification trusts the certificate given as ca when the server name matches', async (t) => {
  const up = await tlsUpstream(t);
  const pool = makePool(t, up.port, { tls: { servername: 'localhost', rejectUnauthorized: true, ca: [up.cert] } });
  const r = await send(pool, req('GET', '/verified')).done();
  assert.equal(r.error, null);
  assert.equal(JSON.parse(r.body).url, '/verified');
});

test('TLS with verification refuses a trusted certificate issued for another name', async (t) => {
  const up = await tlsUpstream(t);
  const pool = makePool(t, up.port, { tls: { servername: 'other.example', rejectUnauthorized: true, ca: [up.cert] } });
  const r = await send(pool, req('GET')).done();
  assert.equal(r.error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('a new TLS connection resumes the session of an earlier one', async (t) => {
  const up = await tlsUpstream(t);
  const pool = makePool(t, up.port, { tls: { servername: 'localhost', rejectUnauthorized: true, ca: [up.cert] } });
  await send(pool, req('GET')).done();
  assert.ok(pool.tlsSession !== null, 'a session was kept');
  // Two at once: one reuses the idle connection, the other opens a new one offering the session.
  const both = await Promise.all([send(pool, req('GET')).done(), send(pool, req('GET')).done()]);
  assert.ok(both.every((r) => r.status === 200));
  assert.equal(up.connections(), 2);
  assert.equal(up.sessionsReused(), 1);
});

// Issue 9: the client owns framing. A caller's Content-Length or
// Transfer-Encoding (a plugin's, say) on a pooled connection would split or
// merge requests, and the next client's request would run as part of this one.
test('framing and connection fields given by the caller are never written: the client states the body it sends', async (t) => {
  const up = await keepAliveUpstream(t);
  const pool = makePool(t, up.port);
  const given = { 'content-length': '5, 5', 'transfer-encoding': 'chunked', connection: 'close', upgrade: 'h2c', 'keep-alive': 'timeout=1', te: 'trailers', trailer: 'x', 'proxy-connection': 'close' };
  await send(pool, req('POST', '/a', given, Buffer.from('hi'))).done();
  await send(pool, req('GET', '/b', given)).done();
  await send(pool, req('PUT', '/c', given, Readable.from([Buffer.from('abc')]))).done();
  assert.equal(up.seen[0]![0], 'POST /a HTTP/1.1\r\nhost: upstream.test\r\ncontent-length: 2\r\n\r\nhi');
  assert.equal(up.seen[0]![1], 'GET /b HTTP/1.1\r\nhost: upstream.test\r\n\r\n');
  assert.equal(up.seen[0]![2], 'PUT /c HTTP/1.1\r\nhost: upstream.test\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  assert.equal(up.connections(), 1, 'one connection carried all three, in step');
});

test('an upgrade request refused by the upstream is an ordinary response, and its connection is never reused', async (t) => {
  const heads: string[] = [];
  const up = await raw(t, (socket) =>
    eachRequest(socket, (head) => {
      heads.push(head);
      socket.write('HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\nno');
    }),
  );
  const pool = makePool(t, up.port);
  const r = await send(pool, { ...req('GET', '/ws'), upgrade: 'websocket' }).done();
  assert.equal(r.status, 400);
  assert.equal(r.body, 'no');
  assert.equal(r.upgraded, null);
  assert.match(heads[0]!, /\r\nconnection: keep-alive, Upgrade\r\nupgrade: websocket\r\n\r\n$/);
  await send(pool, req('GET', '/next')).done();
  assert.equal(up.connections(), 2, 'the refused upgrade\'s connection was not reused');
});

test('a 101 hands the socket to the handler with the new protocol\'s bytes already read', async (t) => {
  const up = await raw(t, (socket) =>
    eachRequest(socket, () => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nfirst');
      socket.on('data', (d: Buffer) => socket.write('echo:' + d.toString()));
    }),
  );
  const pool = makePool(t, up.port);
  const r = await send(pool, { ...req('GET', '/ws'), upgrade: 'websocket' }).done();
  assert.equal(r.status, 101);
  assert.equal(r.headers['upgrade'], 'websocket');
  const { socket, head } = r.upgraded!;
  t.after(() => socket.destroy());
  assert.equal(head.toString(), 'first');
  const echoed = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
  socket.resume();
  socket.write('ping');
  assert.equal(await echoed, 'echo:ping');
  assert.equal(pool.stats.connections, 0, 'the socket left the pool');
});

test('a 101 to a request that did not ask to upgrade is an invalid response', async (t) => {
  const up = await raw(t, (socket) => eachRequest(socket, () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n')));
  const pool = makePool(t, up.port);
  const r = await send(pool, req('GET', '/')).done();
  assert.equal(r.error?.code, 'UPSTREAM_BAD_RESPONSE');
});
