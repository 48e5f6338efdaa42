/**
 * The fast lane's request-head reader (src/core/downstream/request-head.ts).
 * Two things are checked: which request heads the fast lane takes (only the
 * plain HTTP/1.1 request without a body; everything else must come back null
 * so that node:http answers it), and that for the heads it takes, `headers`
 * and `rawHeaders` are exactly what node:http's IncomingMessage gives for the
 * same bytes: the proxy code reads them the same way on both paths, so any
 * difference would reach the upstream or the plugins. node's values come from
 * a real node:http server on 127.0.0.1 fed the same raw bytes.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { readRequestHead, rawHeadersOf } from '../../../../src/core/downstream/request-head.ts';

// ------------------------------------------------------------------ fixtures

interface NodeView {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

type AskNode = (head: string) => Promise<NodeView | null>;

/**
 * A plain node:http server that keeps what IncomingMessage made of each head.
 * `ask(head)` sends `head` + CRLFCRLF (latin1 bytes) on a new connection and
 * resolves with node's view, or null when node refused the request.
 */
async function nodeReader(t: TestContext): Promise<AskNode> {
  let seen: NodeView | null = null;
  const server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders };
    res.writeHead(204, { connection: 'close' });
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  return async (head) => {
    seen = null;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.write(Buffer.from(head + '\r\n\r\n', 'latin1'));
    socket.setTimeout(1000, () => socket.destroy()); // node answers and closes; a head it still waits on is cut
    await once(socket, 'close');
    socket.destroy();
    const answer = Buffer.concat(chunks).toString('latin1');
    if (answer.startsWith('HTTP/1.1 204 ')) {
      assert.ok(seen !== null, 'node answered 204 without calling the handler');
      return seen;
    }
    return null;
  };
}

/** A head with a request line and the given field lines. */
function head(requestLine: string, ...fields: string[]): string {
  return [requestLine, ...fields].join('\r\n');
}

const GET = 'GET / HTTP/1.1';
const HOST = 'Host: example.test';

// ------------------------------------------------------------------ what the fast lane takes

test('a plain GET is taken: method, target, lower-case header names, no close', () => {
  const h = readRequestHead(head('GET /a/b?c=1&d=%20 HTTP/1.1', 'Host: example.test:8080', 'Accept: */*', 'X-Request-ID: abc'));
  assert.ok(h !== null);
  assert.equal(h.method, 'GET');
  assert.equal(h.url, '/a/b?c=1&d=%20');
  assert.deepEqual(h.headers, { host: 'example.test:8080', accept: '*/*', 'x-request-id': 'abc' });
  assert.equal(h.close, false);
  assert.equal(h.fieldText, 'Host: example.test:8080\r\nAccept: */*\r\nX-Request-ID: abc');
});

test('the common methods are taken; lower-case, unknown, CONNECT and TRACE requests go to node', () => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const h = readRequestHead(head(`${method} /x HTTP/1.1`, HOST));
    assert.equal(h?.method, method, method);
  }
  for (const method of ['get', 'Get', 'CONNECT', 'TRACE', 'PROPFIND', 'PURGE', 'MKCOL', 'GETX', 'XGET', '']) {
    assert.equal(readRequestHead(head(`${method} /x HTTP/1.1`, HOST)), null, JSON.stringify(method));
  }
});

test('only HTTP/1.1 is taken: HTTP/1.0, HTTP/2.0, other spellings and a missing version go to node', () => {
  for (const line of [
    'GET / HTTP/1.0',
    'GET / HTTP/2.0',
    'GET / HTTP/1.10',
    'GET / HTTP/1.2',
    'GET / http/1.1',
    'GET / HTTP/1.1 ',
    'GET /  HTTP/1.1',
    'GET  / HTTP/1.1',
    'GET / HTTP/1.1x',
    'GET /',
    'GET / HTTP/1.',
    'GET',
    ' GET / HTTP/1.1',
    'GET\t/ HTTP/1.1',
  ]) {
    assert.equal(readRequestHead(head(line, HOST)), null, JSON.stringify(line));
  }
});

