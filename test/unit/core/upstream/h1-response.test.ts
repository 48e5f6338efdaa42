/**
 * The upstream HTTP/1.1 response parser (src/core/upstream/h1-response.ts),
 * fed bytes directly: framing (Content-Length, chunked, close-delimited, no
 * body), however the bytes are split across reads, connection reuse
 * decisions, and the malformed answers it must refuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseParser, type ResponseSink } from '../../../../src/core/upstream/h1-response.ts';
import { type HeaderValues } from '../../../../src/core/upstream/types.ts';

const MAX_HEAD = 16 * 1024;

/** Records what the parser reports; can stop the parse after the head or after each body chunk. */
class Sink implements ResponseSink {
  readonly heads: Array<{ status: number; headers: HeaderValues; reason: string }> = [];
  readonly chunks: Buffer[] = [];
  completed = 0;
  stopOnHead = false;
  stopOnBody = false;

  onHead(status: number, headers: HeaderValues, reason: string): boolean {
    this.heads.push({ status, headers, reason });
    return !this.stopOnHead;
  }
  onBody(chunk: Buffer): boolean {
    assert.equal(this.completed, 0, 'body bytes after completion');
    this.chunks.push(Buffer.from(chunk)); // chunks are views into the caller's buffer: copy
    return !this.stopOnBody;
  }
  onComplete(): void {
    this.completed++;
  }
  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

/** Feed `bytes` in reads of the given sizes (the rest in one last read); every read must be consumed whole. */
function feed(parser: ResponseParser, bytes: Buffer, sizes: number[], sink: Sink): void {
  let at = 0;
  for (const size of [...sizes, bytes.length]) {
    if (at >= bytes.length) break;
    const read = bytes.subarray(at, Math.min(bytes.length, at + size));
    const stop = parser.execute(read, 0, sink);
    assert.equal(stop, read.length, `read at offset ${at} not consumed`);
    at += read.length;
  }
}

function parse(text: string, opts: { head?: boolean; maxHead?: number; sizes?: number[] } = {}): { parser: ResponseParser; sink: Sink } {
  const parser = new ResponseParser(opts.maxHead ?? MAX_HEAD);
  parser.reset(opts.head ?? false);
  const sink = new Sink();
  feed(parser, Buffer.from(text, 'latin1'), opts.sizes ?? [], sink);
  return { parser, sink };
}

/** Every two-read split of `text`, plus one byte per read; `check` runs on each outcome. */
function everySplit(text: string, check: (r: { parser: ResponseParser; sink: Sink }, how: string) => void): void {
  for (let k = 0; k <= text.length; k++) check(parse(text, { sizes: [k] }), `split at ${k}`);
  check(parse(text, { sizes: Array.from({ length: text.length }, () => 1) }), 'one byte per read');
}

function assertRefused(text: string, code: string, message?: RegExp, opts: { maxHead?: number; sizes?: number[] } = {}): void {
  assert.throws(
    () => parse(text, opts),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, code, `${JSON.stringify(text)}: ${err.message}`);
      if (message !== undefined) assert.match(err.message, message);
      return true;
    },
    `${JSON.stringify(text)} was accepted`,
  );
}

const BAD = 'UPSTREAM_BAD_RESPONSE';

// ------------------------------------------------------------------ framing

test('a Content-Length body arrives whole however the reads are split, even mid-CRLF in the head', () => {
  const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world';
  everySplit(text, ({ parser, sink }, how) => {
    assert.equal(sink.heads.length, 1, how);
    assert.equal(sink.heads[0]!.status, 200, how);
    assert.equal(sink.heads[0]!.reason, 'OK', how);
    assert.deepEqual(sink.heads[0]!.headers, { 'content-type': 'text/plain', 'content-length': '11' }, how);
    assert.equal(sink.body, 'hello world', how);
    assert.equal(sink.completed, 1, how);
    assert.ok(parser.done, how);
    assert.ok(parser.keepAlive, how);
  });
});

