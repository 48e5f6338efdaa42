/** Hop-by-hop header rules (RFC 9110 §7.6.1) and Kong's Host header for upstreams. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyRequestHeaders, hostHeaderFor, stripResponseHopByHop } from '../../../../src/core/proxy/headers.ts';

test('client headers lose hop-by-hop fields, those Connection names, and gateway-owned fields', () => {
  const out = copyRequestHeaders({
    connection: 'keep-alive, X-Foo',
    'x-foo': '1',
    'keep-alive': 'timeout=1',
    'transfer-encoding': 'chunked',
    te: 'trailers',
    upgrade: 'h2c',
    'proxy-authorization': 'x',
    host: 'a',
    'x-real-ip': '1.1.1.1',
    'x-kong-request-id': 'forged',
    accept: 'text/plain',
  });
  assert.deepEqual(out, { accept: 'text/plain' });
});

test('response hop-by-hop fields are dropped; Upgrade survives only a 101', () => {
  const h: Record<string, string | string[] | undefined> = { connection: 'close, x-bar', 'x-bar': '1', 'keep-alive': 'x', upgrade: 'websocket', 'content-type': 'a' };
  stripResponseHopByHop(h, false);
  assert.deepEqual(h, { 'content-type': 'a' });
  const s: Record<string, string | string[] | undefined> = { connection: 'Upgrade', upgrade: 'websocket' };
  stripResponseHopByHop(s, true);
  assert.deepEqual(s, { connection: 'Upgrade', upgrade: 'websocket' });
});

test('the upstream Host carries the port unless it is the scheme default', () => {
  assert.equal(hostHeaderFor('a.example', 80, false), 'a.example');
  assert.equal(hostHeaderFor('a.example', 443, true), 'a.example');
  assert.equal(hostHeaderFor('a.example', 443, false), 'a.example:443');
  assert.equal(hostHeaderFor('a.example', 8080, false), 'a.example:8080');
});