test('only origin-form targets of visible ASCII are taken: absolute-form, authority-form, *, spaces, controls and non-ASCII go to node', () => {
  for (const target of ['/', '/a', '/a?b=c', "/!$&'()*+,;=:@-._~%41", '/a#frag', '//double', '/?']) {
    assert.equal(readRequestHead(head(`GET ${target} HTTP/1.1`, HOST))?.url, target, target);
  }
  for (const target of ['http://example.test/', 'example.test:443', '*', 'a/b', '/a b', '/a\tb', '/a\x7fb', '/caf\xe9', '/a\x00', '?a']) {
    assert.equal(readRequestHead(head(`GET ${target} HTTP/1.1`, HOST)), null, JSON.stringify(target));
  }
});

test('exactly one Host: a request without one, or with two (any case), goes to node', () => {
  assert.equal(readRequestHead(head(GET)), null);
  assert.equal(readRequestHead(head(GET, 'Accept: */*')), null);
  assert.equal(readRequestHead(head(GET, HOST, 'Host: example.test')), null);
  assert.equal(readRequestHead(head(GET, 'host: a', 'HOST: b')), null);
  assert.equal(readRequestHead(head(GET, 'Host:'))?.headers.host, '');
});

test('a request with a body goes to node: Content-Length other than "0", or any Transfer-Encoding; Content-Length: 0 is taken', () => {
  for (const fields of [
    ['Content-Length: 5'],
    ['Content-Length: 00'],
    ['Content-Length: +0'],
    ['Content-Length: 0, 0'],
    ['Content-Length: x'],
    ['Content-Length: 0', 'Content-Length: 0'],
    ['Transfer-Encoding: chunked'],
    ['Transfer-Encoding: identity'],
    ['Transfer-Encoding: gzip, chunked'],
    ['transfer-encoding: chunked', 'Content-Length: 0'],
  ]) {
    assert.equal(readRequestHead(head('POST /x HTTP/1.1', HOST, ...fields)), null, fields.join(' | '));
  }
  const h = readRequestHead(head('POST /x HTTP/1.1', HOST, 'Content-Length: 0'));
  assert.equal(h?.headers['content-length'], '0');
  assert.equal(readRequestHead(head(GET, HOST, 'content-length:  0 '))?.headers['content-length'], '0');
});

test('Expect, Upgrade and Connection: upgrade go to node (100-continue, WebSocket, h2c)', () => {
  for (const fields of [
    ['Expect: 100-continue'],
    ['Expect: '],
    ['Upgrade: websocket', 'Connection: Upgrade'],
    ['Upgrade: h2c'],
    ['Connection: Upgrade'],
    ['Connection: keep-alive, Upgrade'],
    ['Connection: close,upgrade'],
  ]) {
    assert.equal(readRequestHead(head(GET, HOST, ...fields)), null, fields.join(' | '));
  }
});

test('malformed field lines go to node: obs-fold, space before the colon, no colon, empty or non-token names, CR, LF, NUL or DEL in a value', () => {
  for (const fields of [
    ['X-A: a', ' folded'],
    ['X-A: a', '\tfolded'],
    [' X-A: a'],
    ['X-A : a'],
    ['X-A\t: a'],
    ['X-A a'],
    [': a'],
    ['X A: a'],
    ['X-A(b): a'],
    ['X-\xe9: a'],
    ['X-A: a\rb'],
    ['X-A: a\nb'],
    ['X-A: a\x00b'],
    ['X-A: a\x7fb'],
    ['X-A: a\x01b'],
  ]) {
    assert.equal(readRequestHead(head(GET, HOST, ...fields)), null, JSON.stringify(fields));
  }
});

test('values may hold tabs, inner spaces and obs-text; surrounding spaces and tabs are not part of the value', () => {
  const h = readRequestHead(head(GET, HOST, 'X-Tab: a\tb', 'X-Space:   a  b  ', 'X-Obs: caf\xe9 \x80\xff', 'X-Edge:\t\t x \t', 'X-Empty:', 'X-Blank:   '));
  assert.ok(h !== null);
  assert.deepEqual(h.headers, {
    host: 'example.test',
    'x-tab': 'a\tb',
    'x-space': 'a  b',
    'x-obs': 'caf\xe9 \x80\xff',
    'x-edge': 'x',
    'x-empty': '',
    'x-blank': '',
  });
});