test('a head split right between CR and LF of its last line, or of the blank line, is still found', () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
  for (const cut of [head.length - 1, head.length - 2, head.length - 3]) {
    const { sink } = parse(head + 'ok', { sizes: [cut, 1, 1, 1] });
    assert.equal(sink.body, 'ok', `cut at ${cut}`);
    assert.equal(sink.completed, 1);
  }
});

test('a chunked body with extensions and trailers is de-chunked at every split point', () => {
  const text =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '5;name=value\r\nhello\r\n' +
    '1;ext\r\n \r\n' +
    'A\r\n0123456789\r\n' +
    '0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n';
  everySplit(text, ({ parser, sink }, how) => {
    assert.equal(sink.heads.length, 1, how);
    assert.equal(sink.body, 'hello 0123456789', how);
    assert.equal(sink.completed, 1, how);
    assert.ok(parser.done, how);
    assert.ok(parser.keepAlive, how);
  });
});

test('chunk sizes in upper or lower case hex are read as hex', () => {
  const { sink } = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n' + 'a'.repeat(15) + '\r\n1F\r\n' + 'b'.repeat(31) + '\r\n0\r\n\r\n');
  assert.equal(sink.body, 'a'.repeat(15) + 'b'.repeat(31));
  assert.equal(sink.completed, 1);
});

test('a body without length or chunking runs until the upstream closes (finish) and ends the connection', () => {
  everySplit('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes', ({ parser, sink }, how) => {
    assert.equal(sink.completed, 0, how);
    assert.ok(parser.untilClose, how);
    assert.equal(parser.keepAlive, false, how);
    parser.finish(sink);
    assert.equal(sink.completed, 1, how);
    assert.equal(sink.body, 'some bytes', how);
    assert.ok(parser.done, how);
  });
});

test('finish() completes nothing but a close-delimited body', () => {
  const { parser, sink } = parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
  parser.finish(sink);
  assert.equal(sink.completed, 0);
  assert.equal(parser.done, false);
  const headOnly = parse('HTTP/1.1 200 OK\r\nContent-Le');
  headOnly.parser.finish(headOnly.sink);
  assert.equal(headOnly.sink.completed, 0);
});

test('a zero Content-Length completes right after the head', () => {
  const { parser, sink } = parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.equal(sink.completed, 1);
  assert.equal(sink.chunks.length, 0);
  assert.ok(parser.done);
  assert.ok(parser.keepAlive);
});

test('100 Continue and 103 Early Hints are skipped; only the final response is reported', () => {
  const text =
    'HTTP/1.1 100 Continue\r\n\r\n' +
    'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n' +
    'HTTP/1.1 201 Created\r\nContent-Length: 4\r\nLocation: /x\r\n\r\ndone';
  everySplit(text, ({ sink }, how) => {
    assert.equal(sink.heads.length, 1, how);
    assert.equal(sink.heads[0]!.status, 201, how);
    assert.deepEqual(sink.heads[0]!.headers, { 'content-length': '4', location: '/x' }, how);
    assert.equal(sink.body, 'done', how);
    assert.equal(sink.completed, 1, how);
  });
});

test('the answer to HEAD has no body even with a Content-Length; the next bytes are not consumed', () => {
  const parser = new ResponseParser(MAX_HEAD);
  parser.reset(true);
  const sink = new Sink();
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n';
  const buf = Buffer.from(head + 'HTTP/1.1', 'latin1');
  const stop = parser.execute(buf, 0, sink);
  assert.equal(stop, head.length);
  assert.equal(sink.completed, 1);
  assert.equal(sink.chunks.length, 0);
  assert.ok(parser.keepAlive);
});

test('a HEAD answer with Transfer-Encoding: chunked has no body either', () => {
  const { parser, sink } = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', { head: true });
  assert.equal(sink.completed, 1);
  assert.ok(parser.keepAlive);
});

