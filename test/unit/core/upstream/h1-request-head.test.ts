/**
 * The upstream client's request head (src/core/upstream/h1-request-head.ts):
 * the request line and header block as written to the upstream, the body
 * framing stated from the body actually sent (never the caller's framing
 * fields), what makes a request unsendable, and which requests may be sent
 * again after a failure (RFC 9112 §9.3.1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { replayable, requestHead, streamLength } from '../../../../src/core/upstream/h1-request-head.ts';
import type { UpstreamRequest } from '../../../../src/core/upstream/types.ts';

function req(over: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return { method: 'GET', path: '/a?b=1', headers: { host: 'up.test' }, body: null, bodyLength: -1, upgrade: null, ...over };
}

function head(over: Partial<UpstreamRequest> = {}): string {
  const h = requestHead(req(over));
  assert.equal(typeof h, 'string', `expected a head, got ${String(h)}`);
  return h as string;
}

function refusal(over: Partial<UpstreamRequest>): Error {
  const h = requestHead(req(over));
  assert.ok(h instanceof Error, 'expected the request to be refused');
  return h;
}

test('a bodyless GET: request line, the fields in order, repeats as separate lines, no framing field', () => {
  assert.equal(
    head({ headers: { host: 'up.test', accept: 'text/html', 'x-multi': ['1', '2'] } }),
    'GET /a?b=1 HTTP/1.1\r\nhost: up.test\r\naccept: text/html\r\nx-multi: 1\r\nx-multi: 2\r\n\r\n',
  );
});

test('framing and connection fields the caller set are dropped; the head states the body actually sent', () => {
  const headers = {
    host: 'up.test',
    'content-length': '999',
    'transfer-encoding': 'chunked',
    connection: 'close',
    'keep-alive': 'timeout=5',
    upgrade: 'h2c',
    te: 'trailers',
    trailer: 'x',
    'proxy-connection': 'keep-alive',
  };
  assert.equal(head({ method: 'POST', headers, body: Buffer.from('hello') }), 'POST /a?b=1 HTTP/1.1\r\nhost: up.test\r\ncontent-length: 5\r\n\r\n');
});

test('Content-Length: 0 for POST, PUT and PATCH without a body, and nothing for other methods', () => {
  for (const method of ['POST', 'PUT', 'PATCH']) {
    assert.match(head({ method }), /\r\ncontent-length: 0\r\n\r\n$/, method);
    assert.match(head({ method, body: Buffer.alloc(0) }), /\r\ncontent-length: 0\r\n\r\n$/, `${method} with an empty Buffer`);
  }
  for (const method of ['GET', 'DELETE', 'OPTIONS']) {
    assert.doesNotMatch(head({ method }), /content-length/i, method);
    assert.doesNotMatch(head({ method, body: Buffer.alloc(0) }), /content-length/i, `${method} with an empty Buffer`);
  }
});

test('a stream body: its declared length, or chunked when the length is not a whole number of bytes', () => {
  const body = new PassThrough();
  assert.match(head({ method: 'PUT', body, bodyLength: 12 }), /\r\ncontent-length: 12\r\n\r\n$/);
  for (const bodyLength of [-1, 1.5, Number.NaN, 2 ** 60]) {
    const h = head({ method: 'PUT', body, bodyLength });
    assert.match(h, /\r\ntransfer-encoding: chunked\r\n\r\n$/, String(bodyLength));
    assert.doesNotMatch(h, /content-length/i);
  }
  assert.equal(streamLength(req({ body, bodyLength: 0 })), 0);
  assert.equal(streamLength(req({ body, bodyLength: -1 })), -1);
  assert.equal(streamLength(req({ body, bodyLength: 1.5 })), -1);
});

test('an upgrade dispatch asks for the protocol with Connection: keep-alive, Upgrade', () => {
  assert.equal(head({ upgrade: 'websocket' }), 'GET /a?b=1 HTTP/1.1\r\nhost: up.test\r\nconnection: keep-alive, Upgrade\r\nupgrade: websocket\r\n\r\n');
});

test('an invalid method, target, header name, header value or upgrade protocol makes the request unsendable', () => {
  const cases: Array<[string, Partial<UpstreamRequest>]> = [
    ['method with a space', { method: 'GE T' }],
    ['empty method', { method: '' }],
    ['empty target', { path: '' }],
    ['space in the target', { path: '/a b' }],
    ['CR in the target', { path: '/a\r\nx: y' }],
    ['character beyond latin1 in the target', { path: '/\u0100' }],
    ['header name with a colon', { headers: { 'x:y': '1' } }],
    ['header value with LF', { headers: { 'x-a': 'one\ntwo' } }],
    ['upgrade with CR', { upgrade: 'websocket\r\nx: y' }],
  ];
  for (const [name, over] of cases) {
    const err = refusal(over) as Error & { code?: string };
    assert.equal(err.code, 'UPSTREAM_INVALID_REQUEST', name);
    assert.match(err.message, /^invalid /, name);
  }
});

test('replayable: idempotent methods with no body or a Buffer body; never a stream or a POST', () => {
  assert.equal(replayable(req({ method: 'GET' })), true);
  assert.equal(replayable(req({ method: 'PUT', body: Buffer.from('x') })), true);
  assert.equal(replayable(req({ method: 'DELETE' })), true);
  assert.equal(replayable(req({ method: 'PUT', body: new PassThrough(), bodyLength: 1 })), false);
  assert.equal(replayable(req({ method: 'POST' })), false);
  assert.equal(replayable(req({ method: 'PATCH', body: Buffer.from('x') })), false);
});