test('Connection: close in any case or position asks to close; keep-alive and other tokens do not', () => {
  const cases: Array<[string[], boolean]> = [
    [[], false],
    [['Connection: keep-alive'], false],
    [['Connection: Keep-Alive'], false],
    [['Connection: close'], true],
    [['Connection: Close'], true],
    [['Connection: CLOSE'], true],
    [['Connection: keep-alive, close'], true],
    [['Connection: close, te'], true],
    [['Connection: te ,  close  '], true],
    [['Connection: te', 'Connection: close'], true],
    [['Connection: closed'], false],
    [['Connection: x-close'], false],
    [['Connection: te'], false],
  ];
  for (const [fields, close] of cases) {
    const h = readRequestHead(head(GET, HOST, ...fields));
    assert.equal(h?.close, close, fields.join(' | '));
  }
});

// ------------------------------------------------------------------ headers and rawHeaders as node:http builds them

/** Heads the fast lane takes, with the repeats and spellings that decide how node:http builds `headers`. */
const SAME_AS_NODE: Array<[string, string]> = [
  ['plain', head('GET /p?q=1 HTTP/1.1', 'Host: example.test', 'User-Agent: curl/8.0', 'Accept: */*')],
  ['names in any case', head(GET, 'HoSt: example.test', 'X-MiXeD-CaSe: v', 'ACCEPT: text/html')],
  ['repeated set-cookie stays a list', head(GET, HOST, 'Set-Cookie: a=1', 'set-cookie: b=2', 'SET-COOKIE: c=3')],
  ['a single set-cookie is a list of one', head(GET, HOST, 'Set-Cookie: a=1')],
  ['repeated cookie joined with "; "', head(GET, HOST, 'Cookie: a=1', 'cookie: b=2; c=3', 'Cookie: d=4')],
  ['other repeats joined with ", "', head(GET, HOST, 'X-Forwarded-For: 10.0.0.1', 'Accept: text/html', 'x-forwarded-for: 10.0.0.2, 10.0.0.3', 'accept: */*', 'Via: 1.1 a', 'Via: 1.1 b')],
  ['repeated Connection and Accept-Encoding', head(GET, HOST, 'Connection: keep-alive', 'Accept-Encoding: gzip', 'Connection: te', 'accept-encoding: br')],
  ['whitespace around values', head(GET, HOST, 'X-A:   spaced   ', 'X-B:\ttabbed\t', 'X-C: in  side', 'X-D:', 'X-E:  \t ')],
  ['repeats with empty values', head(GET, HOST, 'X-A:', 'X-A: b', 'X-A:', 'Cookie:', 'Cookie: a=1')],
  ['obs-text (latin1) values', head(GET, HOST, 'X-Name: caf\xe9', 'X-Bytes: \x80\x9f\xa0\xff')],
  ['Content-Length: 0 on a POST', head('POST /form HTTP/1.1', HOST, 'Content-Length: 0', 'Content-Type: text/plain')],
  ['Connection: close', head('DELETE /item/1 HTTP/1.1', HOST, 'Connection: close')],
  ['token characters in names', head(GET, HOST, "X-!#$%&'*+-.^_`|~09az: v")],
  ['a header named like an Object.prototype member (not all lower case)', head(GET, HOST, 'toString: a', 'hasOwnProperty: b', 'valueOf: c')],
];

test('headers and rawHeaders are exactly those of node:http IncomingMessage for the same head', async (t) => {
  const ask = await nodeReader(t);
  for (const [name, text] of SAME_AS_NODE) {
    const ours = readRequestHead(text);
    assert.ok(ours !== null, `${name}: the fast lane should take this head`);
    const node = await ask(text);
    assert.ok(node !== null, `${name}: node refused the head`);
    assert.equal(ours.method, node.method, name);
    assert.equal(ours.url, node.url, name);
    assert.deepStrictEqual(ours.headers, node.headers, name);
    assert.deepStrictEqual(rawHeadersOf(ours.fieldText), node.rawHeaders, name);
  }
});

/** A GET head with `count` field lines in all, Host first. */
function manyFields(count: number): string {
  const fields = [HOST];
  for (let i = 1; i < count; i++) fields.push(`X-F${i % 50}: ${i}`);
  return head(GET, ...fields);
}

test('1000 field lines: taken, with headers and rawHeaders as node builds them', async (t) => {
  const ask = await nodeReader(t);
  const text = manyFields(1000);
  const ours = readRequestHead(text);
  const node = await ask(text);
  assert.ok(node !== null, 'node takes 1000 field lines');
  assert.ok(ours !== null, 'the fast lane takes 1000 field lines');
  assert.deepStrictEqual(ours.headers, node.headers);
  assert.deepStrictEqual(rawHeadersOf(ours.fieldText), node.rawHeaders);
});