test('204 and 304 have no body whatever their headers say', () => {
  for (const status of ['204 No Content', '304 Not Modified']) {
    const parser = new ResponseParser(MAX_HEAD);
    parser.reset(false);
    const sink = new Sink();
    const head = `HTTP/1.1 ${status}\r\nContent-Length: 5\r\nETag: "x"\r\n\r\n`;
    const stop = parser.execute(Buffer.from(head + 'HTTP/1.1 200 OK\r\n', 'latin1'), 0, sink);
    assert.equal(stop, head.length, status);
    assert.equal(sink.completed, 1, status);
    assert.equal(sink.chunks.length, 0, status);
    assert.ok(parser.keepAlive, status);
  }
});

test('two responses back to back on one connection: execute returns where the first ended', () => {
  const first = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none';
  const second = 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n';
  const buf = Buffer.from(first + second, 'latin1');
  const parser = new ResponseParser(MAX_HEAD);
  parser.reset(false);
  const a = new Sink();
  const stop = parser.execute(buf, 0, a);
  assert.equal(stop, first.length);
  assert.equal(a.body, 'one');
  assert.equal(a.completed, 1);
  parser.reset(false);
  const b = new Sink();
  assert.equal(parser.execute(buf, stop, b), buf.length);
  assert.equal(b.heads[0]!.status, 404);
  assert.equal(b.body, 'two');
  assert.equal(b.completed, 1);
});

// ------------------------------------------------------------------ connection reuse

// Issue 9, response splitting: an upstream that frames its body one way for
// us and another way for the client (Content-Length handed on next to
// Transfer-Encoding) could append a forged response to a client's connection.
test('Transfer-Encoding with Content-Length is refused, whatever the order and values (RFC 9112 §6.3, nginx 502)', () => {
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', BAD, /both Transfer-Encoding and Content-Length/);
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n', BAD, /both/);
});

test('a Transfer-Encoding other than exactly chunked is refused, not read until close and relayed unframed', () => {
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc', BAD, /unsupported Transfer-Encoding/);
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello', BAD);
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz', BAD, /unsupported Transfer-Encoding/);
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n', BAD, /unsupported Transfer-Encoding/);
});

test('repeated Transfer-Encoding lines are one list: "chunked" twice is refused', () => {
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n', BAD);
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', BAD);
});

test('an HTTP/1.0 response with Transfer-Encoding is faulty framing (RFC 9112 §6.1): refused, the connection is not reused', () => {
  assertRefused('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', BAD, /HTTP\/1\.0/);
});

test('the Content-Length handed on is the one the body is framed by ("05" becomes 5); a chunked body hands on none; lists are refused', () => {
  const a = parse('HTTP/1.1 200 OK\r\nContent-Length: 05\r\n\r\nhello');
  assert.equal(a.sink.heads[0]!.headers['content-length'], '5');
  assert.equal(a.sink.body, 'hello');
  const b = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  assert.equal(b.sink.heads[0]!.headers['content-length'], undefined);
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello', BAD);
  // Agreeing lists and repeats too: llhttp refuses them and nginx ≥ 1.23 answers 502.
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello', BAD);
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello', BAD);
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello', BAD);
});

test('chunk extensions must be well-formed (RFC 9112 §7.1.1); trailers must be field lines', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  assert.equal(parse(head + '3;name=value;q="a \\"b\\""\r\nabc\r\n0\r\n\r\n').sink.body, 'abc');
  assertRefused(head + '3;a= b\r\nabc\r\n0\r\n\r\n', BAD, /chunk extension/);
  assertRefused(head + '3; a\r\nabc\r\n0\r\n\r\n', BAD, /chunk extension/);
  assertRefused(head + '3;\r\nabc\r\n0\r\n\r\n', BAD, /chunk extension/);
  assertRefused(head + '3;a=b c\r\nabc\r\n0\r\n\r\n', BAD, /chunk extension/);
  assertRefused(head + '3 x\r\nabc\r\n0\r\n\r\n', BAD, /chunk size/);
  assert.equal(parse(head + '3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n').sink.completed, 1);
  assertRefused(head + '3\r\nabc\r\n0\r\nnot a field\r\n\r\n', BAD, /trailer/);
});

test('101 is an answer only to an upgrade request; then the parse stops at the end of its head', () => {
  assertRefused('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', BAD, /101/);
  const parser = new ResponseParser(16 * 1024);
  parser.reset(false, true);
  const sink = new Sink();
  const bytes = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello', 'latin1');
  const at = parser.execute(bytes, 0, sink);
  assert.ok(parser.upgraded);
  assert.equal(bytes.subarray(at).toString('latin1'), '\x81\x05hello');
  assert.equal(parser.keepAlive, false);
});

test('HTTP/1.0 without keep-alive ends the connection; with Connection: keep-alive it persists', () => {
  assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').parser.keepAlive, false);
  assert.equal(parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').parser.keepAlive, true);
});

test('Connection: close ends the connection, also inside a token list and in any case', () => {
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').parser.keepAlive, false);
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: x-foo, Close\r\nContent-Length: 0\r\n\r\n').parser.keepAlive, false);
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: x-closed\r\nContent-Length: 0\r\n\r\n').parser.keepAlive, true);
});

test("the upstream's Keep-Alive timeout hint is read (seconds), and reset for the next response", () => {
  const { parser } = parse('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=1000\r\nContent-Length: 0\r\n\r\n');
  assert.equal(parser.keepAliveHint, 5);
  assert.equal(parse('HTTP/1.1 200 OK\r\nKeep-Alive: max=10, Timeout = 7\r\nContent-Length: 0\r\n\r\n').parser.keepAliveHint, 7);
  assert.equal(parse('HTTP/1.1 200 OK\r\nKeep-Alive: max=10\r\nContent-Length: 0\r\n\r\n').parser.keepAliveHint, 0);
  parser.reset(false);
  assert.equal(parser.keepAliveHint, 0);
  assert.equal(parser.keepAlive, true);
});

// ------------------------------------------------------------------ header fields

test('header names are lower-cased, values trimmed of spaces and tabs, repeats become arrays (set-cookie)', () => {
  const { sink } = parse(
    'HTTP/1.1 200 OK\r\n' +
      'Set-Cookie: a=1; Path=/\r\n' +
      'X-Tab:\t spaced \t\r\n' +
      'set-cookie: b=2\r\n' +
      'SET-COOKIE: c=3\r\n' +
      'X-Empty:\r\n' +
      'X-Dup: 1\r\nX-Dup: 2\r\n' +
      'Content-Length: 0\r\n\r\n',
  );
  assert.deepEqual(sink.heads[0]!.headers, {
    'set-cookie': ['a=1; Path=/', 'b=2', 'c=3'],
    'x-tab': 'spaced',
    'x-empty': '',
    'x-dup': ['1', '2'],
    'content-length': '0',
  });
});

test('the reason phrase may be empty or absent', () => {
  assert.equal(parse('HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n').sink.heads[0]!.reason, '');
  const bare = parse('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').sink.heads[0]!;
  assert.equal(bare.status, 200);
  assert.equal(bare.reason, '');
  assert.equal(parse('HTTP/1.1 599 Very Custom Reason\r\nContent-Length: 0\r\n\r\n').sink.heads[0]!.reason, 'Very Custom Reason');
});

// ------------------------------------------------------------------ the sink stops the parse

test('the sink stopping after the head makes execute return the offset after the head; parsing resumes from there', () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n';
  const buf = Buffer.from(head + 'abcdef', 'latin1');
  const parser = new ResponseParser(MAX_HEAD);
  parser.reset(false);
  const sink = new Sink();
  sink.stopOnHead = true;
  const stop = parser.execute(buf, 0, sink);
  assert.equal(stop, head.length);
  assert.equal(sink.chunks.length, 0);
  sink.stopOnHead = false;
  assert.equal(parser.execute(buf, stop, sink), buf.length);
  assert.equal(sink.body, 'abcdef');
  assert.equal(sink.completed, 1);
});