test(
  'a head with more field lines than node:http accepts (1000) goes to node, which answers 431',
  async (t) => {
    const ask = await nodeReader(t);
    for (const count of [1001, 2000]) {
      const text = manyFields(count);
      assert.equal(await ask(text), null, `node refuses ${count} field lines`);
      assert.equal(readRequestHead(text) === null, true, `the fast lane must hand ${count} field lines to node`);
    }
  },
);

test('more than 2000 field lines always go to node', () => {
  assert.equal(readRequestHead(manyFields(2001)), null);
  assert.equal(readRequestHead(manyFields(5000)), null);
});

/** Common request fields, and those node:http keeps only once. */
const FIELD_NAMES = [
  'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'age', 'authorization', 'cache-control',
  'connection', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5',
  'content-range', 'content-type', 'cookie', 'date', 'dnt', 'etag', 'expires', 'forwarded', 'from', 'host',
  'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'link',
  'location', 'max-forwards', 'origin', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'set-cookie', 'te', 'trailer', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'x-request-id',
];

test('a field repeated: node keeps the first for some names (the head then goes to node), joins the others exactly as the fast lane does', async (t) => {
  const ask = await nodeReader(t);
  const kept: string[] = [];
  for (const name of FIELD_NAMES) {
    const value = (n: number): string => (name === 'content-length' ? '0' : `v${n}`);
    const fields = name === 'host' ? [`Host: ${value(1)}`, `host: ${value(2)}`] : [HOST, `${name}: ${value(1)}`, `${name.toUpperCase()}: ${value(2)}`];
    const text = head('POST / HTTP/1.1', ...fields);
    const node = await ask(text);
    const ours = readRequestHead(text);
    if (node === null) {
      // node refuses it (e.g. two Content-Length fields): the fast lane must hand it over.
      assert.equal(ours, null, `${name}: node refuses a repeat, the fast lane must not take it`);
      continue;
    }
    const nodeKeptFirst = node.headers[name] === value(1);
    if (nodeKeptFirst) kept.push(name);
    if (nodeKeptFirst) assert.equal(ours, null, `${name}: node keeps the first; the fast lane must hand the head over`);
    else {
      assert.ok(ours !== null, `${name}: node joins repeats; the fast lane should take the head`);
      assert.deepStrictEqual(ours.headers, node.headers, name);
    }
  }
  // The check is only meaningful if node really keeps the first of these (IncomingMessage#_addHeaderLine).
  for (const name of ['authorization', 'content-type', 'user-agent', 'referer', 'etag']) assert.ok(kept.includes(name), name);
});

test(
  'a header named "constructor" is read as node reads it (not joined onto Object.prototype.constructor)',
  async (t) => {
    const ask = await nodeReader(t);
    const text = head(GET, HOST, 'Constructor: a');
    const node = await ask(text);
    assert.ok(node !== null);
    assert.equal(node.headers.constructor, 'a');
    const ours = readRequestHead(text);
    // Either hand it to node, or give what node gives.
    if (ours !== null) assert.deepStrictEqual(ours.headers, node.headers);
  },
);

test('a header named "__proto__" does not change the headers object (as with node)', async (t) => {
  const ask = await nodeReader(t);
  const text = head(GET, HOST, '__proto__: a', 'X-After: b');
  const node = await ask(text);
  assert.ok(node !== null);
  const ours = readRequestHead(text);
  if (ours !== null) {
    assert.equal(Object.getPrototypeOf(ours.headers), Object.prototype);
    assert.deepStrictEqual(ours.headers, node.headers);
    assert.deepStrictEqual(rawHeadersOf(ours.fieldText), node.rawHeaders);
  }
});

test('rawHeadersOf gives names as sent and trimmed values, in order, repeats kept', () => {
  assert.deepEqual(rawHeadersOf(''), []);
  assert.deepEqual(rawHeadersOf('Host: a'), ['Host', 'a']);
  assert.deepEqual(rawHeadersOf('Host: a\r\nX-A:\t b \t\r\nx-a:\r\nSet-Cookie: c=1'), ['Host', 'a', 'X-A', 'b', 'x-a', '', 'Set-Cookie', 'c=1']);
});