test('the sink stopping on a body chunk makes execute return the offset after that chunk', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  const body = '3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
  const buf = Buffer.from(head + body, 'latin1');
  const parser = new ResponseParser(MAX_HEAD);
  parser.reset(false);
  const sink = new Sink();
  sink.stopOnBody = true;
  let at = parser.execute(buf, 0, sink);
  assert.equal(at, head.length + '3\r\nabc'.length);
  assert.equal(sink.body, 'abc');
  at = parser.execute(buf, at, sink);
  assert.equal(at, head.length + '3\r\nabc\r\n2\r\nde'.length);
  assert.equal(sink.body, 'abcde');
  assert.equal(sink.completed, 0);
  assert.equal(parser.execute(buf, at, sink), buf.length);
  assert.equal(sink.completed, 1);
});

test('stopping on the last Content-Length byte leaves the completion to the next execute, even with no bytes', () => {
  const text = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  const parser = new ResponseParser(MAX_HEAD);
  parser.reset(false);
  const sink = new Sink();
  sink.stopOnBody = true;
  assert.equal(parser.execute(Buffer.from(text, 'latin1'), 0, sink), text.length);
  assert.equal(sink.completed, 0);
  assert.ok(parser.done);
  assert.equal(parser.execute(Buffer.alloc(0), 0, sink), 0);
  assert.equal(sink.completed, 1);
});

// ------------------------------------------------------------------ refused answers

test('conflicting Content-Length values are refused (as two lines or as a list)', () => {
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', BAD, /repeated Content-Length/);
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd', BAD, /Content-Length/);
});

test('a Content-Length that is not a plain decimal number is refused', () => {
  for (const v of ['abc', '-1', '+5', '0x10', '1.5', '', '5 5', '1234567890123456']) {
    assertRefused(`HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\n`, BAD, /Content-Length/);
  }
});

test('an obs-fold (continuation) header line is refused', () => {
  assertRefused('HTTP/1.1 200 OK\r\nX-Long: part one\r\n  part two\r\nContent-Length: 0\r\n\r\n', BAD);
  assertRefused('HTTP/1.1 200 OK\r\nX-Long: part one\r\n\tpart: two\r\nContent-Length: 0\r\n\r\n', BAD);
});

test('whitespace between a header name and its colon is refused', () => {
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello', BAD, /header line/);
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding\t: chunked\r\n\r\n', BAD);
});

test('header lines without a colon or with an empty or non-token name are refused', () => {
  assertRefused('HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n', BAD);
  assertRefused('HTTP/1.1 200 OK\r\n: empty-name\r\nContent-Length: 0\r\n\r\n', BAD);
  assertRefused('HTTP/1.1 200 OK\r\nX(bad): 1\r\nContent-Length: 0\r\n\r\n', BAD);
});

test('a bare LF in chunked framing is refused (chunk size line, chunk end, trailers)', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  assertRefused(head + '3\nabc\r\n0\r\n\r\n', BAD, /bare LF/);
  assertRefused(head + '3\r\nabc\n0\r\n\r\n', BAD, /bare LF/);
  assertRefused(head + '3\r\nabc\r\n0\r\n\n', BAD, /bare LF/);
  assertRefused(head + '3\r\nabc\r\n0\r\nX-T: 1\n\r\n', BAD, /bare LF/);
});

test('a malformed chunk size is refused', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (const size of ['xyz', '', ' 3', '-3', '0x3', '3g', '12345678901234']) {
    assertRefused(head + size + '\r\nabc\r\n0\r\n\r\n', BAD, /chunk size/);
  }
});

test('chunk data longer than its declared size is refused', () => {
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n', BAD, /longer than its size/);
});

test('an endless chunk-size line is refused instead of buffered', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  assertRefused(head + '1;' + 'x'.repeat(5000), BAD, /too long/);
  assertRefused(head + '1;' + 'x'.repeat(5000), BAD, /too long/, { sizes: [head.length, 100, 100, 100] });
});

test('a malformed status line is refused', () => {
  for (const line of [
    'HTTP/1.1 2000 OK',
    'HTTP/1.1 20 OK',
    'HTTP/1.1 abc OK',
    'HTTP/1.1  200 OK',
    'HTTP/1.1 099 Odd',
    'HTTP/1.1',
    'HTTP/1.1 200OK',
    'http/1.1 200 OK',
    'ICY 200 OK',
    'HTTP/1.10 200 OK',
    'garbage',
  ]) {
    assertRefused(`${line}\r\nContent-Length: 0\r\n\r\n`, BAD);
  }
});

test('HTTP versions other than 1.0 and 1.1 are refused (HTTP/2.0, HTTP/1.2, HTTP/0.9)', () => {
  assertRefused('HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', BAD);
  assertRefused('HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n', BAD, /version/);
  assertRefused('HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n', BAD);
});

test('101 Switching Protocols is refused (the client never asks to upgrade)', () => {
  assertRefused('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', BAD, /101/);
});

test('a head larger than maxHead is refused with UPSTREAM_HEADERS_OVERFLOW, in one read or many', () => {
  const big = 'HTTP/1.1 200 OK\r\nX-Big: ' + 'a'.repeat(200) + '\r\nContent-Length: 0\r\n\r\n';
  assertRefused(big, 'UPSTREAM_HEADERS_OVERFLOW', undefined, { maxHead: 128 });
  assertRefused(big, 'UPSTREAM_HEADERS_OVERFLOW', undefined, { maxHead: 128, sizes: Array.from({ length: big.length }, () => 1) });
  // A head that never ends is refused once it outgrows the limit, not buffered forever.
  assertRefused('HTTP/1.1 200 OK\r\nX-Big: ' + 'a'.repeat(10_000), 'UPSTREAM_HEADERS_OVERFLOW', undefined, { maxHead: 1024, sizes: [100, 100, 100] });
  // Just under the limit is fine.
  const { sink } = parse(big, { maxHead: 1024 });
  assert.equal(sink.completed, 1);
});

test('the head size limit does not depend on how the head is split into reads', () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: ';
  const text = head + 'p'.repeat(100 - head.length); // exactly 100 bytes before the blank line
  const whole = text + '\r\n\r\n';
  assert.equal(parse(whole, { maxHead: 100 }).sink.completed, 1, 'one read');
  assert.equal(parse(whole, { maxHead: 100, sizes: Array.from({ length: whole.length }, () => 1) }).sink.completed, 1, 'one byte per read');
});

test('CR, LF or NUL inside a header value is refused (RFC 9110 §5.5)', () => {
  assertRefused('HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 5\r\nContent-Length: 0\r\n\r\n', BAD);
  assertRefused('HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n', BAD);
  assertRefused('HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n', BAD);
});

test('a header named like an Object.prototype member ("Constructor") is an ordinary header', () => {
  const parser = new ResponseParser(1024);
  parser.reset(false);
  let headers: Record<string, unknown> | null = null;
  parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nConstructor: a\r\nContent-Length: 0\r\n\r\n', 'latin1'), 0, {
    onHead: (_s, h) => ((headers = h), true),
    onBody: () => true,
    onComplete: () => undefined,
  });
  assert.ok(headers !== null);
  assert.equal(Object.hasOwn(headers, 'constructor'), true);
  assert.equal((headers as Record<string, unknown>)['constructor'], 'a');
});
